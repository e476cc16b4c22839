package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"mime"
	"net/http"
)

// Subscription sends a GraphQL subscription, such as subscription { User(filter:
// {age: {_gt: 30}}) { _docID name } }, and yields each of the node's answers:
// one for each document of the collection created or updated from then on that
// matches, {"data": {"User": [{…}]}}, and, when the node dropped changes for a
// slow reader, one with an error that counts them (see
// graphql.Executor.Subscribe). It goes on until ctx ends (it then yields
// ctx's error) or the caller stops; the node ending the stream (it shuts
// down) is an error too. A subscription refused before it ran yields one
// *APIError, with each error's line and column, as Query's. A request that is
// not a subscription runs as Query's would, and its one answer is yielded.
// An answer of more than MaxSubscriptionEvent bytes, which no node sends,
// yields an error matching ErrAnswerTooLarge. The yielded values are the
// caller's.
func (c *Client) Subscription(ctx context.Context, query string, variables map[string]any) iter.Seq2[GraphQLResponse, error] {
	return c.SubscriptionRequest(ctx, GraphQLRequest{Query: query, Variables: variables})
}

// SubscriptionRequest sends a GraphQL subscription as Subscription does,
// with its operation name: the operation to run of a request that holds
// several. It yields what Subscription yields.
func (c *Client) SubscriptionRequest(ctx context.Context, req GraphQLRequest) iter.Seq2[GraphQLResponse, error] {
	const path = "/api/v0/graphql"
	return func(yield func(GraphQLResponse, error) bool) {
		k := c.start(ctx, c.timeout)
		defer k.end()
		resp, err := c.send(k, http.MethodPost, path, "text/event-stream, "+contentTypeJSON, req, true)
		if err != nil {
			yield(GraphQLResponse{}, err)
			return
		}
		defer resp.Body.Close()
		if mt, _, _ := mime.ParseMediaType(resp.Header.Get(headerContentType)); mt != "text/event-stream" {
			// Not a subscription: the request ran once.
			var out GraphQLResponse
			dec := json.NewDecoder(newLimitedBody(resp.Body, maxAnswer))
			if err := dec.Decode(&out); err != nil {
				if ctx.Err() != nil {
					err = ctx.Err()
				} else {
					err = fmt.Errorf("bad answer from POST %s: %w", c.base+path, err)
				}
				yield(GraphQLResponse{}, err)
				return
			}
			yield(out, nil)
			return
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 64<<10), MaxSubscriptionEvent+maxFieldName)
		var data []byte
		for sc.Scan() {
			line := sc.Bytes()
			if len(line) > 0 {
				field, value, _ := bytes.Cut(line, []byte(":"))
				if string(field) == "data" {
					value = bytes.TrimPrefix(value, []byte(" "))
					if len(data)+len(value) > MaxSubscriptionEvent {
						yield(GraphQLResponse{}, fmt.Errorf("bad answer from POST %s: %w", c.base+path, tooLarge(MaxSubscriptionEvent)))
						return
					}
					data = append(data, value...)
				}
				continue
			}
			if len(data) == 0 {
				continue
			}
			var out GraphQLResponse
			if err := decodeEvent(data, &out); err != nil {
				yield(GraphQLResponse{}, fmt.Errorf("bad answer from POST %s: %w", c.base+path, err))
				return
			}
			if !yield(out, nil) {
				return
			}
			data = data[:0]
		}
		switch err := sc.Err(); {
		case ctx.Err() != nil:
			yield(GraphQLResponse{}, ctx.Err())
		case errors.Is(err, bufio.ErrTooLong):
			yield(GraphQLResponse{}, fmt.Errorf("bad answer from POST %s: %w", c.base+path, tooLarge(MaxSubscriptionEvent)))
		case err != nil:
			yield(GraphQLResponse{}, fmt.Errorf("reading the subscription from %s: %w", c.base+path, err))
		default:
			yield(GraphQLResponse{}, fmt.Errorf("the subscription from %s ended early", c.base+path))
		}
	}
}

// MaxSubscriptionEvent is the largest answer of a subscription Subscription
// reads: as large as Query reads one (see maxAnswer).
const MaxSubscriptionEvent = maxAnswer
