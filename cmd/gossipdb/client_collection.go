package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
)

func newCollectionCmd(cc *clientConfig) *cobra.Command {
	cmd := group("collection", "Define collections and read and write their documents",
		`  gossipdb client collection add 'type User { name: String age: Int }'
  gossipdb client collection create --name User '{"name": "Ada", "age": 36}'
  gossipdb client collection docIDs --name User`,
		newCollectionAddCmd(cc),
		newCollectionPatchCmd(cc),
		newCollectionListCmd(cc),
		newCollectionCreateCmd(cc),
		newCollectionGetCmd(cc),
		newCollectionHistoryCmd(cc),
		newCollectionUpdateCmd(cc),
		newCollectionDeleteCmd(cc),
		newCollectionDocIDsCmd(cc),
		newCollectionChangesCmd(cc),
		newCollectionPolicyCmd(cc),
		newCollectionGrantCmd(cc),
		newCollectionRevokeCmd(cc),
	)
	return cmd
}

func newCollectionPolicyCmd(cc *clientConfig) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "policy --name COLLECTION",
		Short: "Print a collection's write and read policy",
		Long: `Print who may do what in a collection, as JSON: {"name": …, "open": true} for an
open collection (every peer may write and read), else the peer IDs of its
admins, writers and readers now: as its SDL's @policy declared them, changed
by the grants and revocations the node holds, which "changes" lists (see
'collection grant' and 'collection revoke').`,
		Example: `  gossipdb client collection policy --name Doc --url localhost:9181`,
		Args:    cobra.NoArgs,
		RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
			info, err := cl.Collection(cmd.Context(), name)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), policyOutput(info.Name, info.Policy))
		}),
	}
	cmd.Flags().StringVar(&name, "name", "", "the collection (required)")
	cmd.MarkFlagRequired("name")
	return cmd
}

// policyOutput is what 'collection policy', 'grant' and 'revoke' print: the
// collection's name, and "open": true for an open collection (p nil), else its
// policy's roles and changes.
func policyOutput(name string, p *client.PolicyInfo) any {
	return struct {
		Name string `json:"name"`
		Open bool   `json:"open,omitempty"`
		*client.PolicyInfo
	}{Name: name, Open: p == nil, PolicyInfo: p}
}

func newCollectionGrantCmd(cc *clientConfig) *cobra.Command {
	var name, author, role string
	cmd := &cobra.Command{
		Use:   "grant --name COLLECTION --author PEER_ID --role writer|reader",
		Short: "Give an author a role in a restricted collection",
		Long: `Give the author (a peer ID, "12D3KooW…") the writer or the reader role in a
restricted collection: a policy change signed by the node's key, which must be
one of the collection's admins (else the error says "not an admin"). The change
is stored and then sent to the collection's peers; every node that receives it
lets the author write (writer) or receive the collection's changes (reader).
Granting reader to a writer revokes its writer role (see 'collection revoke').
Admins are fixed by the collection's definition. Prints the policy after the
change, as 'collection policy' does.`,
		Example: `  gossipdb client collection grant --name Doc --author 12D3KooW… --role writer --url localhost:9181`,
		Args:    cobra.NoArgs,
		RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
			p, err := cl.Grant(cmd.Context(), name, author, role)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), policyOutput(name, p))
		}),
	}
	cmd.Flags().StringVar(&name, "name", "", "the collection (required)")
	cmd.Flags().StringVar(&author, "author", "", "the author's peer ID (required)")
	cmd.Flags().StringVar(&role, "role", "", "writer or reader (required)")
	for _, f := range []string{"name", "author", "role"} {
		cmd.MarkFlagRequired(f)
	}
	return cmd
}

func newCollectionRevokeCmd(cc *clientConfig) *cobra.Command {
	var name, author string
	cmd := &cobra.Command{
		Use:   "revoke --name COLLECTION --author PEER_ID",
		Short: "Take every role from an author in a restricted collection",
		Long: `Take every role from the author (a peer ID) in a restricted collection, as a
policy change signed by the node's key, which must be one of its admins. The
change keeps the author's blocks this node holds; once it has reached a node,
that node refuses the author's new blocks, and its blocks the change does not
keep (written after it, or concurrently and not yet here) leave the
documents' state there: they stay stored but count for nothing. Prints the
policy after the change, as 'collection policy' does.`,
		Example: `  gossipdb client collection revoke --name Doc --author 12D3KooW… --url localhost:9181`,
		Args:    cobra.NoArgs,
		RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
			p, err := cl.Revoke(cmd.Context(), name, author)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), policyOutput(name, p))
		}),
	}
	cmd.Flags().StringVar(&name, "name", "", "the collection (required)")
	cmd.Flags().StringVar(&author, "author", "", "the author's peer ID (required)")
	cmd.MarkFlagRequired("name")
	cmd.MarkFlagRequired("author")
	return cmd
}

func newCollectionAddCmd(cc *clientConfig) *cobra.Command {
	return &cobra.Command{
		Use:   "add SDL",
		Short: "Define one or more collections from GraphQL SDL",
		Long: `Define the collections of a GraphQL SDL string: one or more 'type Name { field: Type }'.
Field types are String, Int, Float, Boolean, DateTime and JSON, lists of the first
five ('[String]', '[Int!]'), and another collection (a relation, 'author: Author',
whose inverse side is 'books: [Book]'); '!' makes a field required;
'@crdt(type: pncounter)' makes an Int or Float a counter, '@crdt(type: set)' a
list such as '[String!]' an add-wins set; '@index' on a field, or
'@index(includes: [{field: "a"}, {field: "b", direction: DESC}])' on a type, makes
an index (see 'index create'); '@default(string: "x")' (or int:, float:, bool:,
dateTime:, json:) gives a field a default, which documents without it read
(defaults are not part of the schema ID: the collection reads through the
version 'collection patch' would make with the same SDL).
'type Doc @policy(admins: ["12D3KooW…"], writers: [...], readers: [...]) { … }'
makes a restricted collection: only its writers' changes are accepted and
only its members (admins, writers, readers) receive them; the policy is part
of the collection's identity (see 'collection policy').

Peers that are to sync a collection must define it with the same fields. Adding a
definition identical to an existing one changes nothing; a different one for an
existing name is refused: change a collection with 'collection patch'. Prints
the collections as JSON.`,
		Example: `  gossipdb client collection add '
  type User {
    name: String
    age: Int
    verified: Boolean
    points: Float
  }
  ' --url localhost:9181`,
		Args: exactArgs("SDL"),
		RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
			cols, err := cl.AddCollection(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), cols)
		}),
	}
}

func newCollectionPatchCmd(cc *clientConfig) *cobra.Command {
	var name, version string
	cmd := &cobra.Command{
		Use:   "patch --name COLLECTION SDL | --name COLLECTION --version ID",
		Short: "Change a collection: a new version of its type",
		Long: `Give a collection a new version: the argument is the whole new GraphQL SDL of its
type. The collection keeps its schema ID, its documents, their IDs and history,
and peers on other versions keep syncing every change. Nothing stored is rewritten.

Compatible changes only:
  add a field         email: String                  (optionally @default(string: "x"),
                                                      int:, float:, bool:, dateTime:, json:)
  drop a field        leave it out: hidden here, its data kept and passed on
  rename a field      fullName: String @rename(from: "name")
  make it optional    drop the '!'
Changing a field's type or CRDT type, making an optional field required
without a default, or dropping the default of a required field, is refused:
add a new field instead (or keep the default).

Indexes the SDL declares with @index that the collection lacks are created;
one left out is not dropped (index drop does that).

With --version instead of SDL, the node moves to a version it knows (one a peer
made: its blocks bring the definition). Prints the new version's ID, the one
before, and what changed.`,
		Example: `  gossipdb client collection patch --name User '
  type User {
    fullName: String @rename(from: "name")
    age: Int
    email: String @default(string: "unknown")
  }'
  gossipdb client collection patch --name User --version bafyrei...`,
		Args: func(cmd *cobra.Command, args []string) error {
			if version != "" {
				return exactArgs()(cmd, args)
			}
			return exactArgs("SDL")(cmd, args)
		},
		RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
			var res *client.PatchResult
			var err error
			if version != "" {
				res, err = cl.UseVersion(cmd.Context(), name, version)
			} else {
				res, err = cl.PatchCollection(cmd.Context(), name, args[0])
			}
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), res)
		}),
	}
	cmd.Flags().StringVar(&name, "name", "", "the collection to patch (required)")
	cmd.MarkFlagRequired("name")
	cmd.Flags().StringVar(&version, "version", "", "move to this known version instead of giving SDL")
	return cmd
}

func newCollectionListCmd(cc *clientConfig) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"describe"},
		Short:   "Describe the node's collections",
		Long: `Print the node's collections as a JSON array, sorted by name: each one's name,
schema ID (also its pubsub topic) and fields. With --name, only that collection.`,
		Example: `  gossipdb client collection list
  gossipdb client collection describe --name User --url localhost:9182`,
		Args: exactArgs(),
		RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
			var cols []client.CollectionInfo
			if name != "" {
				c, err := cl.Collection(cmd.Context(), name)
				if err != nil {
					return err
				}
				cols = append(cols, *c)
			} else {
				all, err := cl.Collections(cmd.Context())
				if err != nil {
					return err
				}
				cols = all
			}
			if cols == nil {
				cols = []client.CollectionInfo{}
			}
			return printJSON(cmd.OutOrStdout(), cols)
		}),
	}
	cmd.Flags().StringVar(&name, "name", "", "describe only this collection")
	return cmd
}

func newCollectionCreateCmd(cc *clientConfig) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "create --name COLLECTION JSON|FILE|-",
		Short: "Create one document, or several from a JSON array",
		Long: `Create documents in a collection from one JSON object of field values, or an
array of them (created together: all or none). DateTime values are RFC 3339
strings. Prints {"_docID": ...} for an object, an array of them for an array.

An argument that is JSON or starts with { or [ is the JSON itself; any other is
a FILE to read it from (./FILE for one named like JSON), - for stdin: the way
for JSON over the system's limit on the length of an argument (some 128 KiB).
At most 4 MiB.

The node publishes the new documents to the collection's peers.`,
		Example: `  gossipdb client collection create --name User '{"name": "Ada", "age": 36, "verified": true, "points": 1.5}'
  gossipdb client collection create --name User '[{"name": "Bob"}, {"name": "Eve"}]'
  gossipdb client collection create --name User users.json
  produce-users | gossipdb client collection create --name User -`,
		Args: exactArgs("JSON|FILE|-"),
		RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
			text, err := jsonInput(cmd.InOrStdin(), "document", args[0])
			if err != nil {
				return err
			}
			v, err := parseJSONArg("document", text)
			if err != nil {
				return err
			}
			switch v := v.(type) {
			case map[string]any:
				id, err := cl.Create(cmd.Context(), name, v)
				if err != nil {
					return err
				}
				return printJSON(cmd.OutOrStdout(), client.DocIDResult{DocID: id})
			case []any:
				docs := make([]map[string]any, len(v))
				for i, d := range v {
					m, ok := d.(map[string]any)
					if !ok {
						return fmt.Errorf("document %d of the array is not a JSON object", i)
					}
					docs[i] = m
				}
				ids, err := cl.CreateMany(cmd.Context(), name, docs)
				if err != nil {
					return err
				}
				out := make([]client.DocIDResult, len(ids))
				for i, id := range ids {
					out[i] = client.DocIDResult{DocID: id}
				}
				return printJSON(cmd.OutOrStdout(), out)
			}
			return errors.New("the document must be a JSON object or an array of JSON objects")
		}),
	}
	cmd.Flags().StringVar(&name, "name", "", "the collection (required)")
	cmd.MarkFlagRequired("name")
	return cmd
}

func newCollectionGetCmd(cc *clientConfig) *cobra.Command {
	var name, at string
	cmd := &cobra.Command{
		Use:   "get --name COLLECTION [--at BLOCK] DOCID",
		Short: "Print a document",
		Long: `Print a document as a JSON object: "_docID" and every field of the collection
(null when absent). With --at, print it as it was at one of its blocks (the
CIDs that "collection history" lists): the merge of that block and every block
it was written on.`,
		Example: `  gossipdb client collection get --name User bafyreih4bdkjwbhyvmpgmqkbpcz2m4h6pyfnd2q3bqvmh4zcsqrg2tnxlu --url localhost:9182
  gossipdb client collection get --name User --at bafyreiaziwapbmkaknml22a3bmrnrjabq6hnbkw2x4zt26zevxgjdpplqu bafyreih4bdkjwbhyvmpgmqkbpcz2m4h6pyfnd2q3bqvmh4zcsqrg2tnxlu`,
		Args: exactArgs("DOCID"),
		RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
			var doc *client.Document
			var err error
			if cmd.Flags().Changed("at") {
				doc, err = cl.GetAt(cmd.Context(), name, args[0], at)
			} else {
				doc, err = cl.Get(cmd.Context(), name, args[0])
			}
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), doc)
		}),
	}
	cmd.Flags().StringVar(&name, "name", "", "the collection (required)")
	cmd.Flags().StringVar(&at, "at", "", "print the document as it was at this block")
	cmd.MarkFlagRequired("name")
	return cmd
}

func newCollectionHistoryCmd(cc *clientConfig) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "history --name COLLECTION DOCID",
		Short: "Print a document's blocks, newest first",
		Long: `Print the blocks of a document, each one change to it, one JSON object per line,
newest first and the genesis last: "cid", "docID", "height", "prev" (the blocks
it was written on), "version" (the collection version it was written under),
"author" (the peer ID of the key that signed it), what it changes ("set":
values, null for a cleared field; "add": counter increments; "setAdd" and
"setRemove": set elements), "delete", "txn" (its transaction, if any),
"disowned" (the collection's policy cuts it off) and "size" (bytes). Deleted
documents have their history too. "collection get --at" prints the document
as it was at one of them.`,
		Example: `  gossipdb client collection history --name User bafyreih4bdkjwbhyvmpgmqkbpcz2m4h6pyfnd2q3bqvmh4zcsqrg2tnxlu`,
		Args:    exactArgs("DOCID"),
		RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetEscapeHTML(false)
			for b, err := range cl.History(cmd.Context(), name, args[0]) {
				if err != nil {
					return err
				}
				if err := enc.Encode(b); err != nil {
					return err
				}
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&name, "name", "", "the collection (required)")
	cmd.MarkFlagRequired("name")
	return cmd
}

func newCollectionUpdateCmd(cc *clientConfig) *cobra.Command {
	var name, id string
	cmd := &cobra.Command{
		Use:   "update --name COLLECTION --docID DOCID JSON|FILE|-",
		Short: "Change fields of a document",
		Long: `Set the fields given in a JSON object; null clears a field. For a counter field the
value is added to the counter. Fields not given keep their value.

An argument that is JSON or starts with { or [ is the JSON itself; any other is
a FILE to read it from (./FILE for one named like JSON), - for stdin: the way
for JSON over the system's limit on the length of an argument (some 128 KiB).
At most 4 MiB.`,
		Example: `  gossipdb client collection update --name User --docID bafyreih4bdkjwbhyvmpgmqkbpcz2m4h6pyfnd2q3bqvmh4zcsqrg2tnxlu '{"age": 37}'
  gossipdb client collection update --name User --docID bafyreih4bdkjwbhyvmpgmqkbpcz2m4h6pyfnd2q3bqvmh4zcsqrg2tnxlu changes.json`,
		Args: exactArgs("JSON|FILE|-"),
		RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
			text, err := jsonInput(cmd.InOrStdin(), "document", args[0])
			if err != nil {
				return err
			}
			v, err := parseJSONArg("document", text)
			if err != nil {
				return err
			}
			fields, ok := v.(map[string]any)
			if !ok {
				return errors.New("the update must be a JSON object of field values")
			}
			return cl.Update(cmd.Context(), name, id, fields)
		}),
	}
	cmd.Flags().StringVar(&name, "name", "", "the collection (required)")
	cmd.Flags().StringVar(&id, "docID", "", "the document's ID (required)")
	cmd.MarkFlagRequired("name")
	cmd.MarkFlagRequired("docID")
	return cmd
}

func newCollectionDeleteCmd(cc *clientConfig) *cobra.Command {
	var name, id string
	cmd := &cobra.Command{
		Use:   "delete --name COLLECTION --docID DOCID",
		Short: "Delete a document",
		Long: `Delete a document on every replica: a delete wins over any concurrent or later
change of the document.`,
		Example: `  gossipdb client collection delete --name User --docID bafyreih4bdkjwbhyvmpgmqkbpcz2m4h6pyfnd2q3bqvmh4zcsqrg2tnxlu`,
		Args:    exactArgs(),
		RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
			return cl.Delete(cmd.Context(), name, id)
		}),
	}
	cmd.Flags().StringVar(&name, "name", "", "the collection (required)")
	cmd.Flags().StringVar(&id, "docID", "", "the document's ID (required)")
	cmd.MarkFlagRequired("name")
	cmd.MarkFlagRequired("docID")
	return cmd
}

func newCollectionDocIDsCmd(cc *clientConfig) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:     "docIDs --name COLLECTION",
		Short:   "List the IDs of a collection's documents",
		Long:    `Print the IDs of the collection's documents (deleted ones excepted) as a JSON array, in ID order.`,
		Example: `  gossipdb client collection docIDs --name User --url localhost:9182`,
		Args:    exactArgs(),
		RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
			// Printed as they arrive, as printJSON prints an array:
			// a collection of any size takes the same memory. An error
			// after the first ID leaves the array unfinished.
			w := bufio.NewWriter(cmd.OutOrStdout())
			n := 0
			for id, err := range cl.DocIDs(cmd.Context(), name) {
				if err != nil {
					w.Flush()
					return err
				}
				if n == 0 {
					w.WriteString("[\n  ")
				} else {
					w.WriteString(",\n  ")
				}
				// A document ID is base32, and DocIDs refuses one with
				// an escape: its JSON string is itself in quotes.
				w.WriteByte('"')
				w.WriteString(id)
				w.WriteByte('"')
				n++
			}
			if n == 0 {
				w.WriteString("[]\n")
			} else {
				w.WriteString("\n]\n")
			}
			return w.Flush()
		}),
	}
	cmd.Flags().StringVar(&name, "name", "", "the collection (required)")
	cmd.MarkFlagRequired("name")
	return cmd
}

// sinceFlag is the --since of collection changes: a change-feed position, or
// now, the node's position when the command runs.
type sinceFlag struct {
	pos uint64
	now bool
}

func (f *sinceFlag) String() string {
	if f.now {
		return sinceNow
	}
	return strconv.FormatUint(f.pos, 10)
}

func (f *sinceFlag) Set(s string) error {
	if s == sinceNow {
		f.now = true
		return nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return err
	}
	f.pos, f.now = n, false
	return nil
}

// Type names the flag's values in the help and in flagError.
func (f *sinceFlag) Type() string { return "position" }

// sinceNow is the --since that starts at the node's position.
const sinceNow = "now"

func newCollectionChangesCmd(cc *clientConfig) *cobra.Command {
	var name string
	var since sinceFlag
	var follow bool
	cmd := &cobra.Command{
		Use:   "changes --name COLLECTION [--since N|now] [--follow]",
		Short: "Print the collection's change feed",
		Long: `Print the changes this node applied to the collection after position --since
(exclusive; 0, the default, for all the feed holds), one JSON object per line,
in position order: "position", "type" (created, updated, deleted, or overridden
for a change that lost to a concurrent delete), "block", "peer" (the node the
block came from), "local", "author" (the peer ID of the key that signed the
block), and "document" (its ID and values after the change).
Without --follow the last line is {"next": N}: the --since that resumes after
everything printed. With --follow it then prints new changes as they come,
until interrupted or the stream ends (the error then names the --since that
resumes after the last change printed); resume with the last position printed.
--since now starts at the node's position when the command runs: without
--follow it prints just {"next": N} (and any change applied meanwhile). A
--since the node has compacted fails: note N with --since now, rescan the
collection (list its documents), then follow from N.`,
		Example: `  gossipdb client collection changes --name User --since 0
  # go on from the "next" an earlier run printed (here 2), then follow new changes
  gossipdb client collection changes --name User --since 2 --follow --url localhost:9182
  # the node's position, to follow from after a rescan
  gossipdb client collection changes --name User --since now`,
		Args: exactArgs(),
		RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetEscapeHTML(false)
			from := since.pos
			if since.now {
				var err error
				if from, err = cl.ChangesPosition(cmd.Context(), name); err != nil {
					return err
				}
			}
			next, err := cl.Changes(cmd.Context(), name, from, follow, func(ch client.Change) error { return enc.Encode(ch) })
			if err != nil && follow && !errors.Is(err, gossipdb.ErrCompacted) && !errors.Is(err, gossipdb.ErrInvalid) {
				// The stream ended (the node stopped, the connection was
				// lost): say where to go on from.
				return fmt.Errorf("%w; resume with --since %d", err, next)
			}
			if errors.Is(err, gossipdb.ErrCompacted) {
				return fmt.Errorf("%w; rescan: note the position --since now prints, list the collection's documents, then follow from that position", err)
			}
			if err != nil {
				return err
			}
			return enc.Encode(map[string]uint64{"next": next})
		}),
	}
	cmd.Flags().StringVar(&name, "name", "", "the collection (required)")
	cmd.Flags().Var(&since, "since", "print the changes after this position; now for the node's position")
	cmd.Flags().BoolVar(&follow, "follow", false, "then print new changes as they come, until interrupted")
	cmd.MarkFlagRequired("name")
	return cmd
}
