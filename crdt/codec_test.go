package crdt_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"maps"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/codec"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/datamodel"
	"github.com/ipld/go-ipld-prime/fluent/qp"
	"github.com/ipld/go-ipld-prime/node/basicnode"
	"github.com/multiformats/go-multihash"
)

// fixedGenesis and fixedChange are blocks whose encodings must never change.
func fixedGenesis() *crdt.Block {
	return &crdt.Block{
		Schema: testCID("schema User"),
		Height: 1,
		Set: map[string]any{
			"name":  "Ada",
			"age":   int64(36),
			"score": 1.5,
			"ok":    true,
			"at":    "2024-02-29T12:04:05Z",
			"meta":  `{"a":1}`,
			"title": "t",
		},
		Add:   map[string]any{"hits": int64(2), "total": 0.25},
		Nonce: []byte("0123456789abcdef"),
	}
}

func fixedChange(g *crdt.Block) *crdt.Block {
	return &crdt.Block{
		Schema: g.Schema,
		Doc:    g.CID,
		Prev:   []cid.Cid{g.CID},
		Height: 2,
		Set:    map[string]any{"name": nil, "age": int64(-1)},
		Add:    map[string]any{"total": -0.5},
		Delete: true,
	}
}

// fixedIncrement is a change with increments and a nonce, as NewChange makes them.
func fixedIncrement(g *crdt.Block) *crdt.Block {
	return &crdt.Block{
		Schema: g.Schema,
		Doc:    g.CID,
		Prev:   []cid.Cid{g.CID},
		Height: 2,
		Set:    map[string]any{"name": "Ada"},
		Add:    map[string]any{"hits": int64(1)},
		Nonce:  []byte("fedcba9876543210"),
	}
}

func TestCIDStability(t *testing.T) {
	g := fixedGenesis()
	if err := g.Sign(testKey); err != nil {
		t.Fatal(err)
	}
	const wantGenesis = "bafyreid67itteguk7hlwq47mpbnwegigytqczutkns7uqotdvs323h5eiq"
	if g.CID.String() != wantGenesis {
		t.Errorf("genesis CID = %s, want %s\n%s", g.CID, wantGenesis, hex.EncodeToString(g.Data))
	}
	c := fixedChange(g)
	if err := c.Sign(testKey); err != nil {
		t.Fatal(err)
	}
	const wantChange = "bafyreieqys5aswpmqhw5mleaz6ndkqfxmp7nsuieohfgrbvzrocr5pkv3a"
	if c.CID.String() != wantChange {
		t.Errorf("change CID = %s, want %s\n%s", c.CID, wantChange, hex.EncodeToString(c.Data))
	}
	inc := fixedIncrement(g)
	if err := inc.Sign(testKey); err != nil {
		t.Fatal(err)
	}
	const wantIncrement = "bafyreifydxoksfbjy5zfs6r3bykwvwr44ptyviq74xpxvz3jgt2gtsnlzy"
	if inc.CID.String() != wantIncrement {
		t.Errorf("increment CID = %s, want %s\n%s", inc.CID, wantIncrement, hex.EncodeToString(inc.Data))
	}
	// A nonce costs its length plus 7 bytes: the key "nonce" (6) and the byte
	// string's header (1).
	bare := fixedIncrement(g)
	bare.Nonce = nil
	if err := bare.Sign(testKey); err != nil {
		t.Fatal(err)
	}
	if got, want := len(inc.Data)-len(bare.Data), len(inc.Nonce)+7; got != want {
		t.Errorf("a %d-byte nonce adds %d bytes, want %d", len(inc.Nonce), got, want)
	}
	// Encoding is a function of content: map insertion order does not matter.
	g2 := fixedGenesis()
	g2.Set = maps.Clone(g2.Set)
	if err := g2.Sign(testKey); err != nil || !bytes.Equal(g2.Data, g.Data) {
		t.Errorf("re-encoding differs: %v", err)
	}
	// The CID is the sha2-256 of Data.
	sum, _ := multihash.Sum(g.Data, multihash.SHA2_256, -1)
	if !bytes.Equal(g.CID.Hash(), sum) || g.CID.Type() != cid.DagCBOR || g.CID.Version() != 1 {
		t.Errorf("CID %s is not CIDv1 dag-cbor sha2-256 of Data", g.CID)
	}
}

func TestRoundTrip(t *testing.T) {
	g := fixedGenesis()
	if err := g.Sign(testKey); err != nil {
		t.Fatal(err)
	}
	for _, b := range []*crdt.Block{g, fixedChange(g), fixedIncrement(g), {Schema: g.Schema, Doc: g.CID, Prev: sortedCIDs(g.CID, testCID("x")), Height: 9}} {
		if err := b.Sign(testKey); err != nil {
			t.Fatal(err)
		}
		d, err := crdt.Decode(b.Data)
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if !reflect.DeepEqual(d, b) {
			t.Errorf("Decode(Encode(b)) = %+v, want %+v", d, b)
		}
		if &d.Data[0] == &b.Data[0] {
			t.Error("Decode's Data aliases its input")
		}
	}
	if !g.IsGenesis() || !g.DocID().Equals(g.CID) {
		t.Error("genesis: IsGenesis/DocID wrong")
	}
	c := fixedChange(g)
	if c.IsGenesis() || !c.DocID().Equals(g.CID) {
		t.Error("change: IsGenesis/DocID wrong")
	}
}

func TestEncodeRejects(t *testing.T) {
	good := func() *crdt.Block {
		g := fixedGenesis()
		if err := g.Sign(testKey); err != nil {
			t.Fatal(err)
		}
		c := fixedChange(g)
		if err := c.Sign(testKey); err != nil {
			t.Fatal(err)
		}
		c.CID, c.Data = cid.Undef, nil
		return c
	}
	for _, tc := range []struct {
		name   string
		mutate func(b *crdt.Block)
		want   string
	}{
		{"no schema", func(b *crdt.Block) { b.Schema = cid.Undef }, "schema missing"},
		{"raw schema", func(b *crdt.Block) { b.Schema = cid.NewCidV1(cid.Raw, b.Schema.Hash()) }, "is not a CIDv1 dag-cbor sha2-256"},
		{"go int", func(b *crdt.Block) { b.Set["age"] = 3 }, `set "age": unsupported value type int`},
		{"NaN", func(b *crdt.Block) { b.Set["score"] = math.NaN() }, `set "score": NaN is not a finite number`},
		{"Inf add", func(b *crdt.Block) { b.Add["total"] = math.Inf(1) }, `add "total": +Inf is not a finite number`},
		{"string add", func(b *crdt.Block) { b.Add["total"] = "1" }, `add "total": want a number, got "1"`},
		{"unsorted prev", func(b *crdt.Block) {
			b.Prev = sortedCIDs(testCID("a"), testCID("b"))
			b.Prev[0], b.Prev[1] = b.Prev[1], b.Prev[0]
		}, "prev not sorted"},
		{"height 0", func(b *crdt.Block) { b.Height = 0 }, "height must be at least 1"},
		{"height overflow", func(b *crdt.Block) { b.Height = math.MaxInt64 + 1 }, "out of range"},
		{"too big", func(b *crdt.Block) { b.Set["name"] = strings.Repeat("x", crdt.MaxBlockSize) }, "more than 1048576"},
		{"nonce without add", func(b *crdt.Block) { b.Add, b.Nonce = nil, testNonce }, "nonce on a change without add"},
		{"short nonce", func(b *crdt.Block) { b.Nonce = make([]byte, crdt.MinNonceLen-1) }, "nonce is 7 bytes, want 8 to 64"},
		{"long nonce", func(b *crdt.Block) { b.Nonce = make([]byte, crdt.MaxNonceLen+1) }, "nonce is 65 bytes, want 8 to 64"},
		{"no author", func(b *crdt.Block) { b.Author = nil }, "author key is 0 bytes, want 32"},
		{"short signature", func(b *crdt.Block) { b.Sig = b.Sig[:63] }, "signature is 63 bytes, want 64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := good()
			tc.mutate(b)
			err := b.Encode()
			wantErr(t, err, crdt.ErrInvalidBlock, tc.want)
			if b.CID.Defined() || b.Data != nil {
				t.Error("failed Encode set CID or Data")
			}
		})
	}
}

func genesisEntries() map[string]qp.Assemble {
	return map[string]qp.Assemble{
		"schema": link(testCID("schema User")),
		"prev":   links(),
		"height": qp.Int(1),
		"nonce":  qp.Bytes(testNonce),
		"author": qp.Bytes(testKey.Public().(ed25519.PublicKey)),
		"sg":     qp.Bytes(make([]byte, ed25519.SignatureSize)),
	}
}

func changeEntries() map[string]qp.Assemble {
	return map[string]qp.Assemble{
		"schema": link(testCID("schema User")),
		"doc":    link(testCID("doc")),
		"prev":   links(testCID("doc")),
		"height": qp.Int(2),
		"set":    scalars(map[string]qp.Assemble{"name": qp.String("x")}),
		"author": qp.Bytes(testKey.Public().(ed25519.PublicKey)),
		"sg":     qp.Bytes(make([]byte, ed25519.SignatureSize)),
	}
}

func TestDecodeRejects(t *testing.T) {
	ab := sortedCIDs(testCID("a"), testCID("b"))
	a, b := ab[0], ab[1]
	sha512, _ := multihash.Sum([]byte("x"), multihash.SHA2_512, -1)
	short, _ := multihash.Sum([]byte("x"), multihash.SHA2_256, 20)
	manyFields := map[string]qp.Assemble{}
	for i := range crdt.MaxFields + 1 {
		manyFields[strings.Repeat("f", 1+i%100)+string(rune('a'+i/100))] = qp.Int(1)
	}
	type entries = map[string]qp.Assemble
	hitsOne := scalars(entries{"hits": qp.Int(1)})
	for _, tc := range []struct {
		name string
		base func() entries
		edit entries // nil value: delete the key
		want string
	}{
		{"unknown key", changeEntries, entries{"extra": qp.Int(1)}, `unknown key "extra"`},
		{"schema missing", changeEntries, entries{"schema": nil}, "schema missing"},
		{"schema not link", changeEntries, entries{"schema": qp.String("x")}, "schema is a string, want a link"},
		{"schema raw codec", changeEntries, entries{"schema": link(cid.NewCidV1(cid.Raw, testCID("x").Hash()))}, "schema bafkrei"},
		{"schema CIDv0", changeEntries, entries{"schema": link(cid.NewCidV0(testCID("x").Hash()))}, "is not a CIDv1 dag-cbor sha2-256"},
		{"doc sha2-512", changeEntries, entries{"doc": link(cid.NewCidV1(cid.DagCBOR, sha512))}, "doc bafyrgq"},
		{"doc truncated hash", changeEntries, entries{"doc": link(cid.NewCidV1(cid.DagCBOR, short))}, "is not a CIDv1 dag-cbor sha2-256"},
		{"doc not link", changeEntries, entries{"doc": qp.Bytes([]byte("x"))}, "doc is a bytes, want a link"},
		{"prev missing", changeEntries, entries{"prev": nil}, "prev missing"},
		{"prev not list", changeEntries, entries{"prev": link(a)}, "prev is a link, want a list"},
		{"prev entry not link", changeEntries, entries{"prev": qp.List(1, func(la datamodel.ListAssembler) { qp.ListEntry(la, qp.Int(1)) })}, "prev[0] is a int, want a link"},
		{"prev not sorted", changeEntries, entries{"prev": links(b, a)}, "prev not sorted"},
		{"prev duplicate", changeEntries, entries{"prev": links(a, a)}, "prev has " + a.String() + " twice"},
		{"prev empty outside genesis", changeEntries, entries{"prev": links()}, "prev empty outside genesis"},
		{"height missing", changeEntries, entries{"height": nil}, "height missing"},
		{"height string", changeEntries, entries{"height": qp.String("2")}, "height: is a string, want an int"},
		{"height float", changeEntries, entries{"height": qp.Float(2)}, "height: is a float, want an int"},
		{"height zero", changeEntries, entries{"height": qp.Int(0)}, "height must be at least 1"},
		{"height negative", changeEntries, entries{"height": qp.Int(-3)}, "height must be at least 1"},
		{"height beyond int64", changeEntries, entries{"height": qp.Node(basicnode.NewUint(math.MaxUint64))}, "integer beyond int64"},
		{"height 1 outside genesis", changeEntries, entries{"height": qp.Int(1)}, "height 1 outside genesis"},
		{"nonce on a change without add", changeEntries, entries{"nonce": qp.Bytes(testNonce)}, "nonce on a change without add"},
		{"change short nonce", changeEntries, entries{"add": hitsOne, "set": nil, "nonce": qp.Bytes(make([]byte, 7))}, "nonce is 7 bytes, want 8 to 64"},
		{"change long nonce", changeEntries, entries{"add": hitsOne, "set": nil, "nonce": qp.Bytes(make([]byte, 65))}, "nonce is 65 bytes, want 8 to 64"},
		{"change empty nonce", changeEntries, entries{"add": hitsOne, "nonce": qp.Bytes(nil)}, "nonce is empty (omit it instead)"},
		{"genesis empty nonce", genesisEntries, entries{"nonce": qp.Bytes(nil)}, "nonce is empty (omit it instead)"},
		{"genesis with prev", genesisEntries, entries{"prev": links(a)}, "genesis block (no doc) has prev"},
		{"genesis height 2", genesisEntries, entries{"height": qp.Int(2)}, "genesis block (no doc) has height 2, want 1"},
		{"genesis without nonce", genesisEntries, entries{"nonce": nil}, "genesis nonce is 0 bytes, want 8 to 64"},
		{"genesis short nonce", genesisEntries, entries{"nonce": qp.Bytes(make([]byte, 7))}, "genesis nonce is 7 bytes"},
		{"genesis long nonce", genesisEntries, entries{"nonce": qp.Bytes(make([]byte, 65))}, "genesis nonce is 65 bytes"},
		{"nonce not bytes", genesisEntries, entries{"nonce": qp.String("01234567")}, "nonce is a string, want bytes"},
		{"set not map", changeEntries, entries{"set": links()}, "set is a list, want a map"},
		{"set empty", changeEntries, entries{"set": scalars(nil)}, "set is empty (omit it instead)"},
		{"set list of links", changeEntries, entries{"set": scalars(entries{"name": links(testCID("a"))})}, "item 0 is a link, want a scalar"},
		{"set bytes value", changeEntries, entries{"set": scalars(entries{"name": qp.Bytes(nil)})}, `set "name": is a bytes, want a scalar`},
		{"set link value", changeEntries, entries{"set": scalars(entries{"name": link(a)})}, `set "name": is a link, want a scalar`},
		{"set big uint", changeEntries, entries{"set": scalars(entries{"age": qp.Node(basicnode.NewUint(1 << 63))})}, "integer beyond int64"},
		{"set empty name", changeEntries, entries{"set": scalars(entries{"": qp.Int(1)})}, "set has an empty field name"},
		{"set long name", changeEntries, entries{"set": scalars(entries{strings.Repeat("n", 129): qp.Int(1)})}, "longer than 128 bytes"},
		{"set bad UTF-8 name", changeEntries, entries{"set": scalars(entries{"n\xff": qp.Int(1)})}, "is not valid UTF-8"},
		{"set bad UTF-8 value", changeEntries, entries{"set": scalars(entries{"name": qp.String("\xff")})}, `set "name": string is not valid UTF-8`},
		{"set too many fields", changeEntries, entries{"set": scalars(manyFields)}, "set has 1025 fields, more than 1024"},
		{"add string", changeEntries, entries{"add": scalars(entries{"hits": qp.String("1")})}, `add "hits": want a number, got "1"`},
		{"add null", changeEntries, entries{"add": scalars(entries{"hits": qp.Null()})}, `add "hits": want a number, got null`},
		{"add bool", changeEntries, entries{"add": scalars(entries{"hits": qp.Bool(true)})}, `add "hits": want a number, got true`},
		{"add empty", changeEntries, entries{"add": scalars(nil)}, "add is empty (omit it instead)"},
		{"set and add", changeEntries, entries{"add": scalars(entries{"name": qp.Int(1)})}, `field "name" in both set and add`},
		{"delete false", changeEntries, entries{"delete": qp.Bool(false)}, "delete is false (omit it instead)"},
		{"delete not bool", changeEntries, entries{"delete": qp.Int(1)}, "delete is a int, want a bool"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.base()
			for k, v := range tc.edit {
				if v == nil {
					delete(m, k)
				} else {
					m[k] = v
				}
			}
			_, err := crdt.Decode(rawMap(t, m))
			wantErr(t, err, crdt.ErrInvalidBlock, tc.want)
		})
	}
}

func TestDecodeRejectsBytes(t *testing.T) {
	g := fixedGenesis()
	if err := g.Sign(testKey); err != nil {
		t.Fatal(err)
	}
	list, _ := qp.BuildList(basicnode.Prototype.Any, 0, func(datamodel.ListAssembler) {})
	var listBytes bytes.Buffer
	_ = dagcbor.Encode(list, &listBytes)

	// The genesis map with its keys in insertion (not dag-cbor) order.
	unsorted := func() []byte {
		n, err := qp.BuildMap(basicnode.Prototype.Any, 4, func(ma datamodel.MapAssembler) {
			qp.MapEntry(ma, "schema", link(testCID("schema User")))
			qp.MapEntry(ma, "prev", links())
			qp.MapEntry(ma, "height", qp.Int(1))
			qp.MapEntry(ma, "nonce", qp.Bytes(testNonce))
			qp.MapEntry(ma, "author", qp.Bytes(testKey.Public().(ed25519.PublicKey)))
			qp.MapEntry(ma, "sg", qp.Bytes(make([]byte, ed25519.SignatureSize)))
		})
		if err != nil {
			t.Fatal(err)
		}
		return encodeUnsorted(t, n)
	}()
	// A genesis in dag-cbor order but for its set map, whose keys are not.
	unsortedSet := func() []byte {
		n, err := qp.BuildMap(basicnode.Prototype.Any, 7, func(ma datamodel.MapAssembler) {
			qp.MapEntry(ma, "set", qp.Map(2, func(ma datamodel.MapAssembler) {
				qp.MapEntry(ma, "ab", qp.Int(1))
				qp.MapEntry(ma, "b", qp.Int(2))
			}))
			qp.MapEntry(ma, "sg", qp.Bytes(make([]byte, ed25519.SignatureSize)))
			qp.MapEntry(ma, "prev", links())
			qp.MapEntry(ma, "nonce", qp.Bytes(testNonce))
			qp.MapEntry(ma, "author", qp.Bytes(testKey.Public().(ed25519.PublicKey)))
			qp.MapEntry(ma, "height", qp.Int(1))
			qp.MapEntry(ma, "schema", link(testCID("schema User")))
		})
		if err != nil {
			t.Fatal(err)
		}
		return encodeUnsorted(t, n)
	}()
	// height 1 written as a one-byte-argument integer (0x18 0x01) instead of 0x01.
	nonMinimal := bytes.Replace(g.Data, []byte("height\x01"), []byte("height\x18\x01"), 1)
	// A float64 1.5 written as a float16 (0xf9 0x3e00).
	halfFloat := bytes.Replace(g.Data, []byte{0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}, []byte{0xf9, 0x3e, 0x00}, 1)

	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not dag-cbor: unexpected EOF"},
		{"garbage", []byte{0xff, 0x00}, "not dag-cbor"},
		{"too large", make([]byte, crdt.MaxBlockSize+1), "block is 1048577 bytes, more than 1048576"},
		{"trailing bytes", append(bytes.Clone(g.Data), 0), "not dag-cbor: unexpected content after end"},
		{"truncated", g.Data[:len(g.Data)-1], "not dag-cbor"},
		{"list", listBytes.Bytes(), "top level is a list, want a map"},
		{"unsorted keys", unsorted, "not in canonical form"},
		{"unsorted set keys", unsortedSet, "not in canonical form"},
		{"non-minimal int", nonMinimal, "not minimally encoded"},
		{"half float", halfFloat, "not in canonical form"},
		{"huge map header", []byte{0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "not dag-cbor"},
		{"huge list header", []byte{0xa1, 0x64, 'p', 'r', 'e', 'v', 0x9b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "more than the 0 bytes left"},
		{"huge string header", []byte{0x7b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "not dag-cbor"},
		{"deep nesting", bytes.Repeat([]byte{0x81}, 10000), "maximum nesting depth"},
		{"indefinite map", []byte{0xbf, 0xff}, "indefinite-length encoding rejected"},
		{"undefined", []byte{0xf7}, "simple value 0xf7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := crdt.Decode(tc.data)
			wantErr(t, err, crdt.ErrInvalidBlock, tc.want)
		})
	}
}

// TestDecodeLargeBlocks checks that blocks near MaxBlockSize fit the decoder's budget.
func TestDecodeLargeBlocks(t *testing.T) {
	doc := testCID("doc")
	manyPrev := make([]cid.Cid, (crdt.MaxBlockSize-400)/41)
	for i := range manyPrev {
		manyPrev[i] = testCID(string(rune(i)) + "prev")
	}
	manyFields := map[string]any{}
	for i := range crdt.MaxFields {
		manyFields[strings.Repeat("f", 100)+string(rune('a'+i%26))+string(rune('a'+i/26))] = strings.Repeat("v", 800)
	}
	for name, b := range map[string]*crdt.Block{
		"many prev":   {Schema: testCID("s"), Doc: doc, Prev: sortedCIDs(manyPrev...), Height: 2},
		"long string": {Schema: testCID("s"), Doc: doc, Prev: []cid.Cid{doc}, Height: 2, Set: map[string]any{"name": strings.Repeat("x", crdt.MaxBlockSize-400)}},
		"many fields": {Schema: testCID("s"), Doc: doc, Prev: []cid.Cid{doc}, Height: 2, Set: manyFields, Add: map[string]any{"n": int64(1)}},
	} {
		if err := b.Sign(testKey); err != nil {
			t.Fatalf("%s: Encode: %v", name, err)
		}
		if len(b.Data) < crdt.MaxBlockSize*3/4 {
			t.Fatalf("%s: only %d bytes", name, len(b.Data))
		}
		if _, err := crdt.Decode(b.Data); err != nil {
			t.Errorf("%s (%d bytes): Decode: %v", name, len(b.Data), err)
		}
	}
}

// encodeUnsorted encodes n as dag-cbor with its map keys in insertion order.
func encodeUnsorted(t *testing.T, n datamodel.Node) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := (dagcbor.EncodeOptions{AllowLinks: true, MapSortMode: codec.MapSortMode_None}).Encode(n, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
