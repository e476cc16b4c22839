// Command inventory is an edge service: each process is a gossipdb node that
// serves a small HTTP API of its own over stock counters. Run one per shop or
// warehouse; every node takes stock in and out locally, with no round trip to
// a central server, and the counts of all nodes converge. A node that was down
// catches up when it comes back.
//
//	go run ./examples/inventory --rootdir /tmp/inv1 --http 127.0.0.1:8081
//	go run ./examples/inventory --rootdir /tmp/inv2 --http 127.0.0.1:8082 --peer <p2p address printed by the first>
//
//	curl -X POST '127.0.0.1:8081/stock/apple/add?n=10'   # 10 apples in
//	curl -X POST '127.0.0.1:8082/stock/apple/add?n=-3'   # 3 apples out, elsewhere
//	curl 127.0.0.1:8081/stock                            # {"apple":7}
//
// The API: GET /stock (every SKU and its count), GET /stock/{sku}, and
// POST /stock/{sku}/add?n=N (N may be negative) which answers the new count.
// It has no authentication, so it serves this machine only: --http must be a
// loopback address, and httpguard refuses what a web page the user visits
// could send to it (another Host, another Origin, a form).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/httpguard"
)

// stockSDL is the collection every node shares. count is a counter
// (pncounter): concurrent additions on different nodes all count, where a
// plain Int would keep only one of them.
const stockSDL = `type Stock {
	sku: String
	count: Int @crdt(type: pncounter)
}`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "inventory:", err)
		os.Exit(1)
	}
}

// run parses the flags in args, opens the node, serves the HTTP API until ctx
// ends, and prints what it does to out.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("inventory", flag.ContinueOnError)
	rootdir := fs.String("rootdir", "", "directory to keep the stock in (default: in memory, lost at exit)")
	p2pAddr := fs.String("p2paddr", "/ip4/127.0.0.1/tcp/0", "multiaddr to listen on for peers")
	peers := fs.String("peer", "", "comma-separated multiaddrs of other inventory nodes")
	httpAddr := fs.String("http", "127.0.0.1:8080", "HOST:PORT of this node's HTTP API")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := &gossipdb.Options{ListenAddrs: []string{*p2pAddr}}
	if *peers != "" {
		// Bootstrap peers: dialled at Open and re-dialled whenever the
		// connection drops, so a peer that restarts is found again.
		opts.Peers = strings.Split(*peers, ",")
	}
	n, err := gossipdb.Open(*rootdir, opts)
	if err != nil {
		return err
	}
	defer n.Close()
	cols, err := n.AddCollection(ctx, stockSDL)
	if err != nil {
		return err
	}
	// The subscription is stored: after a restart the node subscribes again by
	// itself, and catches up with its peers as soon as it reconnects.
	if err := n.Subscribe(ctx, "Stock"); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if addr, ok := ln.Addr().(*net.TCPAddr); !ok || !addr.IP.IsLoopback() {
		return fmt.Errorf("--http %s: not a loopback address; the API has no authentication, so it serves this machine only", *httpAddr)
	}
	inv := &inventory{stock: cols[0], out: out}
	// Any web page the user visits can make the browser send requests to
	// 127.0.0.1; the guard refuses them before they reach the routes.
	guarded, err := httpguard.New(inv.routes(), nil)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: guarded, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(out, "inventory node %s\np2p: %s\nhttp: http://%s\n", n.ID(), n.PeerInfo()[0], ln.Addr())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-served:
		return err
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return err
	}
	fmt.Fprintln(out, "stopped")
	return nil
}

// inventory serves the stock of one node.
type inventory struct {
	stock *gossipdb.Collection
	out   io.Writer

	mu sync.Mutex // one local change at a time: see add
}

func (inv *inventory) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stock", inv.getAll)
	mux.HandleFunc("GET /stock/{sku}", inv.getOne)
	mux.HandleFunc("POST /stock/{sku}/add", inv.add)
	return mux
}

// getAll answers {"sku": count, …} for every SKU this node knows of.
func (inv *inventory) getAll(w http.ResponseWriter, r *http.Request) {
	counts := map[string]int64{}
	for doc, err := range inv.stock.Find(r.Context(), nil) {
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		sku, _ := doc.Fields["sku"].(string)
		count, _ := doc.Fields["count"].(int64)
		counts[sku] += count
	}
	writeJSON(w, counts)
}

// getOne answers {"sku": …, "count": …}.
func (inv *inventory) getOne(w http.ResponseWriter, r *http.Request) {
	sku := r.PathValue("sku")
	_, count, err := inv.find(r.Context(), sku)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, map[string]any{"sku": sku, "count": count})
}

// add adds n to the SKU's count (n < 0 takes stock out) and answers the new
// count as this node sees it.
func (inv *inventory) add(w http.ResponseWriter, r *http.Request) {
	sku := r.PathValue("sku")
	delta, err := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
	if err != nil || delta == 0 {
		http.Error(w, "want ?n=N, a non-zero integer", http.StatusBadRequest)
		return
	}
	// Serialised so that two requests for a new SKU do not both create it here.
	inv.mu.Lock()
	defer inv.mu.Unlock()
	id, count, err := inv.find(r.Context(), sku)
	switch {
	case err != nil:
	case id == "":
		// The first change to a SKU creates its document; a counter's value at
		// creation is its first addition.
		_, err = inv.stock.Create(r.Context(), map[string]any{"sku": sku, "count": delta})
	default:
		// On a counter field, Update adds: every node's additions are summed.
		err = inv.stock.Update(r.Context(), id, map[string]any{"count": delta})
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	count += delta
	fmt.Fprintf(inv.out, "%s %+d: %d here\n", sku, delta, count)
	writeJSON(w, map[string]any{"sku": sku, "count": count})
}

// find returns the document that takes this node's changes to sku, and the
// SKU's count. Two nodes that see a SKU for the first time at the same moment
// each create a document for it; both then exist everywhere. So the count is
// the sum over all of them, and changes go to the one with the smallest ID, on
// which all nodes agree once they know of both.
func (inv *inventory) find(ctx context.Context, sku string) (gossipdb.DocID, int64, error) {
	var ids []gossipdb.DocID
	var count int64
	for doc, err := range inv.stock.Find(ctx, gossipdb.Where{"sku": sku}) {
		if err != nil {
			return "", 0, err
		}
		ids = append(ids, doc.ID)
		c, _ := doc.Fields["count"].(int64)
		count += c
	}
	if len(ids) == 0 {
		return "", 0, nil
	}
	return slices.Min(ids), count, nil
}

// writeJSON answers v as JSON. An error writing it means the client went
// away: there is no one to tell.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
