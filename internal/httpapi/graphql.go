package httpapi

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gossipdb/gossipdb/client"
)

// graphQL answers POST /api/v0/graphql: {"query": "…", "variables": {…},
// "operationName": "…"} in, {"data": …, "errors": […]} out. A request refused
// before it ran (it does not parse, is invalid for the schema, is over a limit)
// gets 400 with its errors, each with its line and column; one that ran gets 200,
// with the errors of the fields that failed. A body that is not such an object
// gets the API's usual {"error": "…"}. A subscription is answered with a
// stream of events (see subscription).
func (s *server) graphQL(w http.ResponseWriter, r *http.Request) {
	// The body is read whole into one buffer and decoded once; its errors are
	// told in the order of the API's other bodies: its JSON syntax, a second
	// value, a key held twice, its strings, then the types of its members.
	raw, err := readBody(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req client.GraphQLRequest
	typeErr, err := decodeValue(raw, &req, false)
	if err == nil && !goodStrings(raw) {
		err = badRequest("invalid JSON body: a string is not valid UTF-8 or holds a lone UTF-16 surrogate")
	}
	if err == nil {
		err = typeErr
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if s.gql.IsSubscription(req) {
		if err := subscriptionBody(r); err != nil {
			s.fail(w, r, err)
			return
		}
		s.subscription(w, r, req)
		return
	}
	resp, ran, err := s.gql.Do(r.Context(), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	code := http.StatusOK
	if !ran {
		code = http.StatusBadRequest
	}
	s.writeGraphQL(w, r, code, resp)
}

// writeGraphQL writes resp as the answer of a GraphQL request, with status code.
func (s *server) writeGraphQL(w http.ResponseWriter, r *http.Request, code int, resp client.GraphQLResponse) {
	// The data is JSON already: write it as it is rather than have
	// writeJSON check and copy it again.
	var errs []byte
	if len(resp.Errors) > 0 {
		var err error
		if errs, err = marshal(resp.Errors); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	// One buffer, its length announced: net/http then writes it as it is,
	// without chunking it, and the client knows where it ends.
	n := len(`{}` + "\n")
	if resp.Data != nil {
		n += len(`"data":`) + len(resp.Data)
	}
	if errs != nil {
		n += len(`,"errors":`) + len(errs)
	}
	body := make([]byte, 0, n)
	body = append(body, '{')
	if resp.Data != nil {
		body = append(body, `"data":`...)
		body = append(body, resp.Data...)
	}
	if errs != nil {
		if resp.Data != nil {
			body = append(body, ',')
		}
		body = append(body, `"errors":`...)
		body = append(body, errs...)
	}
	body = append(body, "}\n"...)
	release, ok := holdAnswer(w, len(body))
	if !ok {
		return
	}
	defer release()
	h := w.Header()
	h.Set(headerContentType, contentTypeJSON)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	w.Write(body)
}

// MaxSubscriptionBody is the most a GraphQL subscription's request may hold of
// the body budget (Options.BodyBudget), in bytes: its body's length, plus what
// its JSON takes once decoded (as any body's reservation, see heldBody). A
// subscription runs on its query and variables for as long as its stream lasts,
// so it holds its reservation until then, where other requests give theirs
// back when their answer begins. At 64 KiB, the MaxEventStreams (16)
// subscriptions that may run at once hold 1 MiB together, a quarter of
// MinBodyBudget, so that writes always find room in the budget however long
// the streams last. A filter of some hundreds of document IDs in _in still
// fits: given in the variables, each takes about 105 bytes of the budget, so
// that five hundred hold some 52 KiB; in the query, only their bytes. A larger
// subscription gets 413, naming the limit, before it runs.
const MaxSubscriptionBody = 64 << 10

// subscriptionBody gives back what r's body, read whole, reserved and did not
// take (see heldBody.trim), and refuses with 413 a body that holds more than
// MaxSubscriptionBody of the budget. A request without a reservation passes.
func subscriptionBody(r *http.Request) error {
	body, ok := r.Body.(*heldBody)
	if !ok {
		return nil
	}
	if held := body.trim(); held > MaxSubscriptionBody {
		return &requestError{code: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf(
			"a GraphQL subscription may hold at most %d bytes of the request body budget for as long as it runs"+
				" (MaxSubscriptionBody); this one's body, with what its JSON decodes to, holds %d:"+
				" send a shorter query or smaller variables", MaxSubscriptionBody, held)}
	}
	return nil
}

// subscription answers a GraphQL subscription (see graphql.Executor.Subscribe)
// with Server-Sent Events, each the data of one answer: "data: {…}\n\n",
// until the client leaves, the node closes or EndStreams is called, with
// keep-alives (KeepAliveInterval) between answers. A
// subscription refused before it runs gets 400 with its errors, as any
// request. The stream holds one watch of the collection, whose queue bounds
// what a slow reader leaves behind (gossipdb.Options.WatchBuffer; past it, an
// answer says how many changes were missed), and one answer at a time
// (graphql.Limits.MaxResultSize); a reader that takes nothing for
// streamWriteTimeout is cut off. It takes one of the MaxEventStreams slots
// and one of the MaxStreamWatches watches of GET /api/v0/events. The
// subscription runs on the request's query and variables for as long as it
// lasts, so the stream keeps the body's reservation in the body budget until
// it ends (see keepBody); graphQL has refused one that would hold more than
// MaxSubscriptionBody.
func (s *server) subscription(w http.ResponseWriter, r *http.Request, req client.GraphQLRequest) {
	defer keepBody(w)()
	if !s.streams.enter(1) {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "too many event streams, or the API is shutting down")
		return
	}
	defer s.streams.leave(1)
	ctx, cancel := s.streams.follow(r.Context())
	defer cancel()
	answers, refused, err := s.gql.Subscribe(ctx, req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if answers == nil {
		s.writeGraphQL(w, r, http.StatusBadRequest, refused)
		return
	}
	w.Header().Set(headerContentType, "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	sw := newSSEWriter(w, s.keepAlive, cancel)
	defer sw.close()
	if !sw.flush() {
		return
	}
	for resp := range answers {
		body, err := marshal(resp)
		if err != nil || !sw.event("", "", body) || !sw.flush() {
			return
		}
	}
}
