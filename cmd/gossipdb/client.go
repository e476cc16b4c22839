package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/jsonkeys"
)

// defaultURL is the API address `gossipdb start` serves and `gossipdb client`
// calls when nothing else is said.
const defaultURL = "127.0.0.1:9181"

// clientConfig is what every client subcommand shares: the node's address and
// the API's token.
type clientConfig struct {
	e     *env
	url   string
	token string
}

// client returns the API client of the node at --url, sending --token, else
// $GOSSIPDB_TOKEN, if either is set. urlGiven says whether --url was given:
// if not, a bad address is named as $GOSSIPDB_URL's, where it came from.
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
	cl, err := client.New(c.url, &client.Options{Token: token})
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
the one of --token, else $` + envToken + `: the content of its <rootdir>/` + tokenFile + `.`
	def := e.getenv(envURL)
	if def == "" {
		def = defaultURL
	}
	cmd.PersistentFlags().StringVar(&cc.url, "url", def,
		"API address of the node, HOST:PORT or http://HOST:PORT; $"+envURL+" sets the default")
	cmd.PersistentFlags().StringVar(&cc.token, "token", "",
		"bearer token of a node that needs one (the content of its <rootdir>/"+tokenFile+"); default $"+envToken)
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
