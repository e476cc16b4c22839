package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gossipdb/gossipdb/client"
)

func newIndexCmd(cc *clientConfig) *cobra.Command {
	return group("index", "Create, list and drop a collection's secondary indexes",
		`  gossipdb client index create --collection User --fields name
  gossipdb client index create --collection User --fields name:ASC,age:DESC --name ByNameAge
  gossipdb client index list --collection User
  gossipdb client index drop --collection User --name ByNameAge`,
		newIndexCreateCmd(cc),
		newIndexListCmd(cc),
		newIndexDropCmd(cc),
	)
}

func newIndexCreateCmd(cc *clientConfig) *cobra.Command {
	var collection, name, fields string
	cmd := &cobra.Command{
		Use:   "create --collection COLLECTION --fields FIELD[:ASC|:DESC],… [--name NAME]",
		Short: "Add an index to a collection",
		Long: `Add a secondary index on one or more fields of a collection, in order, each
ascending (the default, or :ASC) or descending (:DESC). Queries with equality,
_in and ranges on its first fields, or ordered as it is, read it instead of
every document. On a collection that holds documents the index is built in the
background: the node answers at once with "ready": false, and queries use the
index once it is ready ('index list' shows "read", the documents the build
has read so far). Indexes are local to the node: peers neither send nor need
them. Without --name the index is called after its collection and fields
(User_name_ASC). Prints the index as JSON.`,
		Example: `  gossipdb client index create --collection User --fields name
  gossipdb client index create --collection User --fields name,age:DESC --name ByNameAge --url localhost:9182`,
		Args: exactArgs(),
		RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
			req := client.CreateIndexRequest{Name: name}
			for _, f := range strings.Split(fields, ",") {
				field, dir, _ := strings.Cut(strings.TrimSpace(f), ":")
				if field == "" {
					return fmt.Errorf("--fields %q: an empty field name; want FIELD[:ASC|:DESC],…", fields)
				}
				var desc bool
				switch strings.ToUpper(dir) {
				case "", "ASC":
				case "DESC":
					desc = true
				default:
					return fmt.Errorf("--fields %q: direction %q of %s; want ASC or DESC", fields, dir, field)
				}
				req.Fields = append(req.Fields, client.IndexFieldInfo{Name: field, Descending: desc})
			}
			ix, err := cl.CreateIndex(cmd.Context(), collection, req)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), ix)
		}),
	}
	cmd.Flags().StringVarP(&collection, "collection", "c", "", "the collection (required)")
	cmd.Flags().StringVar(&fields, "fields", "", "the fields, in order, each FIELD, FIELD:ASC or FIELD:DESC (required)")
	cmd.Flags().StringVarP(&name, "name", "n", "", "the index's name (default: after the collection and fields)")
	cmd.MarkFlagRequired("collection")
	cmd.MarkFlagRequired("fields")
	return cmd
}

func newIndexListCmd(cc *clientConfig) *cobra.Command {
	var collection string
	cmd := &cobra.Command{
		Use:   "list [--collection COLLECTION]",
		Short: "List the indexes of a collection, or of every collection",
		Long: `Print the indexes of a collection as a JSON array, in the order they were
created: each one's name, fields (with "descending" where it applies), whether
queries use it yet ("ready") and, while it is built, how many documents the
build has read ("read"). The node keeps one index on each relation field
itself. Without --collection, a JSON object of every collection's indexes by
collection name.`,
		Example: `  gossipdb client index list --collection User
  gossipdb client index list --url localhost:9182`,
		Args: exactArgs(),
		RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
			if collection != "" {
				ixs, err := cl.Indexes(cmd.Context(), collection)
				if err != nil {
					return err
				}
				if ixs == nil {
					ixs = []client.IndexInfo{}
				}
				return printJSON(cmd.OutOrStdout(), ixs)
			}
			cols, err := cl.Collections(cmd.Context())
			if err != nil {
				return err
			}
			out := map[string][]client.IndexInfo{}
			for _, c := range cols {
				ixs, err := cl.Indexes(cmd.Context(), c.Name)
				if err != nil {
					return err
				}
				if ixs == nil {
					ixs = []client.IndexInfo{}
				}
				out[c.Name] = ixs
			}
			return printJSON(cmd.OutOrStdout(), out)
		}),
	}
	cmd.Flags().StringVarP(&collection, "collection", "c", "", "list only this collection's indexes")
	return cmd
}

func newIndexDropCmd(cc *clientConfig) *cobra.Command {
	var collection, name string
	cmd := &cobra.Command{
		Use:   "drop --collection COLLECTION --name NAME",
		Short: "Delete an index of a collection",
		Long: `Delete an index of a collection: queries stop using it at once. The index the
node keeps on a relation field, which queries of related documents read, is
kept (the node refuses to drop it).`,
		Example: `  gossipdb client index drop --collection User --name User_name_ASC`,
		Args:    exactArgs(),
		RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
			return cl.DropIndex(cmd.Context(), collection, name)
		}),
	}
	cmd.Flags().StringVarP(&collection, "collection", "c", "", "the collection (required)")
	cmd.Flags().StringVarP(&name, "name", "n", "", "the index (required)")
	cmd.MarkFlagRequired("collection")
	cmd.MarkFlagRequired("name")
	return cmd
}
