package gossipdb_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// TestEveryMethodAfterClose calls every exported method of Node and Collection on
// a closed node. Methods that return an error must return ErrClosed, whatever
// their arguments (bad ones and a cancelled context included); the others return
// what the Node and Collection docs promise. The tables must name every method of
// both types, so that a new method cannot be added without deciding here what it
// does after Close.
func TestEveryMethodAfterClose(t *testing.T) {
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()

	n := nodetest.Open(t, "", nil)
	peer := nodetest.Open(t, "", nil)
	users := nodetest.AddUser(t, n)[0]
	peerUsers := nodetest.AddUser(t, peer)[0]
	nodetest.Subscribe(t, "User", n)
	nodetest.Connect(t, n, peer)
	// A document from the peer gives the node counters that must survive Close.
	id, err := peerUsers.Create(ctx, map[string]any{"name": "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 10*time.Second, func() error {
		_, err := users.Get(ctx, id)
		return err
	})
	heads, err := users.Heads(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	open, err := users.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nodeID, name, schemaID, fields := n.ID(), users.Name(), users.SchemaID(), users.Fields()
	for _, live := range [][]string{n.PeerInfo(), n.ActivePeers(), n.Subscriptions()} {
		if len(live) == 0 {
			t.Fatalf("open node: PeerInfo %v, ActivePeers %v, Subscriptions %v; want each non-empty",
				n.PeerInfo(), n.ActivePeers(), n.Subscriptions())
		}
	}

	if err := n.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	metrics := n.Metrics()
	if metrics.MergedBlocks == 0 {
		t.Fatalf("Metrics after Close = %+v, want the counters of the open node (a merged block)", metrics)
	}

	closed := func(t *testing.T, what string, err error) {
		t.Helper()
		if !errors.Is(err, gossipdb.ErrClosed) {
			t.Errorf("%s after Close: error %v, want ErrClosed", what, err)
		}
	}
	empty := func(t *testing.T, what string, got any) {
		t.Helper()
		if v := reflect.ValueOf(got); !v.IsNil() {
			t.Errorf("%s after Close = %v, want nil", what, got)
		}
	}
	// changesClosed checks that a change-feed iteration yields ErrClosed once
	// and nothing else.
	changesClosed := func(t *testing.T, name string, seq iter.Seq2[gossipdb.Change, error]) {
		t.Helper()
		var errs []error
		for ch, err := range seq {
			if err == nil {
				t.Errorf("%s after Close yielded change %+v", name, ch)
			}
			errs = append(errs, err)
		}
		if len(errs) != 1 {
			t.Errorf("%s after Close yielded %d errors %v, want one", name, len(errs), errs)
			return
		}
		closed(t, name, errs[0])
	}

	nodeMethods := map[string]func(t *testing.T){
		"ActivePeers": func(t *testing.T) { empty(t, "ActivePeers", n.ActivePeers()) },
		"KnownPeers":  func(t *testing.T) { empty(t, "KnownPeers", n.KnownPeers()) },
		"WatchBatches": func(t *testing.T) {
			ch, err := n.WatchBatches(ctx, 8)
			closed(t, "Node.WatchBatches", err)
			if ch != nil {
				t.Errorf("Node.WatchBatches after Close returned a channel")
			}
		},
		"AddCollection": func(t *testing.T) {
			_, err := n.AddCollection(ctx, `type Post { title: String }`)
			closed(t, "AddCollection", err)
			_, err = n.AddCollection(cancelled, `type {`)
			closed(t, "AddCollection of bad SDL", err)
		},
		"Check": func(t *testing.T) {
			closed(t, "Check", n.Check(ctx))
			closed(t, "Check with a cancelled context", n.Check(cancelled))
		},
		"Close": func(t *testing.T) {
			if err := n.Close(); err != nil {
				t.Errorf("second Close = %v, want the first one's nil", err)
			}
		},
		"Collection": func(t *testing.T) {
			_, err := n.Collection("User")
			closed(t, "Collection", err)
			_, err = n.Collection("Nope")
			closed(t, "Collection of an unknown name", err)
		},
		"Collections": func(t *testing.T) { empty(t, "Collections", n.Collections()) },
		"ChangesPosition": func(t *testing.T) {
			_, err := n.ChangesPosition()
			closed(t, "ChangesPosition", err)
		},
		"Connect": func(t *testing.T) {
			closed(t, "Connect", n.Connect(ctx, peer.PeerInfo()[0]))
			closed(t, "Connect to a bad address", n.Connect(cancelled, "nonsense"))
		},
		"Disconnect": func(t *testing.T) {
			closed(t, "Disconnect", n.Disconnect(ctx, peer.ID()))
			closed(t, "Disconnect of a bad peer ID", n.Disconnect(cancelled, "nonsense"))
		},
		"Update": func(t *testing.T) {
			ran := false
			closed(t, "Update", n.Update(ctx, func(*gossipdb.Txn) error { ran = true; return nil }))
			closed(t, "Update with a cancelled context", n.Update(cancelled, func(*gossipdb.Txn) error { ran = true; return nil }))
			closed(t, "Update of no function", n.Update(ctx, nil))
			if ran {
				t.Error("Update after Close ran its function")
			}
		},
		"View": func(t *testing.T) {
			ran := false
			closed(t, "View", n.View(ctx, func(*gossipdb.Txn) error { ran = true; return nil }))
			if ran {
				t.Error("View after Close ran its function")
			}
		},
		"ID": func(t *testing.T) {
			if got := n.ID(); got != nodeID {
				t.Errorf("ID after Close = %q, want %q", got, nodeID)
			}
		},
		"Collector": func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			if err := reg.Register(n.Collector()); err != nil {
				t.Fatalf("Register after Close: %v", err)
			}
			families, err := reg.Gather()
			if err != nil {
				t.Fatalf("Gather after Close: %v", err)
			}
			for _, f := range families {
				if f.GetName() == "gossipdb_collection_documents" {
					t.Errorf("Collector after Close still reports %s, which describes the running node", f.GetName())
				}
			}
			if len(families) == 0 {
				t.Error("Collector after Close collects nothing; want the final counters")
			}
		},
		"Metrics": func(t *testing.T) {
			if got := n.Metrics(); got != metrics {
				t.Errorf("Metrics after Close = %+v, then %+v", metrics, got)
			}
		},
		"PeerInfo": func(t *testing.T) { empty(t, "PeerInfo", n.PeerInfo()) },
		"Subscribe": func(t *testing.T) {
			closed(t, "Subscribe", n.Subscribe(ctx, "User"))
			closed(t, "Subscribe to an unknown name", n.Subscribe(cancelled, "Nope"))
		},
		"Subscriptions": func(t *testing.T) { empty(t, "Subscriptions", n.Subscriptions()) },
		"StartSync": func(t *testing.T) {
			closed(t, "StartSync", n.StartSync(ctx, "User"))
			closed(t, "StartSync of an unknown name", n.StartSync(cancelled, "Nope"))
		},
		"Sync": func(t *testing.T) {
			st, err := n.Sync(ctx, "User")
			closed(t, "Sync", err)
			empty(t, "Sync", st)
			_, err = n.Sync(cancelled, "Nope")
			closed(t, "Sync of an unknown name", err)
		},
		"SyncStatus": func(t *testing.T) {
			_, err := n.SyncStatus("User")
			closed(t, "SyncStatus", err)
			_, err = n.SyncStatus("Nope")
			closed(t, "SyncStatus of an unknown name", err)
		},
		"TopicPeers": func(t *testing.T) {
			_, err := n.TopicPeers("User")
			closed(t, "TopicPeers", err)
			_, err = n.TopicPeers("Nope")
			closed(t, "TopicPeers of an unknown name", err)
		},
		"Unsubscribe": func(t *testing.T) {
			closed(t, "Unsubscribe", n.Unsubscribe(ctx, "User"))
			closed(t, "Unsubscribe from an unknown name", n.Unsubscribe(cancelled, "Nope"))
		},
	}

	collectionMethods := map[string]func(t *testing.T){
		"Block": func(t *testing.T) {
			_, err := users.Block(ctx, heads[0])
			closed(t, "Block", err)
			_, err = users.Block(cancelled, "nonsense")
			closed(t, "Block of a bad CID", err)
		},
		"Create": func(t *testing.T) {
			_, err := users.Create(ctx, map[string]any{"name": "Bob"})
			closed(t, "Create", err)
			_, err = users.Create(cancelled, map[string]any{"nope": 1})
			closed(t, "Create with an unknown field", err)
		},
		"CreateMany": func(t *testing.T) {
			_, err := users.CreateMany(ctx, []map[string]any{{"name": "Bob"}})
			closed(t, "CreateMany", err)
			_, err = users.CreateMany(cancelled, nil)
			closed(t, "CreateMany of no documents", err)
		},
		"Delete": func(t *testing.T) {
			closed(t, "Delete", users.Delete(ctx, id))
			closed(t, "Delete of a bad ID", users.Delete(cancelled, "nonsense"))
		},
		"Fields": func(t *testing.T) {
			if got := users.Fields(); !slices.Equal(got, fields) {
				t.Errorf("Fields after Close = %v, want %v", got, fields)
			}
		},
		"Find": func(t *testing.T) {
			for _, where := range []gossipdb.Where{nil, {"nope": 1}} {
				var errs []error
				for d, err := range users.Find(ctx, where) {
					if d != nil {
						t.Errorf("Find(%v) after Close yielded document %v", where, d)
					}
					errs = append(errs, err)
				}
				if len(errs) != 1 {
					t.Errorf("Find(%v) after Close yielded %d errors %v, want one", where, len(errs), errs)
					continue
				}
				closed(t, "Find", errs[0])
			}
		},
		"DocIDs": func(t *testing.T) {
			var errs []error
			for id, err := range users.DocIDs(ctx) {
				if id != "" {
					t.Errorf("DocIDs after Close yielded %s", id)
				}
				errs = append(errs, err)
			}
			if len(errs) != 1 {
				t.Fatalf("DocIDs after Close yielded %d errors %v, want one", len(errs), errs)
			}
			closed(t, "DocIDs", errs[0])
		},
		"Changes": func(t *testing.T) {
			for _, c := range []context.Context{ctx, cancelled} {
				changesClosed(t, "Changes", users.Changes(c, 1<<40))
			}
		},
		"ChangesTo": func(t *testing.T) {
			changesClosed(t, "ChangesTo", users.ChangesTo(ctx, 0, 1))
		},
		"Query": func(t *testing.T) {
			for _, q := range []gossipdb.Query{{}, {Filter: gossipdb.Filter{"nope": 1}}} {
				var errs []error
				for d, err := range users.Query(ctx, q) {
					if d != nil {
						t.Errorf("Query(%v) after Close yielded document %v", q, d)
					}
					errs = append(errs, err)
				}
				if len(errs) != 1 {
					t.Errorf("Query(%v) after Close yielded %d errors %v, want one", q, len(errs), errs)
					continue
				}
				closed(t, "Query", errs[0])
			}
		},
		"Related": func(t *testing.T) {
			for _, field := range []string{"name", "nope"} {
				var errs []error
				for d, err := range users.Related(ctx, id, field, gossipdb.Query{}) {
					if d != nil {
						t.Errorf("Related(%q) after Close yielded document %v", field, d)
					}
					errs = append(errs, err)
				}
				if len(errs) != 1 {
					t.Errorf("Related(%q) after Close yielded %d errors %v, want one", field, len(errs), errs)
					continue
				}
				closed(t, "Related", errs[0])
			}
		},
		"RelatedQuery": func(t *testing.T) {
			c, _, err := users.RelatedQuery(id, "name", gossipdb.Query{})
			closed(t, "RelatedQuery", err)
			if c != nil {
				t.Errorf("RelatedQuery after Close returned collection %s", c.Name())
			}
			_, _, err = users.RelatedQuery("nonsense", "nope", gossipdb.Query{Limit: -1})
			closed(t, "RelatedQuery of a bad ID", err)
		},
		"Count": func(t *testing.T) {
			_, err := users.Count(ctx, nil)
			closed(t, "Count", err)
			_, err = users.Count(cancelled, gossipdb.Filter{"nope": 1})
			closed(t, "Count with an unknown field", err)
		},
		"Aggregate": func(t *testing.T) {
			_, err := users.Aggregate(ctx, nil, gossipdb.Max, "age")
			closed(t, "Aggregate", err)
			_, err = users.Aggregate(cancelled, nil, "nope", "nope")
			closed(t, "Aggregate of an unknown op", err)
		},
		"Explain": func(t *testing.T) {
			_, err := users.Explain(ctx, gossipdb.Query{})
			closed(t, "Explain", err)
			_, err = users.Explain(cancelled, gossipdb.Query{Limit: -1})
			closed(t, "Explain of a bad query", err)
		},
		"Cursor": func(t *testing.T) {
			_, err := users.Cursor(gossipdb.Query{}, &gossipdb.Document{ID: id})
			closed(t, "Cursor", err)
		},
		"ItemFilter": func(t *testing.T) {
			_, err := users.ItemFilter("nope", gossipdb.Filter{"_eq": 1})
			closed(t, "ItemFilter of an unknown field", err)
		},
		"CreateIndex": func(t *testing.T) {
			_, err := users.CreateIndex(ctx, "", gossipdb.Order{Field: "age"})
			closed(t, "CreateIndex", err)
			_, err = users.CreateIndex(cancelled, "", gossipdb.Order{Field: "nope"})
			closed(t, "CreateIndex of an unknown field", err)
		},
		"DropIndex": func(t *testing.T) {
			closed(t, "DropIndex", users.DropIndex(ctx, "nope"))
		},
		"Indexes": func(t *testing.T) {
			if got := users.Indexes(); got != nil {
				t.Errorf("Indexes after Close = %v, want nil", got)
			}
		},
		"Fingerprint": func(t *testing.T) {
			_, err := users.Fingerprint(ctx)
			closed(t, "Fingerprint", err)
			_, err = users.Fingerprint(cancelled)
			closed(t, "Fingerprint with a cancelled context", err)
		},
		"Get": func(t *testing.T) {
			_, err := users.Get(ctx, id)
			closed(t, "Get", err)
			_, err = users.Get(cancelled, "nonsense")
			closed(t, "Get of a bad ID", err)
		},
		"Conflicts": func(t *testing.T) {
			got, err := users.Conflicts(ctx, id)
			closed(t, "Conflicts", err)
			empty(t, "Conflicts", got)
		},
		"GetAt": func(t *testing.T) {
			_, err := users.GetAt(ctx, id, string(id))
			closed(t, "GetAt", err)
			_, err = users.GetAt(cancelled, "nonsense", "nonsense")
			closed(t, "GetAt of a bad ID", err)
		},
		"BlockInfo": func(t *testing.T) {
			_, err := users.BlockInfo(ctx, id, string(id))
			closed(t, "BlockInfo", err)
			_, err = users.BlockInfo(cancelled, "nonsense", "nonsense")
			closed(t, "BlockInfo of a bad ID", err)
		},
		"History": func(t *testing.T) {
			for _, c := range []context.Context{ctx, cancelled} {
				var errs []error
				for b, err := range users.History(c, id) {
					if b.CID != "" {
						t.Errorf("History after Close yielded block %+v", b)
					}
					errs = append(errs, err)
				}
				if len(errs) != 1 {
					t.Errorf("History after Close yielded errors %v, want one", errs)
					continue
				}
				closed(t, "History", errs[0])
			}
		},
		"As": func(t *testing.T) {
			_, err := users.As(testKey)
			closed(t, "As", err)
			_, err = users.As(nil)
			closed(t, "As of no key", err)
		},
		"Heads": func(t *testing.T) {
			_, err := users.Heads(ctx, id)
			closed(t, "Heads", err)
			_, err = users.Heads(cancelled, "nonsense")
			closed(t, "Heads of a bad ID", err)
		},
		"Name": func(t *testing.T) {
			if got := users.Name(); got != name {
				t.Errorf("Name after Close = %q, want %q", got, name)
			}
		},
		"Patch": func(t *testing.T) {
			_, err := users.Patch(ctx, "type User { name: String }")
			closed(t, "Patch", err)
			_, err = users.Patch(cancelled, "nonsense")
			closed(t, "Patch of bad SDL", err)
		},
		"Grant": func(t *testing.T) {
			closed(t, "Grant", users.Grant(ctx, n.ID(), gossipdb.RoleWriter))
			closed(t, "Grant of a bad role", users.Grant(ctx, n.ID(), "bogus"))
		},
		"Revoke": func(t *testing.T) {
			closed(t, "Revoke", users.Revoke(ctx, n.ID()))
		},
		"Policy": func(t *testing.T) {
			if got := users.Policy(); got != nil {
				t.Errorf("Policy of an open collection after Close = %+v, want nil", got)
			}
		},
		"SchemaID": func(t *testing.T) {
			if got := users.SchemaID(); got != schemaID {
				t.Errorf("SchemaID after Close = %q, want %q", got, schemaID)
			}
		},
		"UseVersion": func(t *testing.T) {
			_, err := users.UseVersion(ctx, schemaID)
			closed(t, "UseVersion", err)
		},
		"Versions": func(t *testing.T) {
			if got := users.Versions(); len(got) != 1 || got[0] != schemaID {
				t.Errorf("Versions after Close = %v, want [%s]", got, schemaID)
			}
		},
		"Version": func(t *testing.T) {
			if got := users.Version(); got != schemaID {
				t.Errorf("Version after Close = %q, want %q", got, schemaID)
			}
		},
		"Update": func(t *testing.T) {
			closed(t, "Update", users.Update(ctx, id, map[string]any{"name": "Bob"}))
			closed(t, "Update of no fields", users.Update(cancelled, id, nil))
		},
		"Watch": func(t *testing.T) {
			ch, err := users.Watch(ctx)
			closed(t, "Watch", err)
			if ch != nil {
				t.Errorf("Watch after Close returned a channel")
			}
			// Close waited for the watcher, so the channel opened before it is closed.
			select {
			case e, ok := <-open:
				if ok {
					t.Errorf("Watch channel after Close delivered %+v, want it closed", e)
				}
			default:
				t.Errorf("Watch channel still open after Close")
			}
		},
		"WatchBatches": func(t *testing.T) {
			ch, err := users.WatchBatches(ctx, 8)
			closed(t, "WatchBatches", err)
			if ch != nil {
				t.Errorf("WatchBatches after Close returned a channel")
			}
		},
	}

	for _, typ := range []struct {
		name    string
		v       any
		methods map[string]func(t *testing.T)
	}{
		{"Node", n, nodeMethods},
		{"Collection", users, collectionMethods},
	} {
		rt := reflect.TypeOf(typ.v)
		var names []string
		for m := range rt.Methods() {
			names = append(names, m.Name)
			if typ.methods[m.Name] == nil {
				t.Errorf("(*%s).%s is missing from the table: decide what it does after Close", typ.name, m.Name)
			}
		}
		for name := range typ.methods {
			if !slices.Contains(names, name) {
				t.Errorf("the table lists (*%s).%s, which does not exist", typ.name, name)
			}
		}
		for _, name := range names {
			if f := typ.methods[name]; f != nil {
				t.Run(typ.name+"."+name, f)
			}
		}
	}
}

// TestCloseDuringTransactionFunction closes a node from another goroutine
// while an Update or View function runs, and has the function call a
// Collection method outside its transaction, as an application shutting down
// on a signal would. Close waits for the function; the call must fail with
// ErrClosed at once rather than wait for the Close that waits for it (which
// hung both for good).
func TestCloseDuringTransactionFunction(t *testing.T) {
	ctx := context.Background()
	for _, kind := range []string{"Update", "View"} {
		t.Run(kind, func(t *testing.T) {
			n := nodetest.Open(t, "", nil)
			users := nodetest.AddUser(t, n)[0]
			id, err := users.Create(ctx, map[string]any{"name": "Ada"})
			if err != nil {
				t.Fatal(err)
			}
			closed := make(chan error, 1)
			fn := func(*gossipdb.Txn) error {
				go func() { closed <- n.Close() }()
				// Until Close begins the read succeeds; from then on it must
				// fail with ErrClosed, each call within a second.
				deadline := time.Now().Add(10 * time.Second)
				for time.Now().Before(deadline) {
					got := make(chan error, 1)
					go func() {
						_, err := users.Get(ctx, id)
						got <- err
					}()
					select {
					case err := <-got:
						if errors.Is(err, gossipdb.ErrClosed) {
							return err
						}
						if err != nil {
							return fmt.Errorf("Get while Close begins: %w", err)
						}
					case <-time.After(time.Second):
						return errors.New("Get inside the transaction's function waited for Close, which waits for the function")
					}
				}
				return errors.New("Get never failed with ErrClosed after Close began")
			}
			if kind == "Update" {
				err = n.Update(ctx, fn)
			} else {
				err = n.View(ctx, fn)
			}
			if !errors.Is(err, gossipdb.ErrClosed) {
				t.Errorf("%s = %v, want ErrClosed", kind, err)
			}
			select {
			case err := <-closed:
				if err != nil {
					t.Errorf("Close: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Close did not return once the function did")
			}
		})
	}
}
