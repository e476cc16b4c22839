package blocks_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/datamodel"
	"github.com/ipld/go-ipld-prime/fluent/qp"
	cidlink "github.com/ipld/go-ipld-prime/linking/cid"
	"github.com/ipld/go-ipld-prime/node/basicnode"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/blocks"
	"github.com/gossipdb/gossipdb/internal/streams/streamstest"
)

// hostileServer returns a client host connected to a host whose blocks handler,
// after reading the request, writes answer and closes the stream (or resets it when
// reset is set). When answer is nil, the handler stays silent until the test ends.
func hostileServer(t *testing.T, answer []byte, reset bool) (client, bad host.Host) {
	client, bad = streamstest.NewHost(t), streamstest.NewHost(t)
	quit := make(chan struct{})
	t.Cleanup(func() { close(quit) }) // runs before the hosts close
	bad.SetStreamHandler(blocks.ProtocolID, func(s network.Stream) {
		defer s.Reset()
		if _, err := io.Copy(io.Discard, s); err != nil {
			return
		}
		if answer == nil {
			<-quit
			return
		}
		w := bufio.NewWriter(s)
		w.Write(answer)
		if w.Flush() != nil || reset {
			return
		}
		s.Close()
	})
	streamstest.Connect(t, client, bad)
	return client, bad
}

// TestHostileServer checks that Fetch refuses every kind of bad answer, names the
// peer and never hangs.
func TestHostileServer(t *testing.T) {
	s := testSchema(t)
	d := linear(t, s, 1, 3, 0)
	other := linear(t, s, 2, 1, 0)
	item := blocks.Item{Doc: d.id()}
	valid := d.genesis().Data
	end := streamstest.Frame(nil)
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	var tooMany []byte
	for range blocks.MaxAnswerBlocks + 1 {
		tooMany = append(tooMany, streamstest.Frame(valid)...)
	}

	for _, tc := range []struct {
		name   string
		answer []byte
		reset  bool
		want   error
		text   string
	}{
		{name: "unrelated", answer: cat(streamstest.Frame(valid), streamstest.Frame(other.genesis().Data), end), want: blocks.ErrProtocol, text: "unrelated block"},
		{name: "garbage", answer: cat(streamstest.Frame([]byte("definitely not a block")), end), want: crdt.ErrInvalidBlock},
		{name: "trailing byte", answer: cat(streamstest.Frame(append(append([]byte{}, valid...), 0)), end), want: blocks.ErrProtocol},
		{name: "truncated block", answer: cat(streamstest.Frame(valid[:len(valid)-3]), end), want: blocks.ErrProtocol},
		{name: "truncated frame", answer: streamstest.Frame(valid)[:10], want: blocks.ErrProtocol},
		{name: "no end marker", answer: streamstest.Frame(valid), want: blocks.ErrProtocol, text: "end marker"},
		{name: "empty stream", answer: []byte{}, want: blocks.ErrProtocol},
		{name: "oversized frame", answer: binary.AppendUvarint(nil, crdt.MaxBlockSize+1), want: blocks.ErrLimit},
		{name: "huge length", answer: []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, want: blocks.ErrLimit},
		{name: "non-minimal length", answer: []byte{0x80, 0x00}, want: blocks.ErrProtocol},
		{name: "too many blocks", answer: cat(tooMany, end), want: blocks.ErrLimit},
		{name: "reset", answer: streamstest.Frame(valid), reset: true, want: network.ErrReset},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, bad := hostileServer(t, tc.answer, tc.reset)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			stats, err := blocks.Fetch(ctx, client, bad.ID(), testSchema(t).ID, []blocks.Item{item}, func(*crdt.Block) error { return nil })
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err %q does not say %q", err, tc.text)
			}
			var pe *blocks.PeerError
			if !errors.As(err, &pe) || pe.Peer != bad.ID() || !strings.Contains(err.Error(), bad.ID().String()) {
				t.Fatalf("err %v does not name the peer %s", err, bad.ID())
			}
			if tc.name == "too many blocks" && stats.Blocks != blocks.MaxAnswerBlocks {
				t.Fatalf("%d blocks accepted before the limit", stats.Blocks)
			}
		})
	}
}

// TestSilentServer checks that a peer that never answers costs no more than the
// caller's deadline, and that cancellation is reported as such.
func TestSilentServer(t *testing.T) {
	client, bad := hostileServer(t, nil, false)
	item := blocks.Item{Doc: linear(t, testSchema(t), 1, 1, 0).id()}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := blocks.Fetch(ctx, client, bad.ID(), testSchema(t).ID, []blocks.Item{item}, discard)
	if !errors.Is(err, blocks.ErrTimeout) {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Fetch returned after %v with a 300ms deadline", d)
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err = blocks.Fetch(ctx, client, bad.ID(), testSchema(t).ID, []blocks.Item{item}, discard)
	if !errors.Is(err, context.Canceled) || errors.Is(err, blocks.ErrTimeout) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

// rawExchange opens a blocks stream from p's client, writes data, closes its write
// side and reads the answer to its end. It returns the read error: a server that
// refuses the request resets the stream.
func rawExchange(t *testing.T, p *pair, data []byte) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := p.client.NewStream(ctx, p.server.ID(), blocks.ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.SetDeadline(time.Now().Add(10 * time.Second))
	// Write errors (the server may have reset the stream already) show in the read.
	_, _ = s.Write(data)
	_ = s.CloseWrite()
	_, err = io.ReadAll(s)
	return err
}

// request encodes a request by hand, so that it may break the rules.
func request(t *testing.T, build func(ma datamodel.MapAssembler)) []byte {
	t.Helper()
	n, err := qp.BuildMap(basicnode.Prototype.Any, -1, build)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	if err := dagcbor.Encode(n, &sb); err != nil {
		t.Fatal(err)
	}
	return []byte(sb.String())
}

func links(c cid.Cid, n int) qp.Assemble {
	return qp.List(int64(n), func(la datamodel.ListAssembler) {
		for range n {
			qp.ListEntry(la, qp.Link(cidlink.Link{Cid: c}))
		}
	})
}

// TestHostileClient checks that the server resets streams with bad requests and
// keeps serving others.
func TestHostileClient(t *testing.T) {
	s := testSchema(t)
	p := newPair(t, nil)
	d := linear(t, s, 1, 20, 0)
	apply(t, p.serverStore, d.blocks)
	doc := d.id()

	schemaOf := func(c cid.Cid) func(ma datamodel.MapAssembler) {
		return func(ma datamodel.MapAssembler) { qp.MapEntry(ma, "schema", qp.Link(cidlink.Link{Cid: c})) }
	}
	withSchema := schemaOf(s.ID)
	itemList := func(n int, item func(ma datamodel.MapAssembler)) func(ma datamodel.MapAssembler) {
		return func(ma datamodel.MapAssembler) {
			qp.MapEntry(ma, "items", qp.List(int64(n), func(la datamodel.ListAssembler) {
				for range n {
					qp.ListEntry(la, qp.Map(-1, item))
				}
			}))
		}
	}
	items := func(n int, item func(ma datamodel.MapAssembler)) func(ma datamodel.MapAssembler) {
		return func(ma datamodel.MapAssembler) {
			withSchema(ma)
			itemList(n, item)(ma)
		}
	}
	docOnly := func(ma datamodel.MapAssembler) { qp.MapEntry(ma, "doc", qp.Link(cidlink.Link{Cid: doc})) }
	good := request(t, items(1, docOnly))
	if err := rawExchange(t, p, streamstest.Frame(good)); err != nil {
		t.Fatalf("valid raw request: %v", err)
	}

	for name, data := range map[string][]byte{
		"garbage":        streamstest.Frame([]byte("garbage, not dag-cbor")),
		"empty frame":    streamstest.Frame(nil),
		"nothing":        nil,
		"oversized":      binary.AppendUvarint(nil, blocks.MaxRequestSize+1),
		"truncated":      streamstest.Frame(good)[:len(good)-2],
		"trailing":       streamstest.Frame(append(append([]byte{}, good...), 0)),
		"not a map":      streamstest.Frame([]byte{0x01}),
		"no items":       streamstest.Frame(request(t, func(ma datamodel.MapAssembler) { withSchema(ma); qp.MapEntry(ma, "x", qp.Int(1)) })),
		"items not list": streamstest.Frame(request(t, func(ma datamodel.MapAssembler) { withSchema(ma); qp.MapEntry(ma, "items", qp.Int(1)) })),
		"no schema":      streamstest.Frame(request(t, itemList(1, docOnly))),
		"schema not a link": streamstest.Frame(request(t, func(ma datamodel.MapAssembler) {
			qp.MapEntry(ma, "schema", qp.String(s.ID.String()))
			itemList(1, docOnly)(ma)
		})),
		"unknown collection": streamstest.Frame(request(t, func(ma datamodel.MapAssembler) {
			schemaOf(doc)(ma)
			itemList(1, docOnly)(ma)
		})),
		"too many items": streamstest.Frame(request(t, items(blocks.MaxItems+1, docOnly))),
		"item without doc": streamstest.Frame(request(t, items(1, func(ma datamodel.MapAssembler) {
			qp.MapEntry(ma, "want", links(doc, 1))
		}))),
		"doc not a link": streamstest.Frame(request(t, items(1, func(ma datamodel.MapAssembler) {
			qp.MapEntry(ma, "doc", qp.String(doc.String()))
		}))),
		"too many wants": streamstest.Frame(request(t, items(1, func(ma datamodel.MapAssembler) {
			docOnly(ma)
			qp.MapEntry(ma, "want", links(doc, blocks.MaxLinks+1))
		}))),
		"too many haves": streamstest.Frame(request(t, items(1, func(ma datamodel.MapAssembler) {
			docOnly(ma)
			qp.MapEntry(ma, "have", links(doc, blocks.MaxLinks+1))
		}))),
		"want not links": streamstest.Frame(request(t, items(1, func(ma datamodel.MapAssembler) {
			docOnly(ma)
			qp.MapEntry(ma, "want", qp.List(1, func(la datamodel.ListAssembler) { qp.ListEntry(la, qp.Int(7)) }))
		}))),
	} {
		before := p.srv.Metrics().Failed
		err := rawExchange(t, p, data)
		var se *network.StreamError
		if !errors.As(err, &se) || se.ErrorCode != network.StreamProtocolViolation {
			t.Errorf("%s: read %v, want a stream reset for a protocol violation", name, err)
		}
		streamstest.WaitFor(t, name+" counted as failed", func() bool { return p.srv.Metrics().Failed == before+1 })
	}
	if got, _ := p.fetch(t, blocks.Item{Doc: doc}); len(got) != 20 {
		t.Fatalf("after hostile requests, got %d blocks, want 20", len(got))
	}
}

// TestServerBusyAndSlow checks that streams beyond MaxConcurrent are reset at once
// and that a client that never sends its request is cut at the server's Timeout.
func TestServerBusyAndSlow(t *testing.T) {
	s := testSchema(t)
	p := newPair(t, &blocks.Options{MaxConcurrent: 1, Timeout: 2 * time.Second})
	d := linear(t, s, 1, 5, 0)
	apply(t, p.serverStore, d.blocks)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	slow := holdStream(t, p)
	streamstest.WaitFor(t, "the slow stream to reach the server", func() bool { return p.srv.Metrics().Streams == 1 })

	_, err := blocks.Fetch(ctx, p.client, p.server.ID(), testSchema(t).ID, []blocks.Item{{Doc: d.id()}}, func(*crdt.Block) error { return nil })
	if !errors.Is(err, blocks.ErrBusy) || !errors.Is(err, network.ErrReset) {
		t.Fatalf("busy server: err %v, want ErrBusy and a reset", err)
	}
	if m := p.srv.Metrics(); m.Refused != 1 {
		t.Fatalf("metrics %+v, want 1 refused", m)
	}

	slow.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.ReadAll(slow); !errors.Is(err, network.ErrReset) {
		t.Fatalf("slow client: read %v, want a reset after the server's timeout", err)
	}
	streamstest.WaitFor(t, "the slow stream to count as failed", func() bool { return p.srv.Metrics().Failed == 1 })
	if got, _ := p.fetch(t, blocks.Item{Doc: d.id()}); len(got) != 5 {
		t.Fatalf("got %d blocks, want 5", len(got))
	}
}

// holdStream opens a blocks stream from p's client and sends the first byte of a
// request, then nothing.
func holdStream(t *testing.T, p *pair) network.Stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := p.client.NewStream(ctx, p.server.ID(), blocks.ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Reset() })
	if _, err := st.Write([]byte{0x85}); err != nil { // the start of a length
		t.Fatal(err)
	}
	return st
}

// TestServerOnePeersShare checks that a peer's streams beyond MaxPerPeer are
// refused while another peer is still answered, and that the default share
// is DefaultMaxPerPeer.
func TestServerOnePeersShare(t *testing.T) {
	s := testSchema(t)
	p := newPair(t, &blocks.Options{MaxConcurrent: 2, MaxPerPeer: 1, Timeout: time.Minute})
	d := linear(t, s, 1, 5, 0)
	apply(t, p.serverStore, d.blocks)
	holdStream(t, p)
	streamstest.WaitFor(t, "the held stream to reach the server", func() bool { return p.srv.Metrics().Streams == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := blocks.Fetch(ctx, p.client, p.server.ID(), s.ID, []blocks.Item{{Doc: d.id()}}, func(*crdt.Block) error { return nil })
	if !errors.Is(err, blocks.ErrBusy) {
		t.Fatalf("the holding peer's second request: err %v, want ErrBusy", err)
	}
	other := &pair{server: p.server, client: streamstest.NewHost(t), serverStore: p.serverStore, srv: p.srv}
	streamstest.Connect(t, other.client, other.server)
	if got, _ := other.fetch(t, blocks.Item{Doc: d.id()}); len(got) != 5 {
		t.Fatalf("another peer got %d blocks, want 5", len(got))
	}

	// The default: one peer holds DefaultMaxPerPeer answers, not all.
	p = newPair(t, &blocks.Options{Timeout: time.Minute})
	for range blocks.DefaultMaxPerPeer {
		holdStream(t, p)
	}
	streamstest.WaitFor(t, "the held streams to reach the server", func() bool { return p.srv.Metrics().Streams == blocks.DefaultMaxPerPeer })
	_, err = blocks.Fetch(ctx, p.client, p.server.ID(), s.ID, []blocks.Item{{Doc: d.id()}}, func(*crdt.Block) error { return nil })
	if !errors.Is(err, blocks.ErrBusy) || p.srv.Metrics().Refused != 1 {
		t.Fatalf("one peer's request beyond the default share: err %v, metrics %+v; want ErrBusy, 1 refused", err, p.srv.Metrics())
	}
}

// TestServerClose checks that Close ends a stream in progress at once, waits for its
// handler, and can be repeated.
func TestServerClose(t *testing.T) {
	p := newPair(t, &blocks.Options{Timeout: time.Minute})
	slow := holdStream(t, p)
	streamstest.WaitFor(t, "the slow stream to reach the server", func() bool { return p.srv.Metrics().Streams == 1 })
	start := time.Now()
	if err := p.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Close took %v", d)
	}
	slow.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(slow); !errors.Is(err, network.ErrReset) {
		t.Fatalf("stream in progress: read %v, want a reset", err)
	}
	if err := p.srv.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	doc := linear(t, testSchema(t), 1, 1, 0).id()
	if _, err := blocks.Fetch(ctx, p.client, p.server.ID(), testSchema(t).ID, []blocks.Item{{Doc: doc}}, discard); err == nil {
		t.Fatal("Fetch from a closed server succeeded")
	}
}

// TestHostileClientRepeatsADocument: a request that names one document in
// every item, each asking for the genesis of a long history the requester
// claims to hold from its head, would make the server walk that history once
// an item, sending nothing. The server refuses a document named twice.
func TestHostileClientRepeatsADocument(t *testing.T) {
	const history = 2000
	s := testSchema(t)
	p := newPair(t, nil)
	d := linear(t, s, 1, history, 0)
	apply(t, p.serverStore, d.blocks)
	head := d.blocks[history-1].CID
	data := streamstest.Frame(request(t, func(ma datamodel.MapAssembler) {
		qp.MapEntry(ma, "schema", qp.Link(cidlink.Link{Cid: s.ID}))
		qp.MapEntry(ma, "items", qp.List(blocks.MaxItems, func(la datamodel.ListAssembler) {
			for range blocks.MaxItems {
				qp.ListEntry(la, qp.Map(3, func(ma datamodel.MapAssembler) {
					qp.MapEntry(ma, "doc", qp.Link(cidlink.Link{Cid: d.id()}))
					qp.MapEntry(ma, "want", links(d.id(), 1))
					qp.MapEntry(ma, "have", links(head, 1))
				}))
			}
		}))
	}))
	start := time.Now()
	err := rawExchange(t, p, data)
	visited := p.srv.Metrics().Visited
	t.Logf("%v after %v, %d blocks visited", err, time.Since(start).Round(time.Millisecond), visited)
	if visited > history {
		t.Errorf("the server visited %d blocks of a history of %d", visited, history)
	}
	var se *network.StreamError
	if !errors.As(err, &se) || se.ErrorCode != network.StreamProtocolViolation {
		t.Errorf("read %v, want a stream reset for a protocol violation", err)
	}
}

// TestUnreadAnswerHoldsOneBatch: a request for whole documents (no want, no
// have) makes the server read each document's genesis while it plans, and it
// sends them from what it read. A peer that asks for many documents with large
// geneses and never reads the answer must not make the server hold them all
// while its writes wait: the server holds what it sends in batches of about
// 1 MiB, whatever the answer's limits (32 MiB).
func TestUnreadAnswerHoldsOneBatch(t *testing.T) {
	const (
		docs    = 200
		payload = 150 << 10 // bytes of each genesis: 200 of them make 30 MiB
		bound   = 8 << 20   // what the server may hold for the stream: a batch, buffers
	)
	s := testSchema(t)
	p := newPair(t, nil)
	ids := make([]cid.Cid, docs)
	for i := range docs {
		nonce := binary.BigEndian.AppendUint64(nil, uint64(i))
		g, err := crdt.NewGenesis(s, map[string]any{"n": int64(i), "s": strings.Repeat("x", payload)}, nil, nonce, testKey)
		if err != nil {
			t.Fatal(err)
		}
		apply(t, p.serverStore, []*crdt.Block{g})
		ids[i] = g.CID
	}
	data := streamstest.Frame(request(t, func(ma datamodel.MapAssembler) {
		qp.MapEntry(ma, "schema", qp.Link(cidlink.Link{Cid: s.ID}))
		qp.MapEntry(ma, "items", qp.List(docs, func(la datamodel.ListAssembler) {
			for _, id := range ids {
				qp.ListEntry(la, qp.Map(1, func(ma datamodel.MapAssembler) {
					qp.MapEntry(ma, "doc", qp.Link(cidlink.Link{Cid: id}))
				}))
			}
		}))
	}))
	before := heapAfterGC()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := p.client.NewStream(ctx, p.server.ID(), blocks.ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Reset()
	if _, err := st.Write(data); err != nil {
		t.Fatal(err)
	}
	st.CloseWrite() // and never read
	streamstest.WaitFor(t, "the server to start sending", func() bool { return p.srv.Metrics().Blocks > 0 })
	held := heapAfterGC() - before
	t.Logf("heap %+d KiB while the answer waits for its reader", held>>10)
	if held > bound {
		t.Fatalf("the server holds %d MiB for an answer nobody reads, more than %d MiB", held>>20, bound>>20)
	}
}

// heapAfterGC returns the bytes of live heap objects after a collection.
func heapAfterGC() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
