package httpapi

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/gossipdb/gossipdb/client"
)

// graphQL answers POST /api/v0/graphql: {"query": "…", "variables": {…},
// "operationName": "…"} in, {"data": …, "errors": […]} out. A request refused
// before it ran (it does not parse, is invalid for the schema, is over a limit)
// gets 400 with its errors, each with its line and column; one that ran gets 200,
// with the errors of the fields that failed. A body that is not such an object
// gets the API's usual {"error": "…"}.
func (s *server) graphQL(w http.ResponseWriter, r *http.Request) {
	// The body is read whole into one buffer and decoded once; its errors are
	// told in the order of the API's other bodies: its JSON syntax, a second
	// value, its strings, then the types of its members.
	raw, err := readBody(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req client.GraphQLRequest
	typeErr, err := decodeValue(bytes.NewReader(raw), &req, false)
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
	resp, ran, err := s.gql.Do(r.Context(), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	code := http.StatusOK
	if !ran {
		code = http.StatusBadRequest
	}
	// The data is JSON already: write it as it is rather than have
	// writeJSON check and copy it again.
	var errs []byte
	if len(resp.Errors) > 0 {
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
	h := w.Header()
	h.Set(headerContentType, contentTypeJSON)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	w.Write(body)
}
