// Command quickstart shows gossipdb's main job in one process: two nodes on
// loopback share the User collection, the second subscribes to it, and a document
// created and updated on the first appears on the second.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/gossipdb/gossipdb"
)

const userSDL = `type User {
	name: String
	age: Int
	verified: Boolean
	points: Float
}`

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	// Two in-memory nodes, each listening on a loopback port of its own.
	node1, err := gossipdb.Open("", nil)
	if err != nil {
		return err
	}
	defer node1.Close()
	node2, err := gossipdb.Open("", nil)
	if err != nil {
		return err
	}
	defer node2.Close()

	// Both define the same collection: same fields, same schema ID.
	var users [2]*gossipdb.Collection
	for i, n := range []*gossipdb.Node{node1, node2} {
		cols, err := n.AddCollection(ctx, userSDL)
		if err != nil {
			return err
		}
		users[i] = cols[0]
	}
	fmt.Fprintf(w, "node 1: %s\nnode 2: %s\n", node1.PeerInfo()[0], node2.PeerInfo()[0])

	// Node 2 connects to node 1 and subscribes to User; watching shows what arrives.
	if err := node2.Connect(ctx, node1.PeerInfo()[0]); err != nil {
		return err
	}
	events, err := users[1].Watch(ctx)
	if err != nil {
		return err
	}
	if err := node2.Subscribe(ctx, "User"); err != nil {
		return err
	}
	fmt.Fprintf(w, "node 2 subscribed to User (topic %s)\n", users[1].SchemaID())

	// Gossip reaches the subscribers a node knows of. Had node 1 written before
	// hearing of node 2's subscription, catch-up would deliver the change a
	// second later; waiting makes the demo immediate.
	if err := waitSubscriber(ctx, node1, node2.ID()); err != nil {
		return err
	}

	// Node 1 writes; node 2 receives each change as a remote event.
	id, err := users[0].Create(ctx, map[string]any{"name": "Ada", "age": 36, "verified": true, "points": 4.5})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "node 1 created %s\n", id)
	if err := waitFor(ctx, events, id, gossipdb.EventCreated); err != nil {
		return err
	}
	if err := users[0].Update(ctx, id, map[string]any{"age": 37}); err != nil {
		return err
	}
	fmt.Fprintln(w, "node 1 updated age to 37")
	if err := waitFor(ctx, events, id, gossipdb.EventUpdated); err != nil {
		return err
	}

	doc, err := users[1].Get(ctx, id)
	if err != nil {
		return err
	}
	out, err := json.MarshalIndent(doc.Fields, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "node 2 sees %s:\n%s\n", doc.ID, out)
	return nil
}

// waitSubscriber polls until n knows peer as a subscriber of User.
func waitSubscriber(ctx context.Context, n *gossipdb.Node, peer string) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		peers, err := n.TopicPeers("User")
		if err != nil {
			return err
		}
		if slices.Contains(peers, peer) {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("waiting for node 1 to see node 2 subscribed: %w", ctx.Err())
		}
	}
}

// waitFor reads events until a remote event of type t about document id arrives.
func waitFor(ctx context.Context, events <-chan gossipdb.Event, id gossipdb.DocID, t gossipdb.EventType) error {
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return ctx.Err()
			}
			if e.DocID == id && e.Type == t && e.Remote() {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("waiting for the %s event of %s: %w", t, id, ctx.Err())
		}
	}
}
