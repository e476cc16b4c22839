package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p/gologshim"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/net/netutil"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/httpguard"
	"github.com/gossipdb/gossipdb/internal/graphql"
	"github.com/gossipdb/gossipdb/internal/httpapi"
	"github.com/gossipdb/gossipdb/internal/openfiles"
	"github.com/gossipdb/gossipdb/internal/regular"
	"github.com/gossipdb/gossipdb/internal/store"
)

// Defaults of `gossipdb start`.
const (
	defaultRootdir   = "~/.gossipdb"
	defaultP2PAddr   = "/ip4/127.0.0.1/tcp/9171"
	defaultLogLevel  = "info"
	defaultLogFormat = logFormatText
)

// dataDirName is the node's directory (store and identity key) inside --rootdir.
const dataDirName = "data"

// Timeouts of the HTTP server and of shutting it down.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
	shutdownTimeout   = 10 * time.Second
)

// maxAPIConns is the most connections the HTTP API holds open at once; more
// wait to be accepted. A low limit on open files lowers it (apiConnLimit).
const maxAPIConns = 1024

// lowOpenFiles is the limit on open files below which `start` warns: the
// store keeps a file open for each of its tables, libp2p one per connection.
const lowOpenFiles = 1024

// apiConnLimit returns the most connections the HTTP API may hold open at
// once in a process limited to openFiles open files (0: unknown): a quarter
// of them, at most maxAPIConns. Clients holding connections must not take the
// files the store opens as it writes: Badger ends the process when it cannot
// open a new memtable file.
func apiConnLimit(openFiles int) int {
	if openFiles == 0 {
		return maxAPIConns
	}
	return int(max(1, min(openFiles/4, maxAPIConns)))
}

// maxHeaderBytes bounds the request headers the HTTP server reads, in bytes
// (net/http's default is 1 MiB): the API's requests carry a few short headers.
const maxHeaderBytes = 64 << 10

// Log attribute keys of the command's own lines, in the library's vocabulary
// (see package gossipdb, "Logs").
const (
	logKeyPeerID = "PeerID"
	logKeyAddr   = "addr"
	logKeyURL    = "url"
	logKeyDir    = "rootdir"
	logKeyError  = "error"
	logKeyFile   = "file"
	logKeyUsage  = "usage"
	logKeyPeers  = "peers"
	logKeySignal = "signal"
	// logKeyMemoryLimit is the Go runtime's memory limit, in bytes.
	logKeyMemoryLimit = "memoryLimit"
	// logKeyContainerLimit is the memory limit of the process's cgroup, in
	// bytes.
	logKeyContainerLimit = "containerLimit"
	// logKeyOpenFiles is the process's limit on open files.
	logKeyOpenFiles = "openFiles"
	// logKeyAPIConns is the most connections the HTTP API holds at once.
	logKeyAPIConns = "apiConnections"
)

// Names of the start flags.
const (
	flagRootdir        = "rootdir"
	flagP2PAddr        = "p2paddr"
	flagURL            = "url"
	flagPeers          = "peers"
	flagAllowRemoteAPI = "allow-remote-api"
	flagAllowedOrigins = "allowed-origins"
	flagRequireToken   = "require-token"
	flagLogLevel       = "log-level"
	flagLogFormat      = "log-format"
	flagNewIdentity    = "new-identity"
	flagMDNS           = "mdns"
	flagRelay          = "relay"
	flagRelays         = "relays"
	flagNetworkKey     = "network-key"
	flagAllowedPeers   = "allowed-peers"
	flagSmallMemory    = "small-memory"

	flagGraphQLMaxDepth      = "graphql-max-depth"
	flagGraphQLMaxFields     = "graphql-max-fields"
	flagGraphQLMaxResultSize = "graphql-max-result-size"
	flagGraphQLMaxDuration   = "graphql-max-duration"

	flagAPIBodyBudget      = "api-body-budget"
	flagAPIAnswerBudget    = "api-answer-budget"
	flagAPIBodyReadTimeout = "api-body-read-timeout"
	flagAPIEventBudget     = "api-event-budget"
)

// smallMemoryLimit is the Go runtime's memory limit, in bytes, that
// --small-memory sets unless $GOMEMLIMIT sets one or a container's share is
// smaller (goMemoryLimit). It is below what a small-memory node holds live
// during a burst of writes (54 MiB with a 16 MiB memtable, up to 97 MiB with
// today's 24 MiB: mostly Badger's memtables and the buffers it builds tables
// in), so the collector then runs often instead of letting the heap double
// (docs/BENCHMARKS.md, "Memory": 64 MiB gave the same memory and rate with 16
// MiB).
const smallMemoryLimit = 48 << 20

// startFlags are the settings of `gossipdb start`.
type startFlags struct {
	rootdir        string
	p2pAddrs       []string
	url            string
	peers          []string
	allowRemoteAPI bool
	allowedOrigins []string
	requireToken   bool
	logLevel       string
	logFormat      string
	newIdentity    bool
	mdns           bool
	relay          bool
	relays         []string
	networkKey     string
	allowedPeers   []string
	smallMemory    bool
	// The limits of a GraphQL request (graphql.Limits), each from 1 to its
	// ceiling.
	graphqlMaxDepth      countFlag
	graphqlMaxFields     countFlag
	graphqlMaxResultSize sizeFlag
	graphqlMaxDuration   durationFlag
	// The budgets of the HTTP API (httpapi.Options), each within its range
	// (httpapi.MinBodyBudget to httpapi.MaxBodyBudget and the others).
	apiBodyBudget      sizeFlag
	apiAnswerBudget    sizeFlag
	apiBodyReadTimeout durationFlag
	apiEventBudget     sizeFlag
	// fromConfig holds the names of the flags whose values came from
	// configPath, the rootdir's config.json, for errors (see origin).
	fromConfig map[string]bool
	configPath string
}

// origin names a flag's value for errors: "--url", or "--url (from
// <rootdir>/config.json)" when the value came from there.
func (f *startFlags) origin(flag string) string {
	if f.fromConfig[flag] {
		return "--" + flag + " (from " + f.configPath + ")"
	}
	return "--" + flag
}

// inFlags returns err, an error of gossipdb.Open, with the Options fields it
// names (Options.Peers) put as the flags that set them (--peers), for a user
// who gave flags. errors.Is and errors.As still see err.
func (f *startFlags) inFlags(err error) error {
	msg := strings.NewReplacer(
		"Options.ListenAddrs", f.origin(flagP2PAddr),
		"Options.Peers", f.origin(flagPeers),
		"Options.Relays", f.origin(flagRelays),
		"Options.AllowedPeers", f.origin(flagAllowedPeers),
		"Options.NetworkKey", f.origin(flagNetworkKey),
	).Replace(err.Error())
	if msg == err.Error() {
		return err
	}
	return &reworded{msg: msg, err: err}
}

// graphqlLimits returns the limits of a GraphQL request that the flags set.
func (f *startFlags) graphqlLimits() graphql.Limits {
	return graphql.Limits{
		MaxDepth:      f.graphqlMaxDepth.n,
		MaxFields:     f.graphqlMaxFields.n,
		MaxResultSize: int(f.graphqlMaxResultSize.n),
		MaxDuration:   f.graphqlMaxDuration.d,
	}
}

// apiBudgets returns the budgets of the HTTP API that the flags set; its other
// options are zero.
func (f *startFlags) apiBudgets() httpapi.Options {
	return httpapi.Options{
		BodyBudget:      f.apiBodyBudget.n,
		AnswerBudget:    f.apiAnswerBudget.n,
		BodyReadTimeout: f.apiBodyReadTimeout.d,
		EventBudget:     f.apiEventBudget.n,
	}
}

// reworded is an error shown with other words than the error it wraps.
type reworded struct {
	msg string
	err error
}

func (r *reworded) Error() string { return r.msg }
func (r *reworded) Unwrap() error { return r.err }

// newStartFlags returns the settings of `gossipdb start` before its flags are
// parsed: those whose defaults and ranges are not given where the flags are
// defined (register).
func newStartFlags() *startFlags {
	return &startFlags{
		graphqlMaxDepth:      newCountFlag(graphql.DefaultMaxDepth, graphql.CeilingMaxDepth),
		graphqlMaxFields:     newCountFlag(graphql.DefaultMaxFields, graphql.CeilingMaxFields),
		graphqlMaxResultSize: newSizeFlag(graphql.DefaultMaxResultSize, 1, graphql.CeilingMaxResultSize),
		graphqlMaxDuration:   newDurationFlag(graphql.DefaultMaxDuration, 0, graphql.CeilingMaxDuration),
		apiBodyBudget:        newSizeFlag(httpapi.DefaultBodyBudget, httpapi.MinBodyBudget, httpapi.MaxBodyBudget),
		apiAnswerBudget:      newSizeFlag(httpapi.DefaultAnswerBudget, httpapi.MinAnswerBudget, httpapi.MaxAnswerBudget),
		apiBodyReadTimeout:   newDurationFlag(httpapi.DefaultBodyReadTimeout, httpapi.MinBodyReadTimeout, httpapi.MaxBodyReadTimeout),
		apiEventBudget:       newSizeFlag(httpapi.DefaultEventBudget, httpapi.MinEventBudget, httpapi.MaxEventBudget),
	}
}

func newStartCmd(e *env) *cobra.Command {
	f := newStartFlags()
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Run a node and its HTTP API",
		Long: `Run a gossipdb node: its store, its libp2p host on --p2paddr and its HTTP API on
--url, with a web console at http://<--url>/, until SIGINT, SIGTERM or SIGHUP (then
it shuts down cleanly and exits 0, once the node has opened if it was opening; a
second signal exits at once, with status 130, or 143 for SIGTERM, 129 for SIGHUP). Logs go to stderr,
libp2p's errors among them ($GOLOG_LOG_LEVEL sets libp2p's levels); a log that can
no longer be written (a pipe whose reader exited) loses its lines, and the node
runs on.

Everything the node keeps lives in --rootdir: data/ holds the store and the node's
identity key (so its peer ID stays the same across restarts), config.json the
settings of the last successful start. Flags not given on the command line are taken
from config.json, then from the defaults. --peers, --relays, --mdns, --relay,
--allow-remote-api and --allowed-origins are never taken from config.json: peers
are dialled only when asked, and announcing the node on the LAN, relaying for
others, or an API open to the network or to web pages must be asked for each time.

The node finds the other subscribers of its collections through any peer it
knows (a private DHT among gossipdb nodes), and with --mdns also on the local
network. Behind a NAT it reserves a slot on a relay (--relays, or a connected
peer started with --relay) and then tries hole punching to connect directly.

--network-key makes the node a member of a private network: only nodes started
with the same key file (made with 'gossipdb network-key generate') can connect to
it, in either direction; it then listens and dials over TCP only, since libp2p
cannot protect QUIC with the key. --allowed-peers names the only peers it
connects with; it refuses all others, in either direction. Both are kept in
config.json, so that a restart without them stays private; give the flag an
empty value (--network-key "", --allowed-peers "") to turn it off.

--small-memory runs the node in less memory: with 100,000 documents, about 50 MiB
of heap where the default takes about 170 (besides the pages of its files mapped
in memory, which the kernel reclaims when memory runs short). Its store flushes
writes to disk more often, runs fewer compactions at once, and commits smaller
transactions (a CreateMany of more than about 3.7 MB fails, and a peer's
transaction that large cannot be merged); the Go runtime's memory limit is set to
48 MiB (or to the container's share below, if smaller) unless $GOMEMLIMIT sets
one, so the garbage collector runs more often and writes are slower. It is kept
in config.json: give --small-memory=false to turn it off.

In a container (a cgroup, v1 or v2, with a memory limit) the Go runtime's memory
limit is set to 90% of the container's unless $GOMEMLIMIT sets one; the rest is
for what is not Go heap (stacks, the pages of the store's files that the kernel
must write back before it can reclaim them). The Go runtime does not read the
container's limit by itself: without this its heap grows to twice what it holds
live and the kernel kills the node. A node given less memory than it needs then
runs the garbage collector more, and writes more slowly, instead of being killed,
down to what it holds live (Badger's memtables, and the tables its flushes and
compactions build in memory): below that it is still killed. A burst of 300,000
documents needed about 256 MiB or more with the defaults, 128 MiB with
--small-memory. Without a container limit nothing is set but what --small-memory
sets.

The --graphql-* flags bound each request to /api/v0/graphql: how deeply its
selections nest, how many fields it selects (fragments counted where used),
how many bytes of documents or of introspection its answer holds, and how long
it runs; a request over a limit is refused, or its field fails, with an error
naming the limit (docs/API.md). GraphiQL's introspection query answers about
4 MB over 100 collections of 50 fields, just under the default, so a larger
schema needs a larger --graphql-max-result-size (16MiB holds some 400 such
collections). Raising a limit lets one request take more memory and CPU; each
has a ceiling (128 levels, 100,000 fields, 1GiB, 1h). Sizes are bytes with an
optional unit (B, KB, MB, GB, KiB, MiB, GiB: 16MiB); durations are Go's (90s,
2m). They are kept in config.json; give a flag its default to go back to it.

The --api-* flags set the budgets the API shares among its clients (docs/API.md,
"Request bodies"): --api-body-budget the bytes of request bodies in flight and
of what their JSON decodes to (default 16MiB; a body that does not fit gets 503,
one that never could 413), --api-answer-budget the bytes of answers of 64 KiB or
more being written (64MiB; one that does not fit gets 503, unless it is alone),
--api-body-read-timeout how long a body may take to arrive (else 408) and each
64 KiB of an answer to be taken (30s), --api-event-budget the bytes of events
the event streams hold for their readers (64MiB; past it the stream that lags
most is ended). A busy node with many clients, large answers or many stream
readers may raise them, at the cost of memory; a small device may lower them,
turning clients away sooner. Each has a floor: 4MiB for the body budget (one
body of the largest size), 64KiB for the answer budget (the least answer it
counts) and for the event budget (many batches of events), 1s for the timeout (a
4 MiB body then needs 4 MB/s); and a ceiling: 1GiB, or 10m for the timeout (a
stalled client holds its share that long). Like the --graphql-* flags they are
kept in config.json when not at their defaults.

A --rootdir whose store or identity key is damaged or missing is refused with an
error naming the file, rather than started with lost data or a new peer ID. If
the identity key was lost, --new-identity starts the node with a new one (a new
peer ID); it is never taken from config.json.

The API binds to a loopback address by default, and --url with any other host, or
a name that resolves to another address, is refused unless --allow-remote-api is
given. It answers only requests addressed to
its own names (localhost, 127.0.0.1, [::1] or the host of --url) and refuses
requests from web pages, except from --allowed-origins. When it listens on a
non-loopback address, or with --require-token, every request needs the bearer
token kept in <rootdir>/` + tokenFile + ` (made once, mode 0600): give it to
'gossipdb client' with --token or $` + envToken + `. docs/SECURITY.md says why.`,
		Example: `  # Node 1 with the defaults: p2p on 127.0.0.1:9171, API on 127.0.0.1:9181
  gossipdb start

  # An API a web app on http://localhost:3000 may call, with a token
  gossipdb start --allowed-origins http://localhost:3000 --require-token

  # A node on a LAN that finds the others there by itself, and relays for nodes behind NATs
  gossipdb start --p2paddr /ip4/0.0.0.0/tcp/9171,/ip4/0.0.0.0/udp/9171/quic-v1 --mdns --relay

  # A private network: every member starts with the same key file
  gossipdb network-key generate ~/swarm.key
  gossipdb start --network-key ~/swarm.key --allowed-peers 12D3KooWDy7z9Y6qANCUXADpwYn7cnHoHBAL4MrAuYeWpwA9UePt

  # A node whose schema is too large for the default size of an answer
  gossipdb start --graphql-max-result-size 32MiB --graphql-max-duration 2m

  # A small device: less memory for clients' bodies, answers and event streams
  gossipdb start --small-memory --api-body-budget 4MiB --api-answer-budget 8MiB --api-event-budget 4MiB

  # Node 2 on the same machine, connecting to node 1 at start
  gossipdb start --rootdir ~/.gossipdb-node2 --p2paddr /ip4/127.0.0.1/tcp/9172 --url localhost:9182 \
    --peers /ip4/127.0.0.1/tcp/9171/p2p/12D3KooWDy7z9Y6qANCUXADpwYn7cnHoHBAL4MrAuYeWpwA9UePt`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.resolve(cmd); err != nil {
				return err
			}
			return runStart(cmd.Context(), e, f)
		},
	}
	f.register(cmd.Flags())
	return cmd
}

// register defines the flags of `gossipdb start` in fl, setting f.
func (f *startFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.rootdir, flagRootdir, defaultRootdir, "directory of the node's data and config.json")
	fl.StringSliceVar(&f.p2pAddrs, flagP2PAddr, []string{defaultP2PAddr},
		"multiaddr(s) to listen on for peers; repeat the flag or separate with commas")
	fl.StringVar(&f.url, flagURL, defaultURL, "HOST:PORT of the HTTP API")
	fl.StringSliceVar(&f.peers, flagPeers, nil,
		"full multiaddrs (…/p2p/<peer ID>) of peers to connect to, comma-separated; re-dialled if the connection drops")
	fl.BoolVar(&f.allowRemoteAPI, flagAllowRemoteAPI, false,
		"allow --url to bind a non-loopback address (there every request needs the token in <rootdir>/"+tokenFile+")")
	fl.StringSliceVar(&f.allowedOrigins, flagAllowedOrigins, nil,
		"web origins (scheme://host[:port], comma-separated, matched exactly: no wildcards) whose pages may call the API; default none. "+
			"Each one can read and change every collection through the browser")
	fl.BoolVar(&f.requireToken, flagRequireToken, false,
		"require the token in <rootdir>/"+tokenFile+" on a loopback API too (default off: any local user or "+
			"process can use the API); kept in config.json")
	fl.BoolVar(&f.newIdentity, flagNewIdentity, false,
		"start with a new identity key (a new peer ID) when --rootdir holds a store whose key is missing")
	fl.BoolVar(&f.mdns, flagMDNS, false,
		"announce the node on the local network with mDNS and connect to the gossipdb nodes found there "+
			"(default off: it tells the whole LAN that the node runs)")
	fl.BoolVar(&f.relay, flagRelay, false,
		"serve as a Circuit Relay v2 relay for nodes behind NATs (limited: 128 reservations, 16 circuits per peer, "+
			"2 minutes and 128 KiB per circuit); for nodes with a public address")
	fl.StringSliceVar(&f.relays, flagRelays, nil,
		"full multiaddrs of relays to reserve a slot on when the node is behind a NAT, comma-separated")
	fl.StringVar(&f.networkKey, flagNetworkKey, "",
		"file of a private network key (swarm.key format, mode 0600; 'gossipdb network-key generate' makes one): "+
			"only nodes with the same key can connect; TCP only; kept in config.json")
	fl.StringSliceVar(&f.allowedPeers, flagAllowedPeers, nil,
		"peer IDs, comma-separated, of the only peers to connect with (every --peers and --relays peer must be one); "+
			"kept in config.json")
	fl.BoolVar(&f.smallMemory, flagSmallMemory, false,
		"run in less memory (about 50 MiB of heap at 100,000 documents), at the cost of write throughput and of "+
			"the largest transaction (about 3.7 MB); sets the Go memory limit to 48 MiB (less in a smaller container) unless $GOMEMLIMIT does; kept in config.json")
	fl.Var(&f.graphqlMaxDepth, flagGraphQLMaxDepth,
		"how deeply the selections of a GraphQL request may nest (GraphiQL's introspection query nests 15), up to 128; kept in config.json")
	fl.Var(&f.graphqlMaxFields, flagGraphQLMaxFields,
		"how many fields a GraphQL request may select, each fragment counted where it is used, up to 100000; kept in config.json")
	fl.Var(&f.graphqlMaxResultSize, flagGraphQLMaxResultSize,
		"how many bytes of documents, or of introspection, one GraphQL answer may hold (16MiB, 500KB, bytes), up to 1GiB; "+
			"a request holds several times this much memory; kept in config.json")
	fl.Var(&f.graphqlMaxDuration, flagGraphQLMaxDuration,
		"how long a GraphQL request may run (90s, 2m), up to 1h; kept in config.json")
	fl.Var(&f.apiBodyBudget, flagAPIBodyBudget,
		"how many bytes of request bodies, and of what their JSON decodes to, the API holds at once (about twice "+
			"this on the heap); a body that does not fit gets 503, one that never could 413; from 4MiB (one body of "+
			"the largest size) to 1GiB; kept in config.json")
	fl.Var(&f.apiAnswerBudget, flagAPIAnswerBudget,
		"how many bytes of answers of 64 KiB or more the API holds at once while clients take them; one that "+
			"does not fit gets 503 (an answer alone always fits); from 64KiB (the least answer counted) to 1GiB; kept in config.json")
	fl.Var(&f.apiBodyReadTimeout, flagAPIBodyReadTimeout,
		"how long a request body may take to arrive (else 408), and each 64 KiB of an answer to be taken, before "+
			"the connection is closed; from 1s (a 4 MiB body then needs 4 MB/s) to 10m; kept in config.json")
	fl.Var(&f.apiEventBudget, flagAPIEventBudget,
		"how many bytes of events the event streams hold for their readers together; past it the stream that "+
			"lags most is ended; from 64KiB (many batches of events) to 1GiB; kept in config.json")
	fl.StringVar(&f.logLevel, flagLogLevel, defaultLogLevel, "log level: debug, info, warn or error")
	fl.StringVar(&f.logFormat, flagLogFormat, defaultLogFormat, "log format: text or json")
}

// resolve expands --rootdir and fills the flags not given from config.json.
func (f *startFlags) resolve(cmd *cobra.Command) error {
	dir, err := expandHome(f.rootdir)
	if err != nil {
		return fmt.Errorf("--%s: %w", flagRootdir, err)
	}
	f.rootdir = dir
	if err := regular.CheckDir(f.rootdir); err != nil {
		return fmt.Errorf("--%s: %w", flagRootdir, err)
	}
	cfg, err := readConfig(f.rootdir)
	if err != nil {
		return err
	}
	f.configPath = filepath.Join(f.rootdir, configFile)
	f.fromConfig = map[string]bool{}
	changed := cmd.Flags().Changed
	// take reports whether flag takes its value from config.json: it was not
	// given, and config.json records one.
	take := func(flag string, recorded bool) bool {
		f.fromConfig[flag] = !changed(flag) && recorded
		return f.fromConfig[flag]
	}
	if take(flagP2PAddr, len(cfg.P2PAddrs) > 0) {
		f.p2pAddrs = cfg.P2PAddrs
	}
	if take(flagURL, cfg.URL != "") {
		f.url = cfg.URL
	}
	if take(flagLogLevel, cfg.LogLevel != "") {
		f.logLevel = cfg.LogLevel
	}
	if take(flagLogFormat, cfg.LogFormat != "") {
		f.logFormat = cfg.LogFormat
	}
	if !changed(flagRequireToken) {
		f.requireToken = cfg.RequireToken
	}
	if !changed(flagSmallMemory) {
		f.smallMemory = cfg.SmallMemory
	}
	if take(flagNetworkKey, cfg.NetworkKey != "") {
		f.networkKey = cfg.NetworkKey
	}
	if take(flagAllowedPeers, len(cfg.AllowedPeers) > 0) {
		f.allowedPeers = cfg.AllowedPeers
	}
	for _, c := range []struct {
		flag  string
		value string // "" when config.json records none
		to    pflag.Value
	}{
		{flagGraphQLMaxDepth, itoaOrEmpty(cfg.GraphQLMaxDepth), &f.graphqlMaxDepth},
		{flagGraphQLMaxFields, itoaOrEmpty(cfg.GraphQLMaxFields), &f.graphqlMaxFields},
		{flagGraphQLMaxResultSize, cfg.GraphQLMaxResultSize, &f.graphqlMaxResultSize},
		{flagGraphQLMaxDuration, cfg.GraphQLMaxDuration, &f.graphqlMaxDuration},
		{flagAPIBodyBudget, cfg.APIBodyBudget, &f.apiBodyBudget},
		{flagAPIAnswerBudget, cfg.APIAnswerBudget, &f.apiAnswerBudget},
		{flagAPIBodyReadTimeout, cfg.APIBodyReadTimeout, &f.apiBodyReadTimeout},
		{flagAPIEventBudget, cfg.APIEventBudget, &f.apiEventBudget},
	} {
		if !take(c.flag, c.value != "") {
			continue
		}
		if err := c.to.Set(c.value); err != nil {
			return fmt.Errorf("invalid argument %q for %s: %w", c.value, f.origin(c.flag), err)
		}
	}
	f.allowedPeers = slices.DeleteFunc(f.allowedPeers, func(s string) bool { return s == "" })
	return nil
}

// itoaOrEmpty returns n in decimal, or "" for 0: a number config.json does
// not record.
func itoaOrEmpty(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// expandHome replaces a leading "~" with the user's home directory.
func expandHome(path string) (string, error) {
	if path == "" {
		return "", errors.New("empty path")
	}
	if path != "~" && !strings.HasPrefix(path, "~/") {
		return path, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, path[1:]), nil
}

// checkAPIAddr validates addr, the value of --url that origin names (see
// startFlags.origin), and returns the HOST:PORT to listen on.
func checkAPIAddr(origin, addr string, allowRemote bool) (string, error) {
	s := strings.TrimPrefix(addr, "http://")
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("%s %q: want HOST:PORT, e.g. %s", origin, addr, defaultURL)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || (p == 0 && port != "0") {
		return "", fmt.Errorf("%s %q: port %q is not a number from 0 to 65535", origin, addr, port)
	}
	if !allowRemote && !isLoopback(host) {
		return "", fmt.Errorf("%s %s is not a loopback address: use 127.0.0.1 or localhost, "+
			"or pass --%s to serve the API to the network (with a token)", origin, addr, flagAllowRemoteAPI)
	}
	return net.JoinHostPort(host, port), nil
}

// boundLoopback reports whether the listener address addr is a loopback one.
func boundLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// apiOptions returns the options of the API served on apiAddr (as --url gave
// it, validated) through the listener at addr, and the path of the token file
// when the API needs a token: on a non-loopback address (by --url's host or by
// the address bound: a "localhost" that resolves elsewhere), or with
// --require-token.
func apiOptions(f *startFlags, apiAddr string, addr net.Addr) (*httpapi.Options, string, error) {
	budgets := f.apiBudgets()
	opts := &budgets
	opts.AllowedOrigins = f.allowedOrigins
	host, _, _ := net.SplitHostPort(apiAddr) // validated by checkAPIAddr
	if ip, err := netip.ParseAddr(host); host != "" && (err != nil || !ip.IsUnspecified()) {
		_, port, _ := net.SplitHostPort(addr.String())
		opts.Hosts = []string{net.JoinHostPort(host, port)}
	}
	if !f.requireToken && isLoopback(host) && boundLoopback(addr) {
		return opts, "", nil
	}
	token, path, err := loadToken(f.rootdir)
	if err != nil {
		return nil, "", fmt.Errorf("API token: %w", err)
	}
	opts.Token = token
	return opts, path, nil
}

// openGate is empty except in the tests' build of the command, which sets it
// (go build -ldflags "-X main.openGate=NAME") to the name of an environment
// variable. When that variable names a file, runStart reads the file to its
// end before it opens the node: a FIFO holds it there for as long as a test
// needs, standing in for the Open of a large store.
var openGate string

// watchSignals handles the signals of `start` until done is closed. The first
// asks for an orderly stop (stop), which waits for the node to finish opening
// if it is: with a large store that can take a while. The second ends the
// process at once through e.exit, saying so, with status 128 plus the signal's
// number (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP), as a shell
// reports a process a signal killed. The store is then left as after a crash,
// which it survives. SIGHUP (the terminal that started the node closed,
// say) stops the node as the others do: the command has no settings to read
// again, and Go's default for it would end the process at once, leaving the
// store unclosed and nothing in the log.
func watchSignals(signals <-chan os.Signal, done <-chan struct{}, log *slog.Logger, stop func(), e *env) {
	select {
	case sig := <-signals:
		log.Info("Stopping; a second signal exits at once", logKeySignal, sig.String())
		stop()
	case <-done:
		return
	}
	select {
	case sig := <-signals:
		fmt.Fprintf(e.stderr, "Error: a second signal (%s): exiting at once, without an orderly stop\n", sig)
		code := 1
		if s, ok := sig.(syscall.Signal); ok {
			code = 128 + int(s)
		}
		e.exit(code)
	case <-done:
	}
}

// dataDirInUse returns the error gossipdb.Open would return for data
// directory dir (matching gossipdb.ErrLocked, naming the holder) while a
// running node holds it; nil when none does, or when it cannot tell. It takes
// the directory's lock shared for a moment: a node that takes it at that very
// moment is refused, as when two start at once.
func dataDirInUse(dir string) error {
	release, err := store.LockDir(dir, false)
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("%w: %s (%s)", gossipdb.ErrLocked, dir, store.Holder(dir))
	}
	if err == nil {
		release()
	}
	return nil
}

// config returns the settings to keep in config.json. A GraphQL limit or an
// API budget at its default is not kept, so that the node follows the default.
func (f *startFlags) config() config {
	return config{
		P2PAddrs: f.p2pAddrs, URL: f.url, LogLevel: f.logLevel, LogFormat: f.logFormat, RequireToken: f.requireToken,
		NetworkKey: f.networkKey, AllowedPeers: f.allowedPeers, SmallMemory: f.smallMemory,
		GraphQLMaxDepth: f.graphqlMaxDepth.kept(), GraphQLMaxFields: f.graphqlMaxFields.kept(),
		GraphQLMaxResultSize: f.graphqlMaxResultSize.kept(), GraphQLMaxDuration: f.graphqlMaxDuration.kept(),
		APIBodyBudget: f.apiBodyBudget.kept(), APIAnswerBudget: f.apiAnswerBudget.kept(),
		APIBodyReadTimeout: f.apiBodyReadTimeout.kept(), APIEventBudget: f.apiEventBudget.kept(),
	}
}

// runStart runs the node and its API until ctx ends or a signal arrives.
func runStart(ctx context.Context, e *env, f *startFlags) error {
	// Catch the signals first: one that arrives while the node starts still makes
	// it shut down cleanly, and a second one exits at once (watchSignals).
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(signals)
	// A log in a pipe whose reader has exited (`gossipdb start 2>&1 | tee
	// node.log`, ended with Ctrl-C, which ends tee at once) fails its writes
	// with EPIPE: without this, Go would end the process with SIGPIPE at the
	// first line written to stderr then, "Stopping", leaving the store
	// unclosed. The node runs, and stops, as before; its lines are lost. Not
	// reset on return: the process is the node's, and its last words
	// ("Error: …") must not end it with SIGPIPE either.
	signal.Ignore(syscall.SIGPIPE)
	stopCtx, stop := context.WithCancel(ctx)
	defer stop()
	level, err := parseLevel(f.logLevel)
	if err != nil {
		return fmt.Errorf("%s %w", f.origin(flagLogLevel), err)
	}
	log, err := newLogger(e.stderr, f.logFormat, level)
	if err != nil {
		return fmt.Errorf("%s %w", f.origin(flagLogFormat), err)
	}
	watched := make(chan struct{})
	defer close(watched)
	go watchSignals(signals, watched, log, stop, e)
	apiAddr, err := checkAPIAddr(f.origin(flagURL), f.url, f.allowRemoteAPI)
	if err != nil {
		return err
	}
	if len(f.p2pAddrs) == 0 {
		// An empty --p2paddr would leave the node to the library's default,
		// an ephemeral port, while config.json would record none: the next
		// start would listen on the default of this command instead.
		return fmt.Errorf("--%s: empty: want one or more multiaddrs, e.g. %s", flagP2PAddr, defaultP2PAddr)
	}
	for _, p := range f.peers {
		if _, err := gossipdb.ParseAddr(p); err != nil {
			return fmt.Errorf("--%s: %w", flagPeers, err)
		}
	}
	for _, p := range f.relays {
		if _, err := gossipdb.ParseAddr(p); err != nil {
			return fmt.Errorf("--%s: %w", flagRelays, err)
		}
	}
	for _, p := range f.allowedPeers {
		if err := gossipdb.CheckPeerID(p); err != nil {
			return fmt.Errorf("%s: %w", f.origin(flagAllowedPeers), err)
		}
	}
	var networkKey []byte
	if f.networkKey != "" {
		path, err := expandHome(f.networkKey)
		if err == nil {
			path, err = filepath.Abs(path) // config.json keeps it for starts from anywhere
		}
		if err != nil {
			return fmt.Errorf("%s: %w", f.origin(flagNetworkKey), err)
		}
		if networkKey, err = gossipdb.ReadNetworkKeyFile(path); err != nil {
			return fmt.Errorf("%s: %w", f.origin(flagNetworkKey), err)
		}
		f.networkKey = path
	}
	for _, o := range f.allowedOrigins {
		if _, err := httpguard.ParseOrigin(o); err != nil {
			return fmt.Errorf("--%s: %w", flagAllowedOrigins, err)
		}
	}
	envLimit := e.getenv("GOMEMLIMIT") != ""
	var container uint64
	if !envLimit {
		if container, err = containerMemory(); err != nil {
			log.Warn("Cannot read the container's memory limit; the Go memory limit is not set from it "+
				"(set $GOMEMLIMIT to about 90% of it)", logKeyError, err)
		}
	}
	memoryLimit, fromContainer := goMemoryLimit(envLimit, f.smallMemory, container)
	if memoryLimit != 0 {
		debug.SetMemoryLimit(memoryLimit) // the process is the node's: see gossipdb.Options.SmallMemory
	}
	ln, err := net.Listen("tcp", apiAddr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			// Another start on this rootdir, with the ports of its
			// config.json, holds the port: say what Open would.
			if err := dataDirInUse(filepath.Join(f.rootdir, dataDirName)); err != nil {
				return fmt.Errorf("cannot start the node (--%s %s): %w", flagRootdir, f.rootdir, err)
			}
		}
		return fmt.Errorf("cannot serve the API on %s (%s): %w", apiAddr, f.origin(flagURL), err)
	}
	defer ln.Close()
	openFiles := openfiles.Limit()
	apiConns := apiConnLimit(openFiles)
	ln = netutil.LimitListener(ln, apiConns)
	if !f.allowRemoteAPI && !boundLoopback(ln.Addr()) {
		return fmt.Errorf("%s %s bound %s, which is not a loopback address: fix the name's address "+
			"or pass --%s to serve the API to the network (with a token)", f.origin(flagURL), f.url, ln.Addr(), flagAllowRemoteAPI)
	}
	// libp2p logs into the node's log. Before the node opens, when libp2p
	// first logs: each of its loggers keeps the handler it first finds.
	gologshim.SetDefaultHandler(newLibp2pHandler(log.Handler()))
	if openGate != "" {
		if gate := e.getenv(openGate); gate != "" {
			os.ReadFile(gate) // its content and errors do not matter: only the wait
		}
	}
	n, err := gossipdb.Open(filepath.Join(f.rootdir, dataDirName), &gossipdb.Options{
		ListenAddrs:  f.p2pAddrs,
		Peers:        f.peers,
		Relays:       f.relays,
		MDNS:         f.mdns,
		RelayService: f.relay,
		Logger:       log,
		NewIdentity:  f.newIdentity,
		NetworkKey:   networkKey,
		AllowedPeers: f.allowedPeers,
		SmallMemory:  f.smallMemory,
	})
	if err != nil {
		return fmt.Errorf("cannot start the node (--%s %s, %s %s): %w",
			flagRootdir, f.rootdir, f.origin(flagP2PAddr), strings.Join(f.p2pAddrs, ","), f.inFlags(err))
	}
	defer n.Close()
	apiOpts, tokenPath, err := apiOptions(f, apiAddr, ln.Addr())
	if err != nil {
		return err
	}
	apiOpts.Logger = log
	apiOpts.GraphQL = f.graphqlLimits()
	if err := writeConfig(f.rootdir, f.config()); err != nil {
		log.Warn("Cannot save config.json", logKeyDir, f.rootdir, logKeyError, err)
	}

	handler, err := httpapi.NewHandler(n, apiOpts)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(handler.EndStreams) // open event streams would hold Shutdown
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	log.Info("Started node", logKeyPeerID, n.ID(), logKeyDir, f.rootdir)
	if openFiles != 0 && openFiles < lowOpenFiles {
		log.Warn("Low limit on open files: the store may fail to open its files as it grows, "+
			"and the API serves fewer connections at once; raise it (ulimit -n)",
			logKeyOpenFiles, openFiles, logKeyAPIConns, apiConns)
	}
	if networkKey != nil {
		log.Info("In a private network: only nodes with the same key can connect", logKeyFile, f.networkKey)
	}
	if fromContainer {
		log.Info("Go memory limit set from the container's", logKeyMemoryLimit, memoryLimit, logKeyContainerLimit, container)
	}
	if f.smallMemory {
		log.Info("In small-memory mode", logKeyMemoryLimit, debug.SetMemoryLimit(-1))
	}
	if len(f.allowedPeers) > 0 {
		log.Info("Connecting only with the allowed peers", logKeyPeers, strings.Join(f.allowedPeers, ","))
	}
	for _, a := range n.PeerInfo() {
		log.Info("Listening for peers", logKeyAddr, a)
	}
	log.Info("Providing HTTP API", logKeyURL, "http://"+ln.Addr().String())
	log.Info("Serving the web console", logKeyURL, "http://"+ln.Addr().String()+"/")
	if tokenPath != "" {
		log.Info("The HTTP API needs the bearer token in "+tokenPath, logKeyFile, tokenPath,
			logKeyUsage, fmt.Sprintf(`export %s="$(cat %s)"; or gossipdb client --token …; `+
				`or curl -H "Authorization: Bearer $%s" …`, envToken, tokenPath, envToken))
	}

	var serveErr error
	select {
	case <-stopCtx.Done():
	case serveErr = <-served:
	}

	log.Info("Shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		srv.Close()
	}
	closeErr := n.Close()
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("HTTP API: %w", serveErr)
	}
	if closeErr != nil {
		return fmt.Errorf("closing the node: %w", closeErr)
	}
	log.Info("Stopped")
	return nil
}
