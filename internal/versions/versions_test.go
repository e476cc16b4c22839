package versions_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/schema"
	"github.com/gossipdb/gossipdb/internal/streams/streamstest"
	"github.com/gossipdb/gossipdb/internal/versions"
)

// chain returns a root and n versions after it, each adding a field, newest last.
func chain(t *testing.T, n int) (*crdt.Schema, []*crdt.Schema, map[cid.Cid][]byte) {
	t.Helper()
	roots, err := schema.Parse(`type T { a: Int }`)
	if err != nil {
		t.Fatal(err)
	}
	all := []*crdt.Schema{roots[0]}
	defs := map[cid.Cid][]byte{}
	sdl := "a: Int"
	for i := range n {
		sdl += fmt.Sprintf(" f%d: String", i)
		v, err := schema.Patch([]*crdt.Schema{all[len(all)-1]}, "type T { "+sdl+" }")
		if err != nil {
			t.Fatal(err)
		}
		if defs[v.Version], err = schema.EncodeVersion(v); err != nil {
			t.Fatal(err)
		}
		all = append(all, v)
	}
	return roots[0], all[1:], defs
}

func TestFetchChain(t *testing.T) {
	_, vs, defs := chain(t, 3)
	srv, cli := streamstest.NewHost(t), streamstest.NewHost(t)
	s, err := versions.NewServer(srv, func(id cid.Cid) ([]byte, error) {
		if d, ok := defs[id]; ok {
			return d, nil
		}
		return nil, errors.New("not stored")
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	streamstest.Connect(t, cli, srv)
	ctx := context.Background()

	got, err := versions.Fetch(ctx, cli, srv.ID(), vs[2].Version)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d definitions, want 3", len(got))
	}
	for i, d := range got {
		v, err := schema.DecodeVersion(d)
		if err != nil || !v.Version.Equals(vs[2-i].Version) {
			t.Errorf("definition %d: %v, %v", i, v, err)
		}
	}
	if _, err := versions.Fetch(ctx, cli, srv.ID(), vs[0].ID); !errors.Is(err, versions.ErrNotFound) {
		t.Errorf("fetch of the root: %v", err)
	}
}

func TestFetchRefusesLies(t *testing.T) {
	_, vs, defs := chain(t, 2)
	srv, cli := streamstest.NewHost(t), streamstest.NewHost(t)
	streamstest.Connect(t, cli, srv)
	ctx := context.Background()
	for name, answer := range map[string][]byte{
		"another definition": streamstest.Frame(defs[vs[0].Version]),
		"oversized frame":    streamstest.Frame(make([]byte, schema.MaxEncodedSize+1)),
		"truncated":          streamstest.Frame(defs[vs[1].Version])[:10],
	} {
		t.Run(name, func(t *testing.T) {
			srv.SetStreamHandler(versions.ProtocolID, func(st network.Stream) {
				defer st.Close()
				st.Write(answer)
			})
			_, err := versions.Fetch(ctx, cli, srv.ID(), vs[1].Version)
			if err == nil {
				t.Fatal("a lying answer was accepted")
			}
			if name != "truncated" && !errors.Is(err, versions.ErrProtocol) && !errors.Is(err, versions.ErrLimit) {
				t.Errorf("error %v", err)
			}
		})
	}
}
