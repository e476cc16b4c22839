package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/httpapi"
)

// benchDocs is how many documents BenchmarkGraphQLOverhead's node holds: the
// overhead of a request does not depend on it, only the query's own work does,
// which both sides share.
const benchDocs = 20_000

const indexedUserSDL = `type User { name: String @index age: Int @index verified: Boolean points: Float }`

// BenchmarkGraphQLOverhead compares the same queries through POST
// /api/v0/graphql and through the Go API on a node on disk with indexes on name
// and age, and reports the p50 of each and their difference: the overhead of a
// request. "handler" calls the API's handler in the process (guard, JSON body,
// parse or cache, execution, JSON answer); "loopback" sends it with net/http's
// Client over TCP to 127.0.0.1, as a client on the same machine does, and
// "conn" with a client that reads the answer on its own goroutine, as curl
// does (connClient; net/http's Transport adds two goroutine wake-ups to each
// request). The two sides are
// timed one after the other, request by request, so that load on the machine
// weighs on both alike.
func BenchmarkGraphQLOverhead(b *testing.B) {
	n, err := gossipdb.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Close() })
	ctx := context.Background()
	cols, err := n.AddCollection(ctx, indexedUserSDL)
	if err != nil {
		b.Fatal(err)
	}
	users := cols[0]
	for lo := 0; lo < benchDocs; lo += 1000 {
		docs := make([]map[string]any, 1000)
		for i := range docs {
			k := lo + i
			docs[i] = map[string]any{"name": fmt.Sprintf("user-%d", k%1000), "age": k % 100, "verified": k%2 == 0, "points": float64(k) / 10}
		}
		if _, err := users.CreateMany(ctx, docs); err != nil {
			b.Fatal(err)
		}
	}
	h, err := httpapi.NewHandler(n, nil)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	conn := dialConn(b, srv)

	cases := []struct {
		name    string
		graphql string
		goAPI   func() error
	}{
		{"equality-20", `{ User(filter: {name: {_eq: "user-7"}}) { _docID name age verified points } }`, func() error {
			return drain(users.Query(ctx, gossipdb.Query{Filter: gossipdb.Filter{"name": gossipdb.Filter{"_eq": "user-7"}}}))
		}},
		{"range-ordered-20", `{ User(filter: {age: {_gt: 30}}, order: {age: ASC}, limit: 20) { _docID name age verified points } }`, func() error {
			return drain(users.Query(ctx, gossipdb.Query{Filter: gossipdb.Filter{"age": gossipdb.Filter{"_gt": 30}},
				Order: []gossipdb.Order{{Field: "age"}}, Limit: 20}))
		}},
		{"count", `{ _count(User: {filter: {age: {_eq: 5}}}) }`, func() error {
			_, err := users.Count(ctx, gossipdb.Filter{"age": gossipdb.Filter{"_eq": 5}})
			return err
		}},
	}
	for _, c := range cases {
		body, _ := json.Marshal(client.GraphQLRequest{Query: c.graphql})
		viaHandler := func() error {
			req := httptest.NewRequest("POST", srv.URL+"/api/v0/graphql", bytes.NewReader(body))
			req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, srv.Listener.Addr()))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), `"errors"`) {
				return fmt.Errorf("status %d: %s", rec.Code, rec.Body)
			}
			return nil
		}
		viaLoopback := func() error {
			resp, err := srv.Client().Post(srv.URL+"/api/v0/graphql", "application/json", bytes.NewReader(body))
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			data, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != http.StatusOK || bytes.Contains(data, []byte(`"errors"`)) {
				return fmt.Errorf("status %d: %s %v", resp.StatusCode, data, err)
			}
			return nil
		}
		viaConn := func() error {
			status, data, err := conn.post(srv.URL+"/api/v0/graphql", body)
			if err != nil || status != http.StatusOK || bytes.Contains(data, []byte(`"errors"`)) {
				return fmt.Errorf("status %d: %s %v", status, data, err)
			}
			return nil
		}
		for _, via := range []struct {
			name string
			call func() error
		}{{"handler", viaHandler}, {"loopback", viaLoopback}, {"conn", viaConn}} {
			b.Run(c.name+"/"+via.name, func(b *testing.B) {
				var goTimes, gqlTimes []time.Duration
				var goCPU, gqlCPU time.Duration
				for b.Loop() {
					cpu0, start := cpuTime(b), time.Now()
					if err := c.goAPI(); err != nil {
						b.Fatal(err)
					}
					cpu1, mid := cpuTime(b), time.Now()
					if err := via.call(); err != nil {
						b.Fatal(err)
					}
					end, cpu2 := time.Now(), cpuTime(b)
					goTimes = append(goTimes, mid.Sub(start))
					gqlTimes = append(gqlTimes, end.Sub(mid))
					goCPU += cpu1 - cpu0
					gqlCPU += cpu2 - cpu1
				}
				goP50, gqlP50 := p50(goTimes), p50(gqlTimes)
				b.ReportMetric(float64(goP50.Microseconds()), "go-p50-µs")
				b.ReportMetric(float64(gqlP50.Microseconds()), "graphql-p50-µs")
				b.ReportMetric(float64((gqlP50 - goP50).Microseconds()), "overhead-p50-µs")
				// CPU time of the whole process: less swayed by other jobs on
				// the machine than wall time, and it counts the work on every
				// goroutine a request uses.
				b.ReportMetric(float64((gqlCPU-goCPU).Microseconds())/float64(len(goTimes)), "overhead-cpu-µs")
			})
		}
	}
}

func drain(seq func(func(*gossipdb.Document, error) bool)) error {
	for _, err := range seq {
		if err != nil {
			return err
		}
	}
	return nil
}

func p50(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// cpuTime returns the CPU time (user and system) the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
