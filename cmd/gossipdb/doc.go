// Command gossipdb runs a gossipdb node with an HTTP API, and talks to one.
//
//	gossipdb start [--rootdir DIR] [--p2paddr MULTIADDR,...] [--url HOST:PORT] [--peers MULTIADDR,...]
//	               [--allow-remote-api] [--allowed-origins ORIGIN,...] [--require-token]
//	               [--mdns] [--relay] [--relays MULTIADDR,...]
//	               [--network-key FILE] [--allowed-peers ID,...] [--small-memory]
//	               [--graphql-max-depth N] [--graphql-max-fields N]
//	               [--graphql-max-result-size SIZE] [--graphql-max-duration DURATION]
//	               [--api-body-budget SIZE] [--api-answer-budget SIZE]
//	               [--api-body-read-timeout DURATION] [--api-event-budget SIZE]
//	               [--new-identity] [--log-level LEVEL] [--log-format text|json]
//	gossipdb network-key generate FILE
//	gossipdb client collection add SDL
//	gossipdb client collection patch --name COLLECTION SDL | --version ID
//	gossipdb client collection create --name COLLECTION JSON|FILE|-
//	gossipdb client collection get --name COLLECTION [--at BLOCK] DOCID
//	gossipdb client collection history --name COLLECTION DOCID
//	gossipdb client collection update --name COLLECTION --docID DOCID JSON|FILE|-
//	gossipdb client collection delete --name COLLECTION --docID DOCID
//	gossipdb client collection docIDs --name COLLECTION
//	gossipdb client collection list [--name COLLECTION]
//	gossipdb client collection changes --name COLLECTION [--since N|now] [--follow]
//	gossipdb client collection policy --name COLLECTION
//	gossipdb client collection grant --name COLLECTION --author PEER_ID --role writer|reader
//	gossipdb client collection revoke --name COLLECTION --author PEER_ID
//	gossipdb client index create --collection COLLECTION --fields FIELD[:ASC|:DESC],... [--name NAME]
//	gossipdb client index list [--collection COLLECTION]
//	gossipdb client index drop --collection COLLECTION --name NAME
//	gossipdb client p2p info
//	gossipdb client p2p connect MULTIADDR
//	gossipdb client p2p active-peers
//	gossipdb client p2p collection add|remove NAME[,NAME...]
//	gossipdb client p2p collection getall
//	gossipdb client p2p sync NAME [--wait] [--timeout DURATION]
//	gossipdb client query REQUEST|- [-f FILE] [-o OPERATION] [-v VARIABLES]
//	gossipdb client tx FILE|-
//	gossipdb version
//
// `start` runs a node (store, libp2p host, GossipSub) until SIGINT, SIGTERM or SIGHUP, serving
// the API of internal/httpapi, and its web console at /, on a loopback address;
// a second signal, while the node opens or stops, exits at once with status 128
// plus the signal's number. Its logs go to stderr, with those of libp2p, which
// would otherwise write there in a format of its own (log.go, libp2pHandler). Its --rootdir holds data/ (the store and the identity
// key) and config.json (the settings of the last start, used for flags not
// given; a key it does not know is refused, not ignored); a --rootdir whose
// store or identity key is damaged or missing is
// refused, naming the file, unless only the key is missing and --new-identity asks
// for a new one. The API answers only its own host names, refuses web pages except
// its console and --allowed-origins, and, when it listens on a non-loopback
// address (by --url's host or by the address bound) or with --require-token,
// needs the bearer token kept in
// <rootdir>/api-token (made once, mode 0600). The node finds the other subscribers
// of its collections through any peer it knows (a private DHT among gossipdb
// nodes); --mdns also announces it on the local network and connects to the
// gossipdb nodes found there (off by default: it tells the whole LAN the node
// runs); --relay makes it a Circuit Relay v2 relay for nodes behind NATs, with
// the limits of docs/SECURITY.md; --relays names relays it reserves a slot on
// when it is behind a NAT itself. None of these is kept in config.json.
// --network-key FILE makes the node a member of a private network (a libp2p
// pre-shared key in the swarm.key format, which `network-key generate` makes):
// nodes without the same key cannot connect, and the node uses TCP only;
// --allowed-peers names the only peers it connects with. Both are kept in
// config.json, so that a restart stays private; an empty value turns either off.
// --small-memory runs the node with gossipdb.Options.SmallMemory and sets the Go
// runtime's memory limit to 48 MiB (or 90% of the container's, if smaller)
// unless $GOMEMLIMIT sets one: about a third of the heap, at the cost of write
// throughput and of the largest transaction (see the option); it is kept in
// config.json. In a container (a cgroup, v1 or v2, with a memory limit) start
// sets the Go memory limit to 90% of the container's unless $GOMEMLIMIT sets
// one, and logs it: the Go runtime does not read that limit by itself, and its
// heap would grow to twice what it holds live until the kernel killed the
// node. A node short of memory then runs the garbage collector more and writes
// more slowly instead, down to what it holds live and no limit reclaims
// (Badger's memtables, and the tables its flushes and compactions build): a
// burst of 300,000 documents needed about 256 MiB or more with the defaults,
// 128 MiB with --small-memory (docs/BENCHMARKS.md, "Session 37").
// --graphql-max-depth, --graphql-max-fields, --graphql-max-result-size and
// --graphql-max-duration set the limits of a GraphQL request (httpapi's
// Options.GraphQL, graphql.Limits), each from 1 to the limit's ceiling (a
// value out of range or that does not parse is refused before the node opens,
// naming the flag); a size is a number of bytes with an optional unit
// (B, KB, MB, GB, KiB, MiB, GiB), a duration Go's (90s). Those not at their
// defaults are kept in config.json.
// --api-body-budget, --api-answer-budget, --api-body-read-timeout and
// --api-event-budget set the budgets the API shares among its clients
// (httpapi's Options.BodyBudget, AnswerBudget, BodyReadTimeout and
// EventBudget), in the same way: each within the range httpapi gives it
// (httpapi.MinBodyBudget to httpapi.MaxBodyBudget and the others), from a
// floor below which the API would refuse what it serves (4 MiB for the body
// budget, one body of the largest size; 64 KiB for the answer budget, the
// least answer it counts, and for the event budget; 1 s for the timeout) to a
// ceiling (1 GiB, or 10 minutes for the timeout); those not at their defaults
// are kept in config.json.
//
// The client commands call the node at --url (else $GOSSIPDB_URL, else
// 127.0.0.1:9181), send --token (else $GOSSIPDB_TOKEN) if set, wait for it at
// most --request-timeout (else $GOSSIPDB_REQUEST_TIMEOUT; default 0, no limit: a command that
// prints one answer must end within it, one that streams, such as `changes
// --follow`, must see its answer begin within it; the error says whether the
// request may have been applied) through the public package client, and print
// its answer
// as JSON indented by two spaces (arrays and objects nested more than 16
// levels deep, as a JSON field's value may be, are printed compact on one
// line, so that such a value is not printed as 100 times its size in
// spaces). Every error is one line "Error: <message>" on
// stderr with exit status 1; `client query` prints the answer of a GraphQL request
// that ran even when one of its fields failed, and then exits with status 1 too.
// `gossipdb <command> --help` shows each command's flags and examples.
//
// The command is a thin shell over the public gossipdb package: it adds no
// behaviour of its own beyond parsing flags, printing and the config file.
package main
