package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/jsonkeys"
)

// defaultURL is the API address `gossipdb start` serves and `gossipdb client`
// calls when nothing else is said.
const defaultURL = "127.0.0.1:9181"

// clientConfig is what every client subcommand shares: the node's address,
// the API's token and how long to wait for the node.
type clientConfig struct {
	e       *env
	url     string
	token   string
	timeout timeoutFlag
	// timeoutFlag is --request-timeout, whose Changed says whether it was
	// given (else $GOSSIPDB_REQUEST_TIMEOUT counts).
	timeoutFlag *pflag.Flag
}

// timeoutFlag is the value of `gossipdb client --request-timeout`: a Go duration, 0
// for no limit.
type timeoutFlag time.Duration

func (f *timeoutFlag) String() string { return time.Duration(*f).String() }

func (f *timeoutFlag) Set(s string) error {
	d, err := parseTimeout(s)
	if err != nil {
		return err
	}
	*f = timeoutFlag(d)
	return nil
}

// Type names the flag's values in the help.
func (f *timeoutFlag) Type() string { return "duration" }

// parseTimeout reads a value of --request-timeout or $GOSSIPDB_REQUEST_TIMEOUT.
func parseTimeout(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d < 0 {
		return 0, wantError("want a duration such as 30s, 5m or 1h30m, or 0 for no limit")
	}
	return d, nil
}

// clientTimeout returns --request-timeout if given, else
// $GOSSIPDB_REQUEST_TIMEOUT if set,
// else 0: no limit.
func (c *clientConfig) clientTimeout() (time.Duration, error) {
	if c.timeoutFlag.Changed {
		return time.Duration(c.timeout), nil
	}
	v := c.e.getenv(envTimeout)
	if strings.TrimSpace(v) == "" {
		return 0, nil
	}
	d, err := parseTimeout(v)
	if err != nil {
		return 0, fmt.Errorf("$%s %q: %w", envTimeout, v, err)
	}
	return d, nil
}

// client returns the API client of the node at --url, sending --token, else
// $GOSSIPDB_TOKEN, if either is set, and waiting for the node as long as
// --request-timeout, else $GOSSIPDB_REQUEST_TIMEOUT, allows. urlGiven says whether --url was
// given: if not, a bad address is named as $GOSSIPDB_URL's, where it came
// from.
func (c *clientConfig) client(urlGiven bool) (*client.Client, error) {
	if _, err := client.ParseURL(c.url); err != nil {
		if !urlGiven && c.e.getenv(envURL) != "" {
			return nil, fmt.Errorf("$%s: %w", envURL, err)
		}
		return nil, fmt.Errorf("--url: %w", err)
	}
	token, from := c.token, "--token"
	if token == "" {
		token, from = strings.TrimSpace(c.e.getenv(envToken)), "$"+envToken
	}
	timeout, err := c.clientTimeout()
	if err != nil {
		return nil, err
	}
	cl, err := client.New(c.url, &client.Options{Token: token, Timeout: timeout})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", from, err)
	}
	return cl, nil
}

// run makes a command's RunE from f, handing it the API client of the node at
// --url.
func (c *clientConfig) run(f func(cmd *cobra.Command, args []string, cl *client.Client) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		cl, err := c.client(cmd.Flags().Changed("url"))
		if err != nil {
			return err
		}
		defer cl.Close()
		return f(cmd, args, cl)
	}
}

func newClientCmd(e *env) *cobra.Command {
	cc := &clientConfig{e: e}
	cmd := group("client", "Talk to a running node through its HTTP API",
		`  gossipdb client p2p info --url localhost:9181
  GOSSIPDB_URL=localhost:9182 gossipdb client p2p active-peers
  gossipdb client query '{ User(limit: 10) { _docID name } }'`,
		newCollectionCmd(cc), newIndexCmd(cc), newP2PCmd(cc), newQueryCmd(cc), newTxCmd(cc), newCheckCmd(cc))
	cmd.Long = `Commands that call the HTTP API of a node started with 'gossipdb start'.
Answers are printed as JSON on stdout; errors as one line on stderr, with exit status 1.

The node is the one at --url, else the one at $` + envURL + `, else ` + defaultURL + `.
A node that needs a token (a remote API, or 'gossipdb start --require-token') gets
the one of --token, else $` + envToken + `: the content of its <rootdir>/` + tokenFile + `.

--request-timeout, else $` + envTimeout + `, bounds each command's wait for the node, so that one
that takes the connection and never answers (a hung node, another service on the
port) fails instead of waiting until interrupted. A command that prints one answer
must end within it, answer read included; one that streams (changes, a GraphQL
subscription, history, docIDs) must see its answer begin within it, and then
runs until the stream ends or it is interrupted; 'p2p sync --wait' within it more
than the sync's own --timeout. The error says whether the request may have been applied.
The default, 0, sets no limit: a query may run as long as the node's
--graphql-max-duration (up to 1h), a check or a sync as long as the data takes.`
	def := e.getenv(envURL)
	if def == "" {
		def = defaultURL
	}
	cmd.PersistentFlags().StringVar(&cc.url, "url", def,
		"API address of the node, HOST:PORT or http://HOST:PORT; $"+envURL+" sets the default")
	cmd.PersistentFlags().StringVar(&cc.token, "token", "",
		"bearer token of a node that needs one (the content of its <rootdir>/"+tokenFile+"); default $"+envToken)
	if d, err := parseTimeout(e.getenv(envTimeout)); err == nil {
		cc.timeout = timeoutFlag(d) // shown as the default; a bad value fails the command
	}
	cmd.PersistentFlags().Var(&cc.timeout, "request-timeout",
		"how long to wait for the node: for the whole answer, or until a stream begins; 0 for no limit (a query may run up to 1h); $"+envTimeout+" sets the default")
	cc.timeoutFlag = cmd.PersistentFlags().Lookup("request-timeout")
	return cmd
}

// splitNames splits comma-separated collection names ("User,Post") spread over
// one or more arguments.
func splitNames(args []string) ([]string, error) {
	var names []string
	for _, a := range args {
		for _, n := range strings.Split(a, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return nil, errors.New("no collection name given")
	}
	return names, nil
}

// parseJSONArg decodes a JSON command-line argument, keeping numbers exact. An
// object that holds a key twice is refused, naming it: decoded, it would keep
// one of the values and drop the others without a word.
func parseJSONArg(what, s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	if err == nil {
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			return nil, fmt.Errorf("invalid JSON %s: more than one JSON value", what)
		}
		if err := jsonkeys.Check([]byte(s)); err != nil {
			return nil, fmt.Errorf("invalid JSON %s: %v", what, err)
		}
		return v, nil
	}
	var syn *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF):
		return nil, fmt.Errorf("invalid JSON %s: empty", what)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, fmt.Errorf("invalid JSON %s: unexpected end of input", what)
	case errors.As(err, &syn):
		return nil, fmt.Errorf("invalid JSON %s at byte %d: %v", what, syn.Offset, err)
	}
	return nil, fmt.Errorf("invalid JSON %s: %v", what, err)
}
