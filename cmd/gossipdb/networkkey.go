package main

import (
	"github.com/spf13/cobra"

	"github.com/gossipdb/gossipdb"
)

func newNetworkKeyCmd() *cobra.Command {
	generate := &cobra.Command{
		Use:   "generate FILE",
		Short: "Make a new private network key file",
		Long: `Write a new random private network key to FILE, in the swarm.key format of libp2p
and IPFS, readable by its owner only (mode 0600). An existing FILE is never
replaced. Copy the file to every member of the network and start each with
'gossipdb start --network-key FILE': nodes without the same key cannot connect to
them. Anyone holding the file can join, so keep it as secret as an identity key.`,
		Example: `  gossipdb network-key generate ~/swarm.key
  gossipdb start --network-key ~/swarm.key`,
		Args: exactArgs("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := expandHome(args[0])
			if err != nil {
				return err
			}
			return gossipdb.WriteNetworkKeyFile(path, gossipdb.GenerateNetworkKey())
		},
	}
	return group("network-key", "Make private network keys (see gossipdb start --network-key)",
		"  gossipdb network-key generate ~/swarm.key", generate)
}
