package gossipdb_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// TestConflictsSameOnBothNodes: two nodes set the same field while neither
// hears the other. Once synced, both show the same winner in Get and the same
// losing value, from the same block, in Conflicts; a later write of the field
// ends the conflict.
func TestConflictsSameOnBothNodes(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true})
	n2 := nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true})
	users := nodetest.AddUser(t, n1, n2)
	nodetest.Subscribe(t, "User", n1, n2)
	nodetest.Connect(t, n1, n2)
	id, err := users[0].Create(ctx, map[string]any{"name": "Ada", "age": 36})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n2.Sync(ctx, "User"); err != nil {
		t.Fatal(err)
	}
	if got, err := users[1].Conflicts(ctx, id); err != nil || len(got) != 0 {
		t.Fatalf("conflicts of a new document: %+v, %v", got, err)
	}

	// Neither node hears the other, by gossip or catch-up.
	nodetest.Disconnect(t, n1, n2)
	for i, name := range []string{"Ada Lovelace", "Augusta Ada"} {
		if err := users[i].Update(ctx, id, map[string]any{"name": name, "age": 37 + i}); err != nil {
			t.Fatal(err)
		}
	}
	nodetest.Connect(t, n1, n2)
	synced := make([][]gossipdb.PeerSyncStatus, 2) // what each node's Sync did, for a failure's message
	for i, n := range []*gossipdb.Node{n1, n2} {
		if synced[i], err = n.Sync(ctx, "User"); err != nil {
			t.Fatal(err)
		}
	}

	var want []gossipdb.Conflict
	var winner map[string]any
	for i, c := range users {
		doc, err := c.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Conflicts(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Field != "age" || got[1].Field != "name" {
			t.Fatalf("node %d: conflicts %+v, want one of age and one of name (its Sync: %+v)", i+1, got, synced[i])
		}
		for _, cf := range got {
			if cf.Value == doc.Fields[cf.Field] || cf.Block == cf.Winner {
				t.Errorf("node %d: conflict %+v: the loser is the value the field holds (%v)", i+1, cf, doc.Fields[cf.Field])
			}
		}
		if i == 0 {
			want, winner = got, doc.Fields
			continue
		}
		if !slices.Equal(got, want) || doc.Fields["name"] != winner["name"] {
			t.Errorf("node 2 shows %+v (name %v), node 1 %+v (name %v)", got, doc.Fields["name"], want, winner["name"])
		}
	}
	if names := []any{want[1].Value, winner["name"]}; !slices.Contains(names, "Ada Lovelace") || !slices.Contains(names, "Augusta Ada") {
		t.Errorf("winner %v and loser %v of name, want the two concurrent names", winner["name"], want[1].Value)
	}

	// A write that has seen both ends the conflict of that field.
	if err := users[0].Update(ctx, id, map[string]any{"name": "Ada King"}); err != nil {
		t.Fatal(err)
	}
	got, err := users[0].Conflicts(ctx, id)
	if err != nil || len(got) != 1 || got[0].Field != "age" {
		t.Fatalf("after a later write of name: %+v, %v; want age's conflict alone", got, err)
	}
	if _, err := users[0].Conflicts(ctx, gossipdb.DocID(users[0].SchemaID())); !errors.Is(err, gossipdb.ErrNotFound) {
		t.Errorf("conflicts of an unknown document: %v, want ErrNotFound", err)
	}
}
