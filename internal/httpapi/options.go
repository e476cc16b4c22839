package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gossipdb/gossipdb/internal/graphql"
)

// Defaults of Options.
const (
	// DefaultBodyBudget is the default Options.BodyBudget: four bodies of
	// MaxBodySize at once.
	DefaultBodyBudget = 4 * MaxBodySize
	// DefaultBodyReadTimeout is the default Options.BodyReadTimeout.
	DefaultBodyReadTimeout = 30 * time.Second
	// DefaultAnswerBudget is the default Options.AnswerBudget: sixteen
	// answers of the largest page of documents (MaxPageBytes) at once.
	DefaultAnswerBudget = 16 * MaxPageBytes
	// DefaultEventBudget is the default Options.EventBudget.
	DefaultEventBudget = 64 << 20
)

// Ranges of Options: the least and the largest value each budget may take; a
// value out of its range is refused (NewHandler's error names the field), and
// 0 means the default. The least values are those below which the API would
// refuse what it serves or hold to no purpose; the largest keep what clients
// can make the node hold, or for how long, within what a machine has.
const (
	// MinBodyBudget is the least Options.BodyBudget: one body of the largest
	// size, MaxBodySize, which a body sent without its length reserves; with
	// less, every such body would get 413.
	MinBodyBudget = MaxBodySize
	// MaxBodyBudget is the largest Options.BodyBudget, 1 GiB: bodies and
	// their decoded values hold about twice the budget on the heap.
	MaxBodyBudget = 1 << 30

	// MinAnswerBudget is the least Options.AnswerBudget: the smallest answer
	// the budget counts, MinHeldAnswer. Any budget under twice it lets one
	// counted answer through at a time (an answer alone always fits), as less
	// would.
	MinAnswerBudget = MinHeldAnswer
	// MaxAnswerBudget is the largest Options.AnswerBudget, 1 GiB: answers are
	// held whole while clients take them, each for up to BodyReadTimeout, so
	// clients that read slowly hold that much of the node's memory.
	MaxAnswerBudget = 1 << 30

	// MinBodyReadTimeout is the least Options.BodyReadTimeout: a body of the
	// largest size then needs 4 MB/s, and a pause of the client or of the
	// node (a busy CPU, a garbage collection) would fail a request.
	MinBodyReadTimeout = time.Second
	// MaxBodyReadTimeout is the largest Options.BodyReadTimeout: a client
	// that trickles its body or stops reading its answer holds its share of
	// the budgets, and one of the API's connections, that long.
	MaxBodyReadTimeout = 10 * time.Minute

	// MinEventBudget is the least Options.EventBudget: many times the largest
	// batch of events; with less, a reader only a few batches behind would
	// have its stream ended.
	MinEventBudget = 64 << 10
	// MaxEventBudget is the largest Options.EventBudget, 1 GiB, some 2.4
	// million changes: streams whose readers stopped hold that much of the
	// node's memory until one is ended.
	MaxEventBudget = 1 << 30
)

// Options configure NewHandler. DefaultOptions returns the defaults; the zero
// value of a field also means its default, so the handler is safe without any
// setting: it answers only requests sent to a loopback name, refuses every web
// page but its own console, needs no token and bounds the bodies it holds. The
// budgets and BodyReadTimeout each have a range (MinBodyBudget to
// MaxBodyBudget and the others); NewHandler refuses a value out of it.
type Options struct {
	// Logger receives a debug line per request and an error line per failure of
	// the node. Default nil: silent.
	Logger *slog.Logger

	// Hosts are further HOST:PORT values the Host header may hold, such as
	// "node.lan:9181" for an API served to the network under that name. Without
	// them the API answers only localhost, 127.0.0.1 and [::1], and the IP address
	// the connection came in on, each at the port it came in on; any other Host
	// gets 421, which is what defeats DNS rebinding (a page of another domain
	// made to resolve to this machine). Default none. Add only names this machine
	// owns. It is httpguard.Options.Hosts.
	Hosts []string

	// AllowedOrigins are the web origins ("https://app.example:8443": scheme,
	// host and optional port, nothing else; see httpguard.ParseOrigin) whose
	// pages may call the API from a browser. A request with any other Origin
	// header gets 403 before it does anything, except one whose Origin is the
	// API's own (the scheme and the Host it was sent to): that is a page the
	// API served, its console. Default none: no other web page can use the
	// API; curl and the CLI send no Origin and are not affected. Each origin
	// added can read and change every collection through the browser of
	// anyone running this node. It is httpguard.Options.AllowedOrigins.
	AllowedOrigins []string

	// Token, when not empty, is the bearer token every request must carry as
	// "Authorization: Bearer <Token>"; a request without it, or with another one,
	// gets 401 and does nothing. Default "": no token, so anyone who can connect
	// to the API can use it. Set it whenever the API is reachable from other
	// machines; it travels in clear text over plain HTTP.
	Token string

	// BodyBudget is how many bytes of request bodies the handler holds at once.
	// A body reserves its Content-Length (MaxBodySize when the length is not
	// sent) before it is read, and gives it back when its answer begins (a
	// GraphQL subscription, which goes on using what its body decoded to, when
	// its stream ends, holding MaxSubscriptionBody at most); a body that does
	// not fit gets 503 with Retry-After at once, unread. Default
	// DefaultBodyBudget (16 MiB). As a body is read, before the decoder sees
	// its bytes, its reservation grows by an estimate of what its JSON takes
	// once decoded beyond a copy of its bytes (less an eighth of its size); a
	// body whose reservation would pass the budget on its own gets 413, one
	// that does not fit for now 503 with Retry-After. So bodies and their
	// decoded values keep about twice the budget live on the heap (buffers the
	// decoder outgrew add as much again until the garbage collector runs). A
	// smaller budget turns concurrent large writes away sooner, and refuses
	// bodies of many small values sooner: with the default one body of 10,000
	// documents of ten short fields fits. From MinBodyBudget (4 MiB, so that
	// one body of any size fits if its values are few) to MaxBodyBudget
	// (1 GiB).
	BodyBudget int64

	// AnswerBudget is how many bytes of answers the handler holds at once
	// while their clients take them: a page of documents, a document, a
	// GraphQL answer, each held whole as it is written, up to
	// BodyReadTimeout after a client stops reading. An answer of 64 KiB or
	// more reserves its size before it is written and gives it back once
	// written; one that does not fit gets 503 with Retry-After instead, unless
	// no other answer holds a reservation (an answer alone always fits).
	// Smaller answers and event streams are not counted (a stream writes at
	// most 64 KiB at a time, and has EventBudget). Default
	// DefaultAnswerBudget (64 MiB). A smaller budget turns concurrent large
	// reads away sooner. From MinAnswerBudget (64 KiB) to MaxAnswerBudget
	// (1 GiB).
	AnswerBudget int64

	// BodyReadTimeout bounds the time to read one request body, from the end of
	// its headers; a body still incomplete then gets 408 and its connection is
	// closed, so a client trickling bytes cannot hold a reservation (which is
	// given back when the answer begins, so a client that reads nothing of its
	// answer does not hold it). It bounds as well each write of an answer, at
	// most 64 KiB, after which the connection is closed: a client that stops
	// reading cannot hold the answer in memory for ever, and one that keeps
	// reading, if slowly, is sent an answer of any size, however long that
	// takes. Event streams bound their writes by 30 s of their own. Default
	// DefaultBodyReadTimeout (30s): enough for MaxBodySize at 140 KB/s. It
	// needs a ResponseWriter that supports http.ResponseController's
	// SetReadDeadline and SetWriteDeadline, as net/http's server does. From
	// MinBodyReadTimeout (1s) to MaxBodyReadTimeout (10m).
	BodyReadTimeout time.Duration

	// EventBudget is how many bytes of unsent events the event streams (GET
	// /api/v0/events) hold together, each counted as an upper bound of what
	// it costs (about 430 bytes for a change alone). The node's watches hand
	// each stream its events as soon as they merge, whatever its reader does,
	// and they wait for the reader in the stream's queue. When an event does
	// not fit, the stream whose oldest unsent event has waited longest (a
	// reader that stopped reading, or reads too slowly) is ended with an
	// "ended" event and its events dropped, so the others go on. Default
	// DefaultEventBudget (64 MiB, some 150,000 changes). A smaller budget ends
	// a lagging reader sooner. From MinEventBudget (64 KiB) to MaxEventBudget
	// (1 GiB).
	EventBudget int64

	// GraphQL bounds what one request to POST /api/v0/graphql may cost: how
	// deeply it nests, how many fields it selects, how many bytes of documents
	// its answer holds, how long it runs (see graphql.Limits). Default: the zero value, whose
	// fields each mean their default. Raising them lets one request do more
	// work and hold more memory; each is at most its ceiling
	// (graphql.CeilingMaxDepth and the others), and NewHandler refuses a
	// larger one.
	GraphQL graphql.Limits
}

// DefaultOptions returns the options NewHandler uses for a nil *Options.
func DefaultOptions() Options {
	return Options{BodyBudget: DefaultBodyBudget, AnswerBudget: DefaultAnswerBudget, BodyReadTimeout: DefaultBodyReadTimeout, EventBudget: DefaultEventBudget}
}

// withDefaults returns a copy of o with every zero field set to its default.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.BodyBudget == 0 {
		o.BodyBudget = d.BodyBudget
	}
	if o.AnswerBudget == 0 {
		o.AnswerBudget = d.AnswerBudget
	}
	if o.BodyReadTimeout == 0 {
		o.BodyReadTimeout = d.BodyReadTimeout
	}
	if o.EventBudget == 0 {
		o.EventBudget = d.EventBudget
	}
	return o
}

// validate checks o, whose zero fields are set to their defaults, naming the
// field at fault.
func (o Options) validate() error {
	if err := checkRange("BodyBudget", o.BodyBudget, MinBodyBudget, MaxBodyBudget); err != nil {
		return err
	}
	if err := checkRange("AnswerBudget", o.AnswerBudget, MinAnswerBudget, MaxAnswerBudget); err != nil {
		return err
	}
	if o.BodyReadTimeout < MinBodyReadTimeout || o.BodyReadTimeout > MaxBodyReadTimeout {
		return fmt.Errorf("httpapi: Options.BodyReadTimeout is %v: want 0 (the default) or from %v to %v",
			o.BodyReadTimeout, MinBodyReadTimeout, MaxBodyReadTimeout)
	}
	if err := checkRange("EventBudget", o.EventBudget, MinEventBudget, MaxEventBudget); err != nil {
		return err
	}
	if o.Token != "" {
		if err := checkToken(o.Token); err != nil {
			return fmt.Errorf("httpapi: Options.Token: %w", err)
		}
	}
	return nil
}

// checkRange checks that n, the budget of Options.field, is from least to
// most bytes.
func checkRange(field string, n, least, most int64) error {
	if n < least || n > most {
		return fmt.Errorf("httpapi: Options.%s is %d: want 0 (the default) or from %d to %d bytes", field, n, least, most)
	}
	return nil
}

// checkToken checks that a bearer token can travel in an HTTP header as is.
func checkToken(token string) error {
	if strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return errors.New("must be printable ASCII without spaces")
	}
	return nil
}
