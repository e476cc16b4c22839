package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// envURL is the environment variable that gives `gossipdb client` the node's API
// address when --url is not given.
const envURL = "GOSSIPDB_URL"

// envToken is the environment variable that gives `gossipdb client` the API's
// bearer token when --token is not given.
const envToken = "GOSSIPDB_TOKEN"

// envTimeout is the environment variable that gives `gossipdb client` its
// --request-timeout when that is not given.
const envTimeout = "GOSSIPDB_REQUEST_TIMEOUT"

// env is what a command run may touch of the outside world.
type env struct {
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// exit ends the process at once with a status, for what cannot wait for
	// run to return: a second signal to `start` (see watchSignals).
	exit func(code int)
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, exit: os.Exit}))
}

// run runs the command line args and returns the exit status: 0 on success, 1
// after printing one line "Error: <message>" to stderr.
func run(ctx context.Context, args []string, e *env) int {
	root := newRootCmd(e)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(e.stderr, "Error: %s\n", errorLine(err))
		return 1
	}
	return 0
}

// errorLine renders err as one line.
func errorLine(err error) string {
	if errors.Is(err, context.Canceled) {
		return "interrupted"
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "gossipdb",
		Short: "Peer-to-peer document sync: run a node, or talk to one",
		Long: `gossipdb is an embedded database for peer-to-peer document sync. This command runs
a node with an HTTP API (gossipdb start) and talks to a running node (gossipdb client).

Nodes that share a collection and subscribe to it exchange every change over
libp2p GossipSub; there is no leader, and all of them converge.`,
		Example: `  # Run two nodes on one machine
  gossipdb start --rootdir ~/.gossipdb-node1 --p2paddr /ip4/127.0.0.1/tcp/9171 --url localhost:9181
  gossipdb start --rootdir ~/.gossipdb-node2 --p2paddr /ip4/127.0.0.1/tcp/9172 --url localhost:9182

  # Give both the same collection, connect them, and subscribe node 2
  gossipdb client collection add 'type User { name: String age: Int }' --url localhost:9181
  gossipdb client collection add 'type User { name: String age: Int }' --url localhost:9182
  gossipdb client p2p info --url localhost:9181
  gossipdb client p2p connect /ip4/127.0.0.1/tcp/9171/p2p/<peer ID> --url localhost:9182
  gossipdb client p2p collection add User --url localhost:9182`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.ArbitraryArgs,
		RunE:          runGroup,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(flagError) // every subcommand inherits it
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.AddCommand(newStartCmd(e), newClientCmd(e), newNetworkKeyCmd(), newVersionCmd(e))
	return root
}

// flagError rewords pflag's error for a flag value that does not parse, which
// ends in the Go parser's words (`strconv.ParseBool: parsing "maybe": invalid
// syntax`), as what the flag wants; a flag value whose own error says what it
// wants (wantError) keeps those words. Other flag errors pass unchanged.
func flagError(_ *cobra.Command, err error) error {
	var bad *pflag.InvalidValueError
	if !errors.As(err, &bad) {
		return err
	}
	var want string
	var says wantError
	switch typ := bad.GetFlag().Value.Type(); {
	case errors.As(bad, &says):
		want = string(says)
	case typ == "bool":
		want = "want true or false"
	case typ == "uint64":
		want = "want a whole number from 0 to 18446744073709551615"
	case typ == "position":
		want = "want a whole number from 0 to 18446744073709551615, or " + sinceNow
	case typ == "duration":
		want = "want a duration such as 30s, 5m or 1h30m"
	default:
		return err
	}
	return fmt.Errorf("invalid argument %q for --%s: %s", bad.GetValue(), bad.GetFlag().Name, want)
}

// runGroup is the RunE of a command that only groups others: with no argument it
// shows the help, with one it fails, since cobra found no subcommand of that name.
func runGroup(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %q?)", s[0])
	}
	return fmt.Errorf("%s; see '%s --help'", msg, cmd.CommandPath())
}

// group returns a command that only holds subcommands.
func group(use, short, example string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args:    cobra.ArbitraryArgs,
		RunE:    runGroup,
	}
	cmd.AddCommand(subs...)
	return cmd
}

// exactArgs is cobra.ExactArgs with a message that names the arguments.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == len(names) {
			return nil
		}
		want := "no arguments"
		if len(names) > 0 {
			want = fmt.Sprintf("%d argument(s) (%s)", len(names), strings.Join(names, " "))
		}
		return fmt.Errorf("%s: want %s, got %d; see '%s --help'", cmd.CommandPath(), want, len(args), cmd.CommandPath())
	}
}

// minArgs is cobra.MinimumNArgs with a message that names the argument.
func minArgs(n int, name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= n {
			return nil
		}
		return fmt.Errorf("%s: want at least %d argument(s) (%s), got %d; see '%s --help'", cmd.CommandPath(), n, name, len(args), cmd.CommandPath())
	}
}

// printJSON writes v to w as JSON indented by two spaces, the way every client
// command prints its answer: as json.Indent does, down to maxIndentLevels
// levels (see indentJSON).
func printJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(indentJSON(make([]byte, 0, 2*buf.Len()), buf.Bytes()))
	return err
}

// maxIndentLevels is how many levels of nesting printJSON indents. A JSON
// field's value may nest crdt.MaxJSONDepth (100) levels, and indenting every
// one of them prints up to 100 bytes of spaces for each byte of the value (a
// value of 1 MiB as 100 MiB); within 16 levels it is at most about 17.
const maxIndentLevels = 16

// indentJSON appends src, compact JSON text, to dst indented as json.Indent
// indents it with an indent of two spaces, except that arrays and objects
// nested deeper than maxIndentLevels stay compact, on one line. It reads src
// once, without recursion.
func indentJSON(dst, src []byte) []byte {
	level := 0       // arrays and objects open
	pending := false // just after an opening bracket whose contents are indented
	newline := func(indent int) {
		dst = append(dst, '\n')
		for range indent {
			dst = append(dst, "  "...)
		}
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		if pending && c != ']' && c != '}' {
			newline(level)
		}
		empty := pending
		pending = false
		switch c {
		case '"':
			end := i + 1
			for ; end < len(src) && src[end] != '"'; end++ {
				if src[end] == '\\' {
					end++
				}
			}
			end = min(end, len(src)-1)
			dst = append(dst, src[i:end+1]...)
			i = end
		case '[', '{':
			dst = append(dst, c)
			level++
			pending = level <= maxIndentLevels
		case ']', '}':
			if !empty && level <= maxIndentLevels {
				newline(level - 1)
			}
			dst = append(dst, c)
			level--
		case ',':
			dst = append(dst, c)
			if level <= maxIndentLevels {
				newline(level)
			}
		case ':':
			dst = append(dst, c)
			if level <= maxIndentLevels {
				dst = append(dst, ' ')
			}
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
