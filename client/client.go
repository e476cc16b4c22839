package client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gossipdb/gossipdb"
)

// maxErrorBody bounds how much of an error answer the client reads.
const maxErrorBody = 64 << 10

// dialTimeout bounds how long the default client waits to connect to the node.
const dialTimeout = 5 * time.Second

// maxIdleConns is how many connections to the node the default client keeps
// open between calls: one per goroutine calling at once, up to this many.
// net/http's default of 2 closes the others' connections whenever more than
// two calls end together (writes that share a sync round do), and they dial
// again.
const maxIdleConns = 64

// Headers the client sends.
const (
	headerAuthorization = "Authorization"
	headerContentType   = "Content-Type"
	contentTypeJSON     = "application/json"
	bearerPrefix        = "Bearer "
)

// ErrClosed reports a call on a Client after its Close. It is not
// gossipdb.ErrClosed, which reports a node that is shutting down.
var ErrClosed = errors.New("client: closed")

// Client calls the HTTP API of one gossipdb node. It is safe for concurrent use.
// Errors are an *APIError when the node answered with an error (it matches the
// gossipdb sentinel errors with errors.Is: 404 is ErrNotFound, and so on), an
// *UnreachableError when the node could not be reached, ErrClosed after
// Close, or the context's error.
type Client struct {
	base    string // scheme://host:port, no trailing slash
	hc      *http.Client
	own     *http.Transport // the transport New made, which Close closes; nil with Options.HTTPClient
	auth    string          // the Authorization header; "" for none
	timeout time.Duration   // Options.Timeout; 0 for none
	closed  atomic.Bool     // Close was called
}

// Options configure New. The zero value (or nil) means the defaults.
type Options struct {
	// HTTPClient sends the requests. Default nil: a client of the Client's
	// own, which gives up connecting after 5 seconds, otherwise waits as
	// long as the request's context and Timeout allow, keeps up to 64
	// connections to the node open between calls, and whose connections
	// Close closes. An HTTPClient given here remains the caller's: Close
	// closes none of its connections (its transport's CloseIdleConnections
	// does).
	HTTPClient *http.Client

	// Timeout bounds each call's wait for the node. A call whose answer is
	// read whole (Get, Create, Query, Tx, …) fails if it has not ended within
	// Timeout, its answer read included; Sync within Timeout more than its
	// own timeout. A call that streams (Changes, Subscription, DocIDs,
	// History) fails if its answer has not begun within Timeout; the stream
	// then runs as long as its context allows. The error is an
	// *UnreachableError that matches context.DeadlineExceeded and says
	// whether the request may have been applied. Default 0: no bound but the
	// context's (and 5 seconds to connect, with the default HTTPClient). A
	// negative Timeout is an error.
	Timeout time.Duration

	// Token is sent as "Authorization: Bearer <Token>" with every request, as a
	// node that needs a token wants (`gossipdb start` with --require-token or a
	// remote API keeps it in <rootdir>/api-token). Default "": no token. It
	// travels in clear text unless the address is https.
	Token string
}

// New returns a client of the node whose API is at addr: "HOST:PORT" (plain
// HTTP) or a URL "http://HOST:PORT" / "https://HOST:PORT". A nil opts means the
// defaults. The error says what is wrong with addr, opts.Token or
// opts.Timeout.
func New(addr string, opts *Options) (*Client, error) {
	base, err := ParseURL(addr)
	if err != nil {
		return nil, err
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Timeout < 0 {
		return nil, fmt.Errorf("client: Options.Timeout %v: must not be negative (0 for no bound)", o.Timeout)
	}
	c := &Client{base: base, hc: o.HTTPClient, timeout: o.Timeout}
	if c.hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DialContext = (&net.Dialer{Timeout: dialTimeout}).DialContext
		t.MaxIdleConnsPerHost = maxIdleConns
		c.hc = &http.Client{Transport: t}
		c.own = t
	}
	if o.Token != "" {
		if err := checkToken(o.Token); err != nil {
			return nil, fmt.Errorf("client: Options.Token: %w", err)
		}
		c.auth = bearerPrefix + o.Token
	}
	return c, nil
}

// ParseURL turns a node's API address, "HOST:PORT" or "http(s)://HOST:PORT", into
// the URL the client calls, such as "http://localhost:9181". A HOST without a
// scheme needs its PORT (a node serves no API on port 80 unless told to); with
// a scheme the port may be left out, as for a node behind a proxy.
func ParseURL(addr string) (string, error) {
	s := strings.TrimSpace(addr)
	if s == "" {
		return "", fmt.Errorf("empty API address: want HOST:PORT, e.g. 127.0.0.1:9181")
	}
	bare := !strings.Contains(s, "://")
	if bare {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("API address %q: want HOST:PORT or http://HOST:PORT", addr)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("API address %q: scheme must be http or https", addr)
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", fmt.Errorf("API address %q: no host; want HOST:PORT", addr)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("API address %q: want only scheme, host and port", addr)
	}
	if bare && u.Port() == "" {
		return "", fmt.Errorf("API address %q: no port; want HOST:PORT, e.g. %s", addr, net.JoinHostPort(u.Hostname(), "9181"))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
			return "", fmt.Errorf("API address %q: port %q is not a number from 1 to 65535", addr, p)
		}
	}
	return u.Scheme + "://" + u.Host, nil
}

// URL returns the base URL the client calls, such as "http://127.0.0.1:9181".
func (c *Client) URL() string { return c.base }

// Close releases what the Client holds: it closes the connections to the
// node it keeps open between calls, and ends the connects it goes on with
// after a call gave up waiting for them (net/http finishes a connect in the
// background, for a later call to use). Every call after Close fails with
// ErrClosed, without connecting. A call in flight is not interrupted: it
// completes or fails as it would have (a stream goes on until its context
// ends), and its connection is closed, not kept, once it ends. With
// Options.HTTPClient, Close closes no connection: they are the caller's.
// Close always returns nil; it is safe to call more than once, and
// concurrently with calls.
func (c *Client) Close() error {
	c.closed.Store(true)
	c.closeIdle()
	return nil
}

// closeIdle closes the idle connections of the Client's own transport and
// cancels the connects it makes for no call.
func (c *Client) closeIdle() {
	if c.own != nil {
		c.own.CloseIdleConnections()
	}
}

// APIError is an error answer from the node.
type APIError struct {
	Status     int           // the HTTP status
	Message    string        // the node's message
	RetryAfter time.Duration // when to try again (Retry-After), if the node said so: a busy node
}

// Error returns the node's message.
func (e *APIError) Error() string { return e.Message }

// Unwrap returns the gossipdb sentinel error the status stands for, if any.
func (e *APIError) Unwrap() error {
	switch e.Status {
	case http.StatusBadRequest:
		return gossipdb.ErrInvalid
	case http.StatusForbidden:
		return gossipdb.ErrForbidden
	case http.StatusNotFound:
		return gossipdb.ErrNotFound
	case http.StatusGone:
		return gossipdb.ErrDeleted
	case http.StatusConflict:
		return gossipdb.ErrSchemaConflict
	case http.StatusRequestEntityTooLarge:
		return gossipdb.ErrTooLarge
	case http.StatusServiceUnavailable:
		if e.RetryAfter == 0 { // with Retry-After, the node is busy, not closing
			return gossipdb.ErrClosed
		}
	case http.StatusInsufficientStorage:
		return gossipdb.ErrNoSpace
	case http.StatusRequestedRangeNotSatisfiable:
		return gossipdb.ErrCompacted
	}
	return nil
}

// UnreachableError reports that no answer came from the node at URL: it
// could not be reached, the connection was lost, or it did not answer within
// Options.Timeout (Err then matches context.DeadlineExceeded).
type UnreachableError struct {
	URL string
	Err error // the transport's error, or the timeout's
}

// Error says which node could not be reached and suggests why. When the
// connection was made and lost before the answer came (the node stopped or was
// killed while it handled the request), it says that the request may have
// been applied; when TLS failed before the request was sent, that it was not.
func (e *UnreachableError) Error() string {
	cause := e.Err
	if ue := (*url.Error)(nil); errors.As(cause, &ue) {
		cause = ue.Err
	}
	if strings.Contains(cause.Error(), plainAnswerToTLS) {
		return fmt.Sprintf("cannot reach gossipdb at %s over TLS: it answers plain HTTP (use http://); "+
			"the request was not sent", e.URL)
	}
	var to *timeoutError
	if errors.As(e.Err, &to) {
		if !to.connected {
			return fmt.Sprintf("cannot reach gossipdb at %s: no connection within the timeout (%v): "+
				"the request was not sent", e.URL, to.timeout)
		}
		return fmt.Sprintf("gossipdb at %s did not answer within the timeout (%v): "+
			"the request may or may not have been applied", e.URL, to.timeout)
	}
	if e.handshakeFailed() {
		return fmt.Sprintf("cannot reach gossipdb at %s over TLS (%v): the request was not sent", e.URL, cause)
	}
	if !e.dialFailed() {
		return fmt.Sprintf("lost the connection to gossipdb at %s before its answer (%v): "+
			"the request may or may not have been applied", e.URL, cause)
	}
	msg := fmt.Sprintf("cannot reach gossipdb at %s: is `gossipdb start` running?", e.URL)
	if errors.Is(e.Err, syscall.ECONNREFUSED) {
		return msg
	}
	return fmt.Sprintf("%s (%v)", msg, cause)
}

// dialFailed reports whether the error came before a connection was made, so
// that the node cannot have seen the request.
func (e *UnreachableError) dialFailed() bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.Is(e.Err, syscall.ECONNREFUSED) || errors.As(e.Err, &dns) ||
		(errors.As(e.Err, &op) && op.Op == "dial")
}

// timeoutError is the Err of an *UnreachableError when Options.Timeout passed
// before the node answered.
type timeoutError struct {
	timeout   time.Duration
	connected bool // a connection to the node was made: it may have the request
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("no answer within %v", e.timeout)
}

// Is makes the error match context.DeadlineExceeded, as a deadline of the
// caller's context would.
func (e *timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// errTimeout is the cause of a call's context canceled at Options.Timeout.
var errTimeout = errors.New("client: timeout")

// call is one request to the node, bounded by the client's timeout.
type call struct {
	c         *Client
	caller    context.Context // the caller's context
	ctx       context.Context // caller's, ended by the timeout too
	timeout   time.Duration   // 0 for none
	timer     *time.Timer     // ends ctx at the timeout; nil without one
	cancel    context.CancelCauseFunc
	connected atomic.Bool // a connection to the node was made (with a timeout)
}

// start starts a call under ctx, bounded by timeout if more than 0. The
// caller calls end once done with the answer.
func (c *Client) start(ctx context.Context, timeout time.Duration) *call {
	k := &call{c: c, caller: ctx, ctx: ctx, timeout: timeout}
	if timeout > 0 {
		k.ctx, k.cancel = context.WithCancelCause(ctx)
		k.timer = time.AfterFunc(timeout, func() { k.cancel(errTimeout) })
		k.ctx = httptrace.WithClientTrace(k.ctx, &httptrace.ClientTrace{
			GotConn: func(httptrace.GotConnInfo) { k.connected.Store(true) },
		})
	}
	return k
}

// began lifts the timeout of a call that streams, once its answer has begun.
// It returns false if the timeout passed first.
func (k *call) began() bool { return k.timer == nil || k.timer.Stop() }

// end ends the call's context. A call that ends after Close closes the
// connections idle by then: a call in flight when Close closed them may have
// connected since, and put its connection back afterwards. (Close marks the
// Client closed before it closes them, so the last of these closes follows
// every call's connect; the transport then closes any connection that becomes
// idle.)
func (k *call) end() {
	if k.timer != nil {
		k.timer.Stop()
		k.cancel(nil)
	}
	if k.c.closed.Load() {
		k.c.closeIdle()
	}
}

// err returns the error of the call that failed with err: the caller's
// context's if it ended, an *UnreachableError if the timeout passed, else err.
func (k *call) err(err error) error {
	if k.caller.Err() != nil {
		return k.caller.Err()
	}
	if k.ctx.Err() != nil && errors.Is(context.Cause(k.ctx), errTimeout) {
		return &UnreachableError{URL: k.c.base, Err: &timeoutError{timeout: k.timeout, connected: k.connected.Load()}}
	}
	return err
}

// plainAnswerToTLS is net/http's error, an errors.New, for an https URL
// whose server answered the TLS handshake in plain HTTP.
const plainAnswerToTLS = "server gave HTTP response to HTTPS client"

// handshakeFailed reports whether the TLS handshake failed (the server's
// certificate not trusted, or not TLS at all), before the request was sent.
func (e *UnreachableError) handshakeFailed() bool {
	var cert *tls.CertificateVerificationError
	var header tls.RecordHeaderError
	var alert tls.AlertError
	return errors.As(e.Err, &cert) || errors.As(e.Err, &header) || errors.As(e.Err, &alert)
}

// Unwrap returns the transport's error.
func (e *UnreachableError) Unwrap() error { return e.Err }

// Health asks whether the node is up.
func (c *Client) Health(ctx context.Context) (*Health, error) {
	var h Health
	if err := c.do(ctx, http.MethodGet, "/api/v0/health", nil, &h, maxSmallAnswer); err != nil {
		return nil, err
	}
	return &h, nil
}

// Check runs the node's integrity check of its store (Node.Check), which reads
// all of it, and returns its result. Cancelling ctx stops it.
func (c *Client) Check(ctx context.Context) (*CheckResult, error) {
	var res CheckResult
	if err := c.do(ctx, http.MethodPost, "/api/v0/check", nil, &res, maxAnswer); err != nil {
		return nil, err
	}
	return &res, nil
}

// AddCollection defines the collections of the GraphQL SDL string sdl and returns
// them in the order given.
func (c *Client) AddCollection(ctx context.Context, sdl string) ([]CollectionInfo, error) {
	var out []CollectionInfo
	err := c.do(ctx, http.MethodPost, "/api/v0/collections", AddCollectionRequest{SDL: sdl}, &out, maxAnswer)
	return out, err
}

// PatchCollection makes sdl, the whole new SDL of the type, the new version of
// collection name (see gossipdb.Collection.Patch), and says what changed.
func (c *Client) PatchCollection(ctx context.Context, name, sdl string) (*PatchResult, error) {
	var out PatchResult
	if err := c.do(ctx, http.MethodPatch, collectionPath(name), PatchCollectionRequest{SDL: sdl}, &out, maxAnswer); err != nil {
		return nil, err
	}
	return &out, nil
}

// UseVersion makes the known version with the given ID the active version of
// collection name (see gossipdb.Collection.UseVersion).
func (c *Client) UseVersion(ctx context.Context, name, version string) (*PatchResult, error) {
	var out PatchResult
	if err := c.do(ctx, http.MethodPatch, collectionPath(name), PatchCollectionRequest{Version: version}, &out, maxAnswer); err != nil {
		return nil, err
	}
	return &out, nil
}

// Grant gives author (a peer ID) role "writer" or "reader" in the restricted
// collection name, as a policy change signed by the node's key, which must be
// one of its admins (see gossipdb.Collection.Grant), and returns the policy
// after it.
func (c *Client) Grant(ctx context.Context, name, author, role string) (*PolicyInfo, error) {
	var out PolicyInfo
	if err := c.do(ctx, http.MethodPost, collectionPath(name)+"/policy/grant", GrantRequest{Author: author, Role: role}, &out, maxAnswer); err != nil {
		return nil, err
	}
	return &out, nil
}

// Revoke takes every role from author (a peer ID) in the restricted
// collection name (see gossipdb.Collection.Revoke) and returns the policy
// after it.
func (c *Client) Revoke(ctx context.Context, name, author string) (*PolicyInfo, error) {
	var out PolicyInfo
	if err := c.do(ctx, http.MethodPost, collectionPath(name)+"/policy/revoke", RevokeRequest{Author: author}, &out, maxAnswer); err != nil {
		return nil, err
	}
	return &out, nil
}

// Indexes describes the indexes of collection name, in the order they were
// created (see gossipdb.Collection.Indexes).
func (c *Client) Indexes(ctx context.Context, name string) ([]IndexInfo, error) {
	var out []IndexInfo
	if err := c.do(ctx, http.MethodGet, collectionPath(name)+"/indexes", nil, &out, maxAnswer); err != nil {
		return nil, err
	}
	return out, nil
}

// CreateIndex adds an index to collection name (see
// gossipdb.Collection.CreateIndex) and describes it: on a collection that
// holds documents it is built in the background, and Ready once built.
func (c *Client) CreateIndex(ctx context.Context, name string, req CreateIndexRequest) (*IndexInfo, error) {
	var out IndexInfo
	if err := c.do(ctx, http.MethodPost, collectionPath(name)+"/indexes", req, &out, maxAnswer); err != nil {
		return nil, err
	}
	return &out, nil
}

// DropIndex deletes the index called index of collection name (see
// gossipdb.Collection.DropIndex).
func (c *Client) DropIndex(ctx context.Context, name, index string) error {
	if index == "" {
		return fmt.Errorf("%w: empty index name", gossipdb.ErrInvalid)
	}
	return c.exec(ctx, http.MethodDelete, collectionPath(name)+"/indexes/"+url.PathEscape(index), nil)
}

// Collections describes every collection of the node, sorted by name.
func (c *Client) Collections(ctx context.Context) ([]CollectionInfo, error) {
	var out []CollectionInfo
	err := c.do(ctx, http.MethodGet, "/api/v0/collections", nil, &out, maxAnswer)
	return out, err
}

// Collection describes the collection called name.
func (c *Client) Collection(ctx context.Context, name string) (*CollectionInfo, error) {
	var out CollectionInfo
	if err := c.do(ctx, http.MethodGet, collectionPath(name), nil, &out, maxAnswer); err != nil {
		return nil, err
	}
	return &out, nil
}

// Create adds a document to the collection and returns its ID. Use json.Number
// values to pass numbers exactly.
func (c *Client) Create(ctx context.Context, collection string, fields map[string]any) (string, error) {
	if fields == nil {
		fields = map[string]any{}
	}
	var out DocIDResult
	if err := c.do(ctx, http.MethodPost, collectionPath(collection)+"/documents", fields, &out, maxSmallAnswer); err != nil {
		return "", err
	}
	return out.DocID, nil
}

// CreateMany adds documents to the collection in one transaction (all or none)
// and returns their IDs in input order.
func (c *Client) CreateMany(ctx context.Context, collection string, docs []map[string]any) ([]string, error) {
	if docs == nil {
		docs = []map[string]any{}
	}
	var out []DocIDResult
	if err := c.do(ctx, http.MethodPost, collectionPath(collection)+"/documents", docs, &out, maxListAnswer); err != nil {
		return nil, err
	}
	ids := make([]string, len(out))
	for i, r := range out {
		ids[i] = r.DocID
	}
	return ids, nil
}

// Get returns document id of the collection. Numbers in its fields are json.Number.
func (c *Client) Get(ctx context.Context, collection, id string) (*Document, error) {
	p, err := documentPath(collection, id)
	if err != nil {
		return nil, err
	}
	var out Document
	if err := c.do(ctx, http.MethodGet, p, nil, &out, maxAnswer); err != nil {
		return nil, err
	}
	return &out, nil
}

// Update sets the given fields of document id; a nil value clears a field, and a
// counter field's value is added to it.
func (c *Client) Update(ctx context.Context, collection, id string, fields map[string]any) error {
	p, err := documentPath(collection, id)
	if err != nil {
		return err
	}
	if fields == nil {
		fields = map[string]any{}
	}
	return c.exec(ctx, http.MethodPatch, p, fields)
}

// Delete deletes document id of the collection.
func (c *Client) Delete(ctx context.Context, collection, id string) error {
	p, err := documentPath(collection, id)
	if err != nil {
		return err
	}
	return c.exec(ctx, http.MethodDelete, p, nil)
}

// DocIDs streams the IDs of the collection's live documents, in ID order, as
// the node sends them: a collection of any size takes the same memory. It ends
// with an error when the node cannot be reached or refuses (an *APIError), or
// when the answer breaks off or is not an array of IDs; an ID of more than 64
// KiB, which no node sends, ends it with an error matching ErrAnswerTooLarge.
func (c *Client) DocIDs(ctx context.Context, collection string) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		path := collectionPath(collection) + "/docIDs"
		k := c.start(ctx, c.timeout)
		defer k.end()
		resp, err := c.send(k, http.MethodGet, path, contentTypeJSON, nil, true)
		if err != nil {
			yield("", err)
			return
		}
		defer resp.Body.Close()
		if err := readIDs(bufio.NewReaderSize(resp.Body, idsBuffer), yield); err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			yield("", fmt.Errorf("bad answer from GET %s: %w", c.base+path, err))
		}
	}
}

// idsBuffer is the buffer DocIDs reads an answer through, and so the bound on
// one ID of it: a longer one fails with an error matching ErrAnswerTooLarge.
// The IDs a node sends are CIDs of about 60 bytes; the answer as a whole has
// no bound, since DocIDs holds one ID at a time.
const idsBuffer = 64 << 10

// readIDs reads a JSON array of document IDs from r and yields each, as the
// node writes it: document IDs are base32, so their strings hold no escape,
// and nothing but whitespace may follow the array. It returns nil at the end
// or when yield stops, and the error of a malformed array.
func readIDs(r *bufio.Reader, yield func(string, error) bool) error {
	next := func() (byte, error) { // the next byte that is not whitespace
		for {
			b, err := r.ReadByte()
			if err != nil || (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
				return b, err
			}
		}
	}
	unexpected := func(b byte, err error, want string) error {
		if err == io.EOF {
			return fmt.Errorf("the array of IDs breaks off: want %s", want)
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("%q where the array of IDs wants %s", b, want)
	}
	if b, err := next(); b != '[' || err != nil {
		return unexpected(b, err, "[")
	}
	b, err := next()
	for b != ']' || err != nil {
		if b != '"' || err != nil {
			return unexpected(b, err, `an ID in ""`)
		}
		id, rerr := r.ReadSlice('"')
		switch {
		case errors.Is(rerr, bufio.ErrBufferFull):
			return fmt.Errorf("%w: an ID of more than %d bytes", ErrAnswerTooLarge, idsBuffer)
		case rerr != nil:
			return unexpected(0, rerr, `the end of an ID`)
		}
		id = id[:len(id)-1]
		if i := bytes.IndexFunc(id, func(r rune) bool { return r == '\\' || r < ' ' }); i >= 0 {
			return fmt.Errorf("an ID with %q, which no document ID holds", id[i])
		}
		if !yield(string(id), nil) {
			return nil
		}
		switch b, err = next(); {
		case b == ',' && err == nil:
			b, err = next()
			if b == ']' && err == nil {
				return unexpected(b, err, `an ID after ","`)
			}
		case b != ']' || err != nil:
			return unexpected(b, err, `"," or "]"`)
		}
	}
	if b, err := next(); err != io.EOF {
		return unexpected(b, err, "nothing after the array")
	}
	return nil
}

// Query runs a GraphQL request in DefraDB's query language, such as
// `{ User(filter: {age: {_gt: 30}}) { _docID name } }`, with the values of its
// $variables (nil for none), and returns the node's answer: the data, and the
// errors of the fields that failed. Numbers in Data are json.Number. A request
// the node refused before running it (it does not parse, names an unknown
// collection, field or operator, gives a value of the wrong type, or is over a
// limit) fails with an *APIError (400, ErrInvalid) whose message gives each
// error's line and column: "1:9: syntax error: Expected Name, found EOF".
func (c *Client) Query(ctx context.Context, query string, variables map[string]any) (*GraphQLResponse, error) {
	return c.Request(ctx, GraphQLRequest{Query: query, Variables: variables})
}

// Request runs a GraphQL request as Query does, with its operation name: the
// operation to run of a request that holds several (`query A { … } query B
// { … }`). It fails as Query does, and with an *APIError (400) when no
// operation has that name, or none is given and the request has several.
func (c *Client) Request(ctx context.Context, req GraphQLRequest) (*GraphQLResponse, error) {
	var out GraphQLResponse
	if err := c.do(ctx, http.MethodPost, "/api/v0/graphql", req, &out, maxAnswer); err != nil {
		return nil, err
	}
	return &out, nil
}

// PeerInfo returns the node's addresses as full multiaddrs ending in /p2p/<peer ID>.
func (c *Client) PeerInfo(ctx context.Context) ([]string, error) {
	var out []string
	err := c.do(ctx, http.MethodGet, "/api/v0/p2p/info", nil, &out, maxListAnswer)
	return out, err
}

// Connect makes the node connect to the peer at addr, a full multiaddr.
func (c *Client) Connect(ctx context.Context, addr string) error {
	return c.exec(ctx, http.MethodPost, "/api/v0/p2p/peers", ConnectRequest{Addr: addr})
}

// ActivePeers returns the node's connected peers as full multiaddrs.
func (c *Client) ActivePeers(ctx context.Context) ([]string, error) {
	var out []string
	err := c.do(ctx, http.MethodGet, "/api/v0/p2p/peers", nil, &out, maxListAnswer)
	return out, err
}

// KnownPeers returns the node's connected peers, then the last
// gossipdb.MaxKnownPeers peers that were connected since it started and no
// longer are, the one that left last first.
func (c *Client) KnownPeers(ctx context.Context) ([]KnownPeer, error) {
	var out []KnownPeer
	err := c.do(ctx, http.MethodGet, "/api/v0/p2p/known-peers", nil, &out, maxListAnswer)
	return out, err
}

// Subscribe makes the node receive the named collections' changes from peers.
func (c *Client) Subscribe(ctx context.Context, names ...string) error {
	return c.exec(ctx, http.MethodPost, "/api/v0/p2p/collections", nonNil(names))
}

// Unsubscribe stops the node receiving the named collections' changes.
func (c *Client) Unsubscribe(ctx context.Context, names ...string) error {
	return c.exec(ctx, http.MethodDelete, "/api/v0/p2p/collections", nonNil(names))
}

// Subscriptions returns the names of the collections the node is subscribed to.
func (c *Client) Subscriptions(ctx context.Context) ([]string, error) {
	var out []string
	err := c.do(ctx, http.MethodGet, "/api/v0/p2p/collections", nil, &out, maxListAnswer)
	return out, err
}

// Conflicts returns the values document id's fields lost to concurrent
// writes (see gossipdb.Collection.Conflicts).
func (c *Client) Conflicts(ctx context.Context, collection, id string) ([]Conflict, error) {
	path, err := documentPath(collection, id)
	if err != nil {
		return nil, err
	}
	var out struct {
		Conflicts []Conflict `json:"_conflicts"`
	}
	if err := c.do(ctx, http.MethodGet, path+"?conflicts=true", nil, &out, maxAnswer); err != nil {
		return nil, err
	}
	return out.Conflicts, nil
}

// GetAt returns document id as it was at its block blockCID (see
// gossipdb.Collection.GetAt): a block that is not one of the document's is
// a 404 *APIError, a document deleted at that block a 410.
func (c *Client) GetAt(ctx context.Context, collection, id, blockCID string) (*Document, error) {
	p, err := documentPath(collection, id)
	if err != nil {
		return nil, err
	}
	var out Document
	if err := c.do(ctx, http.MethodGet, p+"?at="+url.QueryEscape(blockCID), nil, &out, maxAnswer); err != nil {
		return nil, err
	}
	return &out, nil
}

// History iterates over document id's blocks, newest first (see
// gossipdb.Collection.History). It reads the node's answer as it comes, one
// block at a time, so a long history is never held whole; a block of more
// than 64 MiB of JSON, which no node sends, ends it with an error matching
// ErrAnswerTooLarge.
func (c *Client) History(ctx context.Context, collection, id string) iter.Seq2[BlockInfo, error] {
	return func(yield func(BlockInfo, error) bool) {
		p, err := documentPath(collection, id)
		if err != nil {
			yield(BlockInfo{}, err)
			return
		}
		p += "/history"
		k := c.start(ctx, c.timeout)
		defer k.end()
		resp, err := c.send(k, http.MethodGet, p, contentTypeJSON, nil, true)
		if err != nil {
			yield(BlockInfo{}, err)
			return
		}
		defer resp.Body.Close()
		fail := func(err error) {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			yield(BlockInfo{}, fmt.Errorf("bad answer from GET %s: %w", c.base+p, err))
		}
		body := newLimitedBody(resp.Body, maxAnswer)
		dec := json.NewDecoder(body)
		dec.UseNumber()
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			fail(fmt.Errorf("want a JSON array, got %v (%v)", t, err))
			return
		}
		for dec.More() {
			var b BlockInfo
			if err := dec.Decode(&b); err != nil {
				fail(err)
				return
			}
			body.reset()
			if !yield(b, nil) {
				return
			}
		}
		if _, err := dec.Token(); err != nil {
			fail(err)
		}
	}
}

// StartSync starts catch-up of the collection with every connected gossipdb
// peer and returns at once; SyncStatus shows its progress.
func (c *Client) StartSync(ctx context.Context, collection string) error {
	return c.exec(ctx, http.MethodPost, collectionPath(collection)+"/sync", nil)
}

// Sync reconciles the collection with every connected gossipdb peer that has
// it and returns once the node holds everything they held, or once timeout (at
// most 10 minutes) has passed, which fails. A peer whose session failed makes
// Synced false and says why in its PeerSyncInfo.Error. With Options.Timeout,
// the call waits for the node's answer at most timeout plus Options.Timeout.
func (c *Client) Sync(ctx context.Context, collection string, timeout time.Duration) (*SyncResult, error) {
	var out SyncResult
	path := collectionPath(collection) + "/sync?wait=true&timeout=" + url.QueryEscape(timeout.String())
	bound := c.timeout
	if bound > 0 {
		bound += timeout
	}
	k := c.start(ctx, bound)
	defer k.end()
	if err := c.doCall(k, http.MethodPost, path, nil, &out, maxListAnswer); err != nil {
		return nil, err
	}
	return &out, nil
}

// SyncStatus reports catch-up of the collection: sessions running, documents
// still to pull and the last session with each peer.
func (c *Client) SyncStatus(ctx context.Context, collection string) (*SyncInfo, error) {
	var out SyncInfo
	if err := c.do(ctx, http.MethodGet, collectionPath(collection)+"/sync", nil, &out, maxListAnswer); err != nil {
		return nil, err
	}
	return &out, nil
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// checkToken checks that a bearer token can travel in an HTTP header as is.
func checkToken(token string) error {
	if strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return errors.New("must be printable ASCII without spaces")
	}
	return nil
}

func collectionPath(name string) string {
	return "/api/v0/collections/" + url.PathEscape(name)
}

func documentPath(collection, id string) (string, error) {
	if id == "" {
		return "", fmt.Errorf("%w: empty document ID", gossipdb.ErrInvalid)
	}
	return collectionPath(collection) + "/documents/" + url.PathEscape(id), nil
}

// Tx applies ops in order in one transaction on the node: all of them or, on
// error, none. It returns the document ID of each operation (for a create, the
// new document's). An operation at fault fails the whole request with a
// 400 *Error naming it ("op 3: …"); more than MaxTxOps operations too.
func (c *Client) Tx(ctx context.Context, ops []TxOp) ([]string, error) {
	if ops == nil {
		ops = []TxOp{}
	}
	var out TxResult
	if err := c.do(ctx, http.MethodPost, "/api/v0/tx", TxRequest{Ops: ops}, &out, maxListAnswer); err != nil {
		return nil, err
	}
	ids := make([]string, len(out.Results))
	for i, r := range out.Results {
		ids[i] = r.DocID
	}
	return ids, nil
}

// exec sends a request with body (if not nil) encoded as JSON whose answer
// holds nothing to read, such as 204 No Content.
func (c *Client) exec(ctx context.Context, method, path string, body any) error {
	k := c.start(ctx, c.timeout)
	defer k.end()
	resp, err := c.send(k, method, path, contentTypeJSON, body, false)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	return nil
}

// do sends a request with body (if not nil) encoded as JSON and decodes a
// successful answer into out. An answer of more than limit bytes fails with
// an error matching ErrAnswerTooLarge, once the client has read limit bytes
// of it, or at once when its Content-Length says so.
func (c *Client) do(ctx context.Context, method, path string, body, out any, limit int64) error {
	k := c.start(ctx, c.timeout)
	defer k.end()
	return c.doCall(k, method, path, body, out, limit)
}

// doCall is do for the call k.
func (c *Client) doCall(k *call, method, path string, body, out any, limit int64) error {
	resp, err := c.send(k, method, path, contentTypeJSON, body, false)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.ContentLength > limit {
		return fmt.Errorf("bad answer from %s %s: %w", method, c.base+path, tooLarge(limit))
	}
	dec := json.NewDecoder(newLimitedBody(resp.Body, limit))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		if k.ctx.Err() != nil {
			return k.err(k.ctx.Err())
		}
		return fmt.Errorf("bad answer from %s %s: %w", method, c.base+path, err)
	}
	return nil
}

// send sends a request with body (JSON, none if nil) that accepts an answer of
// type accept, and returns the answer of a 2xx status, whose body the caller
// closes; any other status is an error (*APIError), as is a node that cannot
// be reached or does not answer within k's timeout (*UnreachableError), and
// a closed Client (ErrClosed). With stream, the timeout ends once the answer
// has begun: the caller reads a stream of any length.
func (c *Client) send(k *call, method, path, accept string, body any, stream bool) (*http.Response, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	var rd io.Reader
	if body != nil {
		data, err := marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(k.ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	if c.auth != "" {
		req.Header.Set(headerAuthorization, c.auth)
	}
	if body != nil {
		req.Header.Set(headerContentType, contentTypeJSON)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if k.ctx.Err() != nil {
			return nil, k.err(k.ctx.Err())
		}
		return nil, &UnreachableError{URL: c.base, Err: err}
	}
	if stream && !k.began() {
		resp.Body.Close()
		return nil, k.err(k.ctx.Err())
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, readError(resp)
	}
	return resp, nil
}

// tlsAnswerToPlain begins net/http's answer (400) to a plain HTTP request
// made to a server that serves TLS.
const tlsAnswerToPlain = "Client sent an HTTP request to an HTTPS server"

// readError turns an error answer into an *APIError.
func readError(resp *http.Response) error {
	var retry time.Duration
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		retry = time.Duration(secs) * time.Second
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var refused GraphQLResponse
	if json.Unmarshal(data, &refused) == nil && len(refused.Errors) > 0 {
		// A GraphQL request refused before it ran.
		msgs := make([]string, len(refused.Errors))
		for i, e := range refused.Errors {
			msgs[i] = e.Error()
		}
		return &APIError{Status: resp.StatusCode, Message: strings.Join(msgs, "; "), RetryAfter: retry}
	}
	var body ErrorBody
	if err := json.Unmarshal(data, &body); err != nil || body.Error == "" {
		hint := "is it a gossipdb node?"
		if bytes.Contains(data, []byte(tlsAnswerToPlain)) {
			hint = "it serves HTTPS: use https://"
		}
		return &APIError{Status: resp.StatusCode, RetryAfter: retry, Message: fmt.Sprintf("%s %s answered %s: %s",
			resp.Request.Method, resp.Request.URL, resp.Status, hint)}
	}
	return &APIError{Status: resp.StatusCode, Message: body.Error, RetryAfter: retry}
}
