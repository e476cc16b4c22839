package crdt

import (
	"testing"

	"github.com/ipfs/go-cid"
	"pgregory.net/rapid"
)

// checkPresorted encodes the tree n and fails unless the bytes are what
// go-ipld-prime's encoder writes, with its own key sorting too (the tree's maps
// are in dag-cbor order), and decode back into n (checkEncoding).
func checkPresorted(t *rapid.T, n *treeNode) {
	data, err := n.encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := checkEncoding(n, data); err != nil {
		t.Fatal(err)
	}
}

func drawCID(t *rapid.T, label string) cid.Cid {
	c, err := linkPrefix.Sum(rapid.SliceOf(rapid.Byte()).Draw(t, label))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func drawCIDs(t *rapid.T, label string, minLen int) []cid.Cid {
	cids := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) cid.Cid { return drawCID(t, "cid") }), minLen, 4).Draw(t, label)
	sortCIDs(cids)
	return cids
}

// drawName draws field names of every length class that reorders keys: short and
// long, ASCII and not, so that length-first order differs from bytewise order.
func drawName(t *rapid.T, label string) string {
	return rapid.OneOf(
		rapid.StringMatching(`[a-z]{1,12}`),
		rapid.StringMatching(`[A-Za-z_é]{1,20}`),
		rapid.SampledFrom([]string{"b", "h", "v", "i", "f", "e", "doc", "set", "add", "prev", "heads", "schema"}),
	).Draw(t, label)
}

func drawScalar(t *rapid.T, label string) any {
	switch rapid.IntRange(0, 4).Draw(t, label+" kind") {
	case 0:
		return nil
	case 1:
		return rapid.String().Draw(t, label)
	case 2:
		return rapid.Int64().Draw(t, label)
	case 3:
		return rapid.Float64().Draw(t, label)
	}
	return rapid.Bool().Draw(t, label)
}

// The property tests of this package use rapid, which has its own seed: a
// failure prints -rapid.seed=N, which repeats the run (the other randomised tests
// of gossipdb use nodetest.SeedEnv), and saves the shrunk input under
// testdata/rapid, which every later run replays first. The three inputs saved
// there are kept on purpose as regressions (see testdata/rapid/README.md).
//
// The two tests below also check that a block and a state encoded directly
// (appendCBOR) give their tree's encoding.
func TestBlockTreeIsPresorted(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := &Block{Schema: drawCID(t, "schema"), Height: 1}
		if rapid.Bool().Draw(t, "genesis") {
			b.Nonce = rapid.SliceOfN(rapid.Byte(), MinNonceLen, MaxNonceLen).Draw(t, "nonce")
		} else {
			b.Doc = drawCID(t, "doc")
			b.Prev = drawCIDs(t, "prev", 1)
			b.Height = rapid.Uint64Range(2, 1<<40).Draw(t, "height")
			b.Delete = rapid.Bool().Draw(t, "delete")
		}
		b.Set = rapid.MapOf(rapid.Custom(func(t *rapid.T) string { return drawName(t, "set key") }),
			rapid.Custom(func(t *rapid.T) any { return drawScalar(t, "set value") })).Draw(t, "set")
		b.Add = map[string]any{}
		for _, k := range rapid.SliceOf(rapid.Custom(func(t *rapid.T) string { return drawName(t, "add key") })).Draw(t, "add") {
			if _, ok := b.Set[k]; !ok {
				b.Add[k] = rapid.Int64().Draw(t, "add value")
			}
		}
		checkPresorted(t, blockTree(b, true))
		for _, signed := range []bool{false, true} {
			data, err := b.encodeBlock(signed)
			if err != nil {
				t.Fatal(err)
			}
			if err := checkBlockEncoding(b, signed, data); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestStateTreeIsPresorted(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		st := &State{
			Schema:  drawCID(t, "schema"),
			Doc:     drawCID(t, "doc"),
			Heads:   drawCIDs(t, "heads", 1),
			Height:  rapid.Uint64Range(1, 1<<40).Draw(t, "height"),
			Deleted: rapid.Bool().Draw(t, "deleted"),
			Fields:  map[string]FieldState{},
		}
		for _, k := range rapid.SliceOf(rapid.Custom(func(t *rapid.T) string { return drawName(t, "field") })).Draw(t, "fields") {
			var fs FieldState
			switch rapid.IntRange(0, 2).Draw(t, "field kind") {
			case 0:
				fs = FieldState{Value: drawScalar(t, "value"), Height: 1, Block: drawCID(t, "block")}
			case 1:
				fs = FieldState{Counter: true, Value: rapid.Int64().Draw(t, "sum")}
			case 2:
				fs = FieldState{Counter: true, exact: new(fixed).add(rapid.Float64Range(-1e300, 1e300).Draw(t, "fsum"))}
				fs.Value = fs.exact.float64()
			}
			st.Fields[k] = fs
		}
		checkPresorted(t, stateTree(st))
		data, err := st.marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := checkStateEncoding(st, data); err != nil {
			t.Fatal(err)
		}
	})
}
