package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gossipdb/gossipdb/client"
)

func newP2PCmd(cc *clientConfig) *cobra.Command {
	return group("p2p", "Connect to peers and subscribe to collections",
		`  gossipdb client p2p info --url localhost:9181
  gossipdb client p2p connect /ip4/127.0.0.1/tcp/9171/p2p/12D3KooWDy7z9Y6qANCUXADpwYn7cnHoHBAL4MrAuYeWpwA9UePt --url localhost:9182
  gossipdb client p2p collection add User --url localhost:9182`,
		newP2PInfoCmd(cc),
		newP2PConnectCmd(cc),
		newP2PActivePeersCmd(cc),
		newP2PCollectionCmd(cc),
		newP2PSyncCmd(cc),
	)
}

func newP2PSyncCmd(cc *clientConfig) *cobra.Command {
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "sync NAME",
		Short: "Catch a collection up with the connected peers",
		Long: `Reconcile the subscribed collection NAME with every connected gossipdb peer now.
Without --wait it returns at once. With --wait it returns once the node holds
everything each of those peers that has the collection held when it answered, and prints
each peer's session as JSON; it fails, naming the peer, when one does not answer
within --timeout. The wait for the node's answer is bounded by --timeout plus
--request-timeout (else $` + envTimeout + `), if set.`,
		Example: `  gossipdb client p2p sync User --wait --url localhost:9182`,
		Args:    exactArgs("NAME"),
		RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
			if !wait {
				return cl.StartSync(cmd.Context(), args[0])
			}
			res, err := cl.Sync(cmd.Context(), args[0], timeout)
			if err != nil {
				return err
			}
			if err := printJSON(cmd.OutOrStdout(), res); err != nil {
				return err
			}
			if !res.Synced {
				for _, p := range res.Peers {
					if p.Error != "" {
						return fmt.Errorf("%s not synced with peer %s: %s", args[0], p.Peer, p.Error)
					}
				}
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "return once synced, printing each peer's session")
	cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "with --wait, how long to wait at most (up to 10m)")
	return cmd
}

func newP2PInfoCmd(cc *clientConfig) *cobra.Command {
	return &cobra.Command{
		Use:   "info",
		Short: "Print the node's peer addresses",
		Long: `Print the node's multiaddresses, each ending in /p2p/<peer ID>, as a JSON array.
Give one of them to another node's 'p2p connect' or 'start --peers'.`,
		Example: `  gossipdb client p2p info --url localhost:9181`,
		Args:    exactArgs(),
		RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
			addrs, err := cl.PeerInfo(cmd.Context())
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), nonNil(addrs))
		}),
	}
}

func newP2PConnectCmd(cc *clientConfig) *cobra.Command {
	return &cobra.Command{
		Use:   "connect MULTIADDR",
		Short: "Connect the node to a peer",
		Long: `Connect the node to the peer at a full multiaddress (ending in /p2p/<peer ID>, as
'p2p info' prints it). Connections are mutual: afterwards each node lists the other
in 'p2p active-peers'. Peers are not remembered across restarts; use 'start --peers'.`,
		Example: `  gossipdb client p2p connect /ip4/127.0.0.1/tcp/9171/p2p/12D3KooWDy7z9Y6qANCUXADpwYn7cnHoHBAL4MrAuYeWpwA9UePt --url localhost:9182`,
		Args:    exactArgs("MULTIADDR"),
		RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
			return cl.Connect(cmd.Context(), args[0])
		}),
	}
}

func newP2PActivePeersCmd(cc *clientConfig) *cobra.Command {
	return &cobra.Command{
		Use:     "active-peers",
		Short:   "List the peers the node is connected to",
		Long:    `Print the connected peers as a JSON array of full multiaddresses.`,
		Example: `  gossipdb client p2p active-peers --url localhost:9182`,
		Args:    exactArgs(),
		RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
			peers, err := cl.ActivePeers(cmd.Context())
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), nonNil(peers))
		}),
	}
}

func newP2PCollectionCmd(cc *clientConfig) *cobra.Command {
	return group("collection", "Subscribe to collections' updates from peers",
		`  gossipdb client p2p collection add User,Post --url localhost:9182
  gossipdb client p2p collection getall --url localhost:9182`,
		&cobra.Command{
			Use:   "add NAME[,NAME...]",
			Short: "Subscribe to updates of collections",
			Long: `Make the node receive and merge the changes any peer publishes to the named
collections (comma-separated). Subscriptions are kept across restarts. The node's
log confirms each one with "Adding pubsub topic".`,
			Example: `  gossipdb client p2p collection add User --url localhost:9182
  gossipdb client p2p collection add User,Post --url localhost:9182`,
			Args: minArgs(1, "NAME[,NAME...]"),
			RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
				names, err := splitNames(args)
				if err != nil {
					return err
				}
				return cl.Subscribe(cmd.Context(), names...)
			}),
		},
		&cobra.Command{
			Use:   "remove NAME[,NAME...]",
			Short: "Unsubscribe from updates of collections",
			Long: `Stop receiving peers' changes to the named collections (comma-separated). The node
still publishes its own changes to them.`,
			Example: `  gossipdb client p2p collection remove Post --url localhost:9182`,
			Args:    minArgs(1, "NAME[,NAME...]"),
			RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
				names, err := splitNames(args)
				if err != nil {
					return err
				}
				return cl.Unsubscribe(cmd.Context(), names...)
			}),
		},
		&cobra.Command{
			Use:     "getall",
			Short:   "List the subscribed collections",
			Long:    `Print the names of the collections the node is subscribed to, as a sorted JSON array.`,
			Example: `  gossipdb client p2p collection getall --url localhost:9182`,
			Args:    exactArgs(),
			RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
				names, err := cl.Subscriptions(cmd.Context())
				if err != nil {
					return err
				}
				return printJSON(cmd.OutOrStdout(), nonNil(names))
			}),
		},
	)
}

// nonNil makes an empty list print as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
