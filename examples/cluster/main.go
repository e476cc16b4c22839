// Command cluster starts N gossipdb nodes in one process, makes all of them
// write at once, and draws how each node converges to the full set of
// documents over time, as a PNG plot.
//
//	go run ./examples/cluster                      # 8 nodes, 25 documents each, cluster.png
//	go run ./examples/cluster -nodes 16 -docs 50 -out /tmp/c.png
//
// The nodes form a sparse mesh (each dials the two before it), so most changes
// reach most nodes through others. Every node counts the documents it holds
// from its own change feed (Watch), and the plot shows that count, as a share
// of all documents written, for each node, beside the share written so far.
// At the end the program checks that every node holds every document and
// that all collection fingerprints are equal.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/gossipdb/gossipdb"
)

const itemSDL = `type Item {
	node: Int
	seq: Int
}`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

// config is what the flags say.
type config struct {
	nodes    int           // how many nodes
	docs     int           // documents each node writes
	spread   time.Duration // how long each node takes to write them
	interval time.Duration // how often the nodes' counts are sampled
	timeout  time.Duration // how long to wait for convergence
	out      string        // path of the PNG
}

// run parses the flags in args, runs the cluster and prints a summary to w.
func run(ctx context.Context, args []string, w io.Writer) error {
	var cfg config
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.IntVar(&cfg.nodes, "nodes", 8, "number of nodes")
	fs.IntVar(&cfg.docs, "docs", 25, "documents each node writes")
	fs.DurationVar(&cfg.spread, "spread", time.Second, "time over which each node spreads its writes")
	fs.DurationVar(&cfg.interval, "interval", 20*time.Millisecond, "sampling interval")
	fs.DurationVar(&cfg.timeout, "timeout", time.Minute, "give up if the nodes have not converged by then")
	fs.StringVar(&cfg.out, "out", "cluster.png", "path of the PNG plot to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.nodes < 2 || cfg.docs < 1 || cfg.interval <= 0 || cfg.spread < 0 {
		return errors.New("want -nodes >= 2, -docs >= 1, -interval > 0 and -spread >= 0")
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()

	c, err := startCluster(ctx, cfg.nodes)
	defer c.close()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "cluster: %d nodes in a sparse mesh, each writing %d documents over %v\n", cfg.nodes, cfg.docs, cfg.spread)

	total := cfg.nodes * cfg.docs
	var written atomic.Int64
	start := time.Now()
	writeErr := make(chan error, cfg.nodes)
	for i, n := range c.items {
		go func() { writeErr <- write(ctx, n, i, cfg, &written) }()
	}

	// Sample every node's count until all hold every document.
	var samples []sample
	tick := time.NewTicker(cfg.interval)
	defer tick.Stop()
	var writeTime time.Duration
	for writers := cfg.nodes; ; {
		s := sample{at: time.Since(start), written: int(written.Load()), held: make([]int, cfg.nodes)}
		for i := range c.held {
			s.held[i] = int(c.held[i].Load())
		}
		samples = append(samples, s)
		if writers == 0 && slices.Min(s.held) == total {
			break
		}
		select {
		case err := <-writeErr:
			if err != nil {
				return err
			}
			if writers--; writers == 0 {
				writeTime = time.Since(start)
			}
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("not converged after %v: nodes hold %v of %d documents", cfg.timeout, s.held, total)
		}
	}
	converged := samples[len(samples)-1].at

	// Converged means equal, not only as many: compare the fingerprints of
	// the nodes' whole states.
	fp, err := c.fingerprint(ctx)
	if err != nil {
		return err
	}
	if err := drawPlot(cfg, samples, total); err != nil {
		return err
	}
	fmt.Fprintf(w, "cluster: %d documents written in %v\n", total, writeTime.Round(time.Millisecond))
	for i, t := range nodeTimes(samples, total) {
		fmt.Fprintf(w, "cluster: node %d held all %d documents after %v\n", i+1, total, t.Round(time.Millisecond))
	}
	fmt.Fprintf(w, "cluster: all %d nodes converged %v after the first write; fingerprints agree (%s)\n",
		cfg.nodes, converged.Round(time.Millisecond), fp)
	fmt.Fprintf(w, "cluster: plot written to %s\n", cfg.out)
	return nil
}

// cluster is the running nodes, their collections, and how many documents
// each holds.
type cluster struct {
	nodes []*gossipdb.Node
	items []*gossipdb.Collection
	held  []atomic.Int64
	wg    sync.WaitGroup // the counting goroutines
}

// startCluster opens n in-memory nodes, connects each to the two before it,
// subscribes all to Item and starts counting what each holds. The caller
// closes the cluster, also on error.
func startCluster(ctx context.Context, n int) (*cluster, error) {
	c := &cluster{held: make([]atomic.Int64, n)}
	for i := range n {
		node, err := gossipdb.Open("", nil)
		if err != nil {
			return c, err
		}
		c.nodes = append(c.nodes, node)
		cols, err := node.AddCollection(ctx, itemSDL)
		if err != nil {
			return c, err
		}
		c.items = append(c.items, cols[0])
		for _, j := range []int{i - 1, i - 2} {
			if j >= 0 {
				if err := node.Connect(ctx, c.nodes[j].PeerInfo()[0]); err != nil {
					return c, err
				}
			}
		}
	}
	for i, node := range c.nodes {
		// Watch before subscribing, so that the count misses nothing.
		events, err := c.items[i].Watch(ctx)
		if err != nil {
			return c, err
		}
		c.wg.Go(func() { c.count(ctx, i, events) })
		if err := node.Subscribe(ctx, "Item"); err != nil {
			return c, err
		}
	}
	// Gossip reaches the subscribers a node knows of: wait until every node
	// knows its neighbours subscribed, so that the first writes take the fast
	// path (catch-up would deliver them anyway, a second or so later).
	for _, node := range c.nodes {
		for {
			peers, err := node.TopicPeers("Item")
			if err != nil {
				return c, err
			}
			if len(peers) >= len(node.ActivePeers()) {
				break
			}
			select {
			case <-ctx.Done():
				return c, fmt.Errorf("waiting for the nodes to see each other subscribed: %w", ctx.Err())
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	return c, nil
}

// count keeps c.held[i] equal to the number of documents node i holds: one
// more at each document created, locally or by a peer.
func (c *cluster) count(ctx context.Context, i int, events <-chan gossipdb.Event) {
	for e := range events {
		switch e.Type {
		case gossipdb.EventCreated:
			c.held[i].Add(1)
		case gossipdb.EventDropped:
			// The reader fell behind and events were lost: count afresh.
			var n int64
			for _, err := range c.items[i].Find(ctx, nil) {
				if err != nil {
					return
				}
				n++
			}
			c.held[i].Store(n)
		}
	}
}

// fingerprint returns the fingerprint all nodes share, or an error if they
// differ.
func (c *cluster) fingerprint(ctx context.Context) (string, error) {
	var first string
	for i, items := range c.items {
		fp, err := items.Fingerprint(ctx)
		if err != nil {
			return "", err
		}
		if i == 0 {
			first = fp
		} else if fp != first {
			return "", fmt.Errorf("node %d has fingerprint %s, node 1 %s", i+1, fp, first)
		}
	}
	return first, nil
}

// close closes every node and waits for the counting goroutines, whose
// Watch channels Close ends.
func (c *cluster) close() {
	for _, n := range c.nodes {
		n.Close()
	}
	c.wg.Wait()
}

// write makes node i create cfg.docs documents, evenly over cfg.spread.
func write(ctx context.Context, items *gossipdb.Collection, i int, cfg config, written *atomic.Int64) error {
	pause := cfg.spread / time.Duration(cfg.docs)
	for seq := range cfg.docs {
		if _, err := items.Create(ctx, map[string]any{"node": i, "seq": seq}); err != nil {
			return fmt.Errorf("node %d: %w", i+1, err)
		}
		written.Add(1)
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// sample is the state of the cluster at one moment.
type sample struct {
	at      time.Duration // since the first write
	written int           // documents written by all nodes
	held    []int         // documents each node holds
}

// nodeTimes returns, for each node, the first sample time at which it held
// every document.
func nodeTimes(samples []sample, total int) []time.Duration {
	out := make([]time.Duration, len(samples[0].held))
	for i := range out {
		for _, s := range samples {
			if s.held[i] == total {
				out[i] = s.at
				break
			}
		}
	}
	return out
}

// colors tells up to ten nodes apart (Tableau 10); more nodes reuse them.
var colors = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff}, {0xd6, 0x27, 0x28, 0xff},
	{0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff}, {0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff},
	{0xbc, 0xbd, 0x22, 0xff}, {0x17, 0xbe, 0xcf, 0xff},
}

// drawPlot writes the PNG at cfg.out: on top, the share of all documents each
// node holds over time beside the share written so far; below, how many
// documents written so far each node still lacks, which shows the stragglers
// that the top panel hides near 100%.
func drawPlot(cfg config, samples []sample, total int) error {
	held, lag := plot.New(), plot.New()
	held.Title.Text = fmt.Sprintf("Convergence of %d gossipdb nodes, each writing %d documents", cfg.nodes, cfg.docs)
	held.Title.Padding = vg.Points(8)
	held.Y.Label.Text = "documents held (% of all)"
	held.Y.Min, held.Y.Max = 0, 100
	lag.Y.Label.Text = "documents not yet held"
	lag.Y.Min = 0
	lag.X.Label.Text = "time since the first write (s)"
	for _, p := range []*plot.Plot{held, lag} {
		p.Add(plotter.NewGrid())
		p.X.Min, p.X.Max = 0, samples[len(samples)-1].at.Seconds()
	}
	held.Legend.Top, held.Legend.Left = false, false
	held.Legend.XOffs, held.Legend.YOffs = -vg.Points(8), vg.Points(8)

	addLine := func(p *plot.Plot, y func(s sample) float64, style func(*plotter.Line)) (*plotter.Line, error) {
		pts := make(plotter.XYs, len(samples))
		for k, s := range samples {
			pts[k] = plotter.XY{X: s.at.Seconds(), Y: y(s)}
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return nil, err
		}
		style(line)
		p.Add(line)
		return line, nil
	}
	percent := func(n int) float64 { return 100 * float64(n) / float64(total) }
	for i := range cfg.nodes {
		style := func(l *plotter.Line) {
			l.Color = colors[i%len(colors)]
			l.Width = vg.Points(1.5)
		}
		line, err := addLine(held, func(s sample) float64 { return percent(s.held[i]) }, style)
		if err != nil {
			return err
		}
		held.Legend.Add(fmt.Sprintf("node %d", i+1), line)
		if _, err := addLine(lag, func(s sample) float64 { return float64(max(s.written-s.held[i], 0)) }, style); err != nil {
			return err
		}
	}
	written, err := addLine(held, func(s sample) float64 { return percent(s.written) }, func(l *plotter.Line) {
		l.Color = color.Black
		l.Width = vg.Points(2.5)
		l.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
	})
	if err != nil {
		return err
	}
	held.Legend.Add("written so far", written)

	img := vgimg.New(10*vg.Inch, 7*vg.Inch)
	plots := [][]*plot.Plot{{held}, {lag}}
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: vg.Points(4), PadBottom: vg.Points(4),
		PadLeft: vg.Points(4), PadRight: vg.Points(12), PadY: vg.Points(12)}
	for j, c := range plot.Align(plots, tiles, draw.New(img)) {
		plots[j][0].Draw(c[0])
	}
	f, err := os.Create(cfg.out)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
