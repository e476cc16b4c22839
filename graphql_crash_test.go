package gossipdb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/graphql"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// graphQLCrashChildEnv makes the test binary act as the node that
// TestGraphQLMutationCrash kills: its value is the data directory and the
// seed of its transfers, on two lines.
const graphQLCrashChildEnv = "GOSSIPDB_GRAPHQL_CRASH_CHILD"

// graphQLTransfers is how many transfers (vaultSDL) one request of
// graphQLCrashChild makes: each two updates and a create, so that a request
// has 3×graphQLTransfers mutations.
const graphQLTransfers = 8

// graphQLCrashChild is the child process of TestGraphQLMutationCrash
// (TestMain runs it when graphQLCrashChildEnv is set): it creates the vaults
// of vaultSDL in one GraphQL request on its first run, then sends requests
// of graphQLTransfers transfers each, printing "REQ moved" before each and
// "OK moved" once it answered without errors, moved being what its
// transfers moved, until it is killed.
func graphQLCrashChild(cfg string) {
	ctx := context.Background()
	dir, s, _ := strings.Cut(cfg, "\n")
	rng := rand.New(rand.NewPCG(childSeed(s), 5))
	n, cols := openChild(dir, nil, vaultSDL)
	e, err := graphql.New(n, nil)
	if err != nil {
		childFail(err)
	}
	do := func(query string) {
		resp, _, err := e.Do(ctx, client.GraphQLRequest{Query: query})
		if err == nil && len(resp.Errors) > 0 {
			err = fmt.Errorf("%s: %+v", query, resp.Errors)
		}
		if err != nil {
			childFail(err)
		}
	}
	var ids []gossipdb.DocID
	for d, err := range cols[0].Query(ctx, gossipdb.Query{Filter: gossipdb.Filter{"name": gossipdb.Filter{"_ne": vaultEntry}}}) {
		if err != nil {
			childFail(err)
		}
		ids = append(ids, d.ID)
	}
	if len(ids) == 0 {
		var q strings.Builder
		q.WriteString("mutation { create_Vault(input: [")
		for i := range vaults {
			fmt.Fprintf(&q, `{name: "v%d", balance: %d, received: 0, moved: 0}, `, i, vaultStart)
		}
		q.WriteString("]) { _docID } }")
		do(q.String())
		fmt.Println("CREATED")
		return
	}
	for {
		var q strings.Builder
		q.WriteString("mutation {")
		moved := 0
		for i := range graphQLTransfers {
			from := rng.IntN(len(ids))
			to := (from + 1 + rng.IntN(len(ids)-1)) % len(ids)
			x := 1 + rng.IntN(100)
			moved += x
			fmt.Fprintf(&q, ` d%d: update_Vault(docID: %q, input: {balance: %d}) { _docID }`, i, ids[from], -x)
			fmt.Fprintf(&q, ` c%d: update_Vault(docID: %q, input: {balance: %d, received: %d}) { _docID }`, i, ids[to], x, x)
			fmt.Fprintf(&q, ` e%d: create_Vault(input: {name: %q, balance: 0, received: 0, moved: %d}) { _docID }`, i, vaultEntry, x)
		}
		q.WriteString(" }")
		fmt.Println("REQ", moved)
		do(q.String())
		fmt.Println("OK", moved)
	}
}

// TestGraphQLMutationCrash kills with SIGKILL, at random moments
// (nodetest.Seed), a process that sends GraphQL requests of several
// transfers each (updates of two documents and a create per transfer, in
// the request's one transaction): after each restart the store is
// consistent and holds every acknowledged request whole, and of the request
// under way when the kill came all or nothing.
func TestGraphQLMutationCrash(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(nodetest.Seed(t), 37))
	dir := t.TempDir()
	run := func(round, killAfter int) (acked, inflight int64) {
		take := func(f []string) bool {
			if len(f) != 2 {
				return false
			}
			x, _ := strconv.ParseInt(f[1], 10, 64)
			switch f[0] {
			case "REQ":
				inflight = x
			case "OK":
				acked, inflight = acked+x, 0
				return true
			}
			return false
		}
		c := startChild(t, round, take, graphQLCrashChildEnv+"="+dir+"\n"+strconv.FormatUint(rng.Uint64(), 10))
		if killAfter == 0 {
			c.wait()
		} else {
			c.killAfter(killAfter)
		}
		return acked, inflight
	}
	run(-1, 0) // creates the vaults, and returns
	var moved int64
	for round := range crashRounds(5) {
		acked, inflight := run(round, 1+rng.IntN(40))
		n := reopenKilled(t, round, dir)
		b, err := readVaults(ctx, n)
		n.Close()
		if err == nil {
			err = b.whole()
		}
		if err != nil {
			t.Fatalf("round %d: after the kill: %v", round, err)
		}
		if want := moved + acked; b.moved != want && b.moved != want+inflight {
			t.Fatalf("round %d: the entries moved %d; acknowledged %d, and %d under way at the kill", round, b.moved, want, inflight)
		}
		t.Logf("round %d: %d entries moved %d; %d acknowledged, %d under way at the kill", round, b.entries, b.moved, moved+acked, inflight)
		moved = b.moved
	}
}
