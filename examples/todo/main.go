// Command todo is a terminal todo list shared by every process that runs it.
// Each process is a gossipdb node; items added, ticked off or removed in one
// show up in the others as they happen, and the others need not be running at
// the time: a node that joins later catches up.
//
// Run it in three terminals. The first prints the address the others join:
//
//	go run ./examples/todo
//	go run ./examples/todo --peer /ip4/127.0.0.1/tcp/40123/p2p/12D3KooW…
//	go run ./examples/todo --peer /ip4/127.0.0.1/tcp/40123/p2p/12D3KooW…
//
// then type commands: "add buy milk", "list", "done 1", "rm 1", "quit". With
// --rootdir the list is kept on disk across runs; without it, it lives in
// memory (and in the other nodes).
package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gossipdb/gossipdb"
)

// todoSDL is the collection every node shares: same fields, same schema ID,
// same pubsub topic.
const todoSDL = `type Todo {
	text: String
	done: Boolean
	created: DateTime
}`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "todo:", err)
		os.Exit(1)
	}
}

// run parses the flags in args, opens the node, then executes the commands
// read from in until it ends or says "quit", while printing to out every change
// that arrives from a peer. It returns when in is done or ctx ends.
func run(ctx context.Context, args []string, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // also ends the goroutine that reads in, once its Read returns
	fs := flag.NewFlagSet("todo", flag.ContinueOnError)
	rootdir := fs.String("rootdir", "", "directory to keep the list in (default: in memory)")
	p2pAddr := fs.String("p2paddr", "/ip4/127.0.0.1/tcp/0", "multiaddr to listen on for peers")
	peers := fs.String("peer", "", "comma-separated multiaddrs of running todo nodes to join")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := &gossipdb.Options{ListenAddrs: []string{*p2pAddr}}
	if *peers != "" {
		// Bootstrap peers are dialled at Open and re-dialled if the connection drops.
		opts.Peers = strings.Split(*peers, ",")
	}
	n, err := gossipdb.Open(*rootdir, opts)
	if err != nil {
		return err
	}
	defer n.Close()

	cols, err := n.AddCollection(ctx, todoSDL)
	if err != nil {
		return err
	}
	t := &todo{c: cols[0], out: out, texts: map[gossipdb.DocID]string{}}
	// Watch before subscribing, so that no change that arrives is missed.
	events, err := t.c.Watch(ctx)
	if err != nil {
		return err
	}
	// Subscribing is what makes the node receive its peers' changes; it also
	// starts catch-up with every connected peer, which brings the items that
	// were added before this process started.
	if err := n.Subscribe(ctx, "Todo"); err != nil {
		return err
	}
	t.printf("todo node %s\njoin with: --peer %s\ncommands: add TEXT | done N | rm N | list | quit\n", n.ID(), n.PeerInfo()[0])
	if err := t.list(ctx); err != nil {
		return err
	}

	// Read commands in a goroutine of their own, so that changes from peers are
	// printed while the terminal waits for the next line.
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-events:
			if e.Remote() {
				t.showRemote(ctx, e)
			}
		case line, ok := <-lines:
			if !ok || strings.TrimSpace(line) == "quit" {
				return nil
			}
			if err := t.command(ctx, line); err != nil {
				t.printf("error: %v\n", err)
			}
		}
	}
}

// todo is the list of one node.
type todo struct {
	c *gossipdb.Collection

	mu    sync.Mutex // serialises output
	out   io.Writer
	texts map[gossipdb.DocID]string // text of each item seen, to name removed ones
}

func (t *todo) printf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.out, format, args...)
}

// command executes one line typed by the user.
func (t *todo) command(ctx context.Context, line string) error {
	verb, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	arg = strings.TrimSpace(arg)
	switch verb {
	case "":
		return nil
	case "list":
		return t.list(ctx)
	case "add":
		if arg == "" {
			return errors.New("add what? e.g. add buy milk")
		}
		// Create stores the item, then gossips it to every subscribed peer.
		id, err := t.c.Create(ctx, map[string]any{"text": arg, "done": false, "created": time.Now()})
		if err != nil {
			return err
		}
		t.mu.Lock()
		t.texts[id] = arg
		t.mu.Unlock()
		t.printf("added %q\n", arg)
		return nil
	case "done", "rm":
		item, err := t.item(ctx, arg)
		if err != nil {
			return err
		}
		if verb == "done" {
			err = t.c.Update(ctx, item.ID, map[string]any{"done": true})
		} else {
			err = t.c.Delete(ctx, item.ID)
		}
		if err != nil {
			return err
		}
		t.printf("%s %q\n", map[string]string{"done": "ticked off", "rm": "removed"}[verb], item.Fields["text"])
		return nil
	}
	return fmt.Errorf("unknown command %q: add TEXT | done N | rm N | list | quit", verb)
}

// items returns the live items, oldest first: the order list numbers them in.
func (t *todo) items(ctx context.Context) ([]*gossipdb.Document, error) {
	var items []*gossipdb.Document
	for doc, err := range t.c.Find(ctx, nil) {
		if err != nil {
			return nil, err
		}
		items = append(items, doc)
		t.mu.Lock()
		t.texts[doc.ID] = fmt.Sprint(doc.Fields["text"])
		t.mu.Unlock()
	}
	slices.SortFunc(items, func(a, b *gossipdb.Document) int {
		ta, _ := a.Fields["created"].(time.Time)
		tb, _ := b.Fields["created"].(time.Time)
		return cmp.Or(ta.Compare(tb), strings.Compare(string(a.ID), string(b.ID)))
	})
	return items, nil
}

// item returns the item numbered arg in the list.
func (t *todo) item(ctx context.Context, arg string) (*gossipdb.Document, error) {
	items, err := t.items(ctx)
	if err != nil {
		return nil, err
	}
	i, err := strconv.Atoi(arg)
	if err != nil || i < 1 || i > len(items) {
		return nil, fmt.Errorf("no item %q: the list has %d items", arg, len(items))
	}
	return items[i-1], nil
}

// list prints the numbered list.
func (t *todo) list(ctx context.Context) error {
	items, err := t.items(ctx)
	if err != nil {
		return err
	}
	var b strings.Builder
	if len(items) == 0 {
		b.WriteString("  (the list is empty)\n")
	}
	for i, item := range items {
		mark := " "
		if item.Fields["done"] == true {
			mark = "x"
		}
		fmt.Fprintf(&b, "  %d. [%s] %s\n", i+1, mark, item.Fields["text"])
	}
	t.printf("%s", b.String())
	return nil
}

// showRemote prints a change that came from a peer (the one that wrote it, or
// one that passed it on), then the list as it now is.
func (t *todo) showRemote(ctx context.Context, e gossipdb.Event) {
	who := e.Peer[len(e.Peer)-6:] // the tail of a peer ID tells peers apart
	switch e.Type {
	case gossipdb.EventDeleted:
		t.mu.Lock()
		text := t.texts[e.DocID]
		t.mu.Unlock()
		t.printf("~ from peer …%s: removed %q\n", who, text)
	case gossipdb.EventCreated, gossipdb.EventUpdated:
		doc, err := t.c.Get(ctx, e.DocID)
		if err != nil {
			return // deleted meanwhile: its own event follows
		}
		what := "added"
		if e.Type == gossipdb.EventUpdated {
			what = "changed"
			if doc.Fields["done"] == true {
				what = "ticked off"
			}
		}
		t.printf("~ from peer …%s: %s %q\n", who, what, doc.Fields["text"])
	default: // EventDropped: too many changes at once; the list below is current
	}
	if err := t.list(ctx); err != nil {
		t.printf("error: %v\n", err)
	}
}
