package blocks_test

import (
	"slices"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/internal/blocks"
)

// FuzzDecodeRequest feeds arbitrary request payloads to the server's decoder: it
// must refuse or accept them without panicking, and what it accepts must encode
// back to a request that decodes to the same schema ID and items.
func FuzzDecodeRequest(f *testing.F) {
	s := testSchema(f)
	d := linear(f, s, 1, 3, 0)
	for _, items := range [][]blocks.Item{
		{{Doc: d.id()}},
		{{Doc: d.id(), Want: cids(d.blocks[2:]), Have: cids(d.blocks[:1])}, {Doc: d.blocks[1].CID}},
	} {
		data, err := blocks.EncodeRequestForTest(s.ID, items)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{0xa1, 0x65, 'i', 't', 'e', 'm', 's', 0x80}) // {"items": []}, no schema
	f.Add([]byte{0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		schemaID, items, err := blocks.DecodeRequestForTest(data)
		if err != nil {
			return
		}
		again, err := blocks.EncodeRequestForTest(schemaID, items)
		if err != nil {
			return // e.g. a link that is no valid CID to encode; the server just finds no such block
		}
		schemaBack, back, err := blocks.DecodeRequestForTest(again)
		if err != nil {
			t.Fatalf("re-encoded request does not decode: %v", err)
		}
		eq := func(a, b blocks.Item) bool {
			return a.Doc.Equals(b.Doc) && slices.EqualFunc(a.Want, b.Want, cid.Cid.Equals) && slices.EqualFunc(a.Have, b.Have, cid.Cid.Equals)
		}
		if !schemaBack.Equals(schemaID) || !slices.EqualFunc(items, back, eq) {
			t.Fatalf("request changes through a round trip: %s %v, then %s %v", schemaID, items, schemaBack, back)
		}
	})
}
