package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/gossipdb/gossipdb/client"
)

func newCheckCmd(cc *clientConfig) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Check the integrity of the node's store",
		Long: `Check the node's store while it runs: every table file against its checksums, every
document's state and heads, every index against the documents, the author chains and
the change feed. It reads the whole store (about 20,000 documents a second) and
blocks no write. Prints {"ok": true}, or {"ok": false, "error": "…"} with the first
problem found and exit status 1. Interrupting the command stops the check.`,
		Example: `  gossipdb client check --url localhost:9181`,
		Args:    exactArgs(),
		RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
			res, err := cl.Check(cmd.Context())
			if err != nil {
				return err
			}
			if err := printJSON(cmd.OutOrStdout(), res); err != nil {
				return err
			}
			if !res.OK {
				return errors.New("the store failed the check: " + res.Error)
			}
			return nil
		}),
	}
}
