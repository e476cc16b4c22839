package blocks

import (
	"context"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/internal/store"
)

// PlanForTest runs the server's sweep for one item of the collection schema against st, with the given
// answer budget and an empty cache, and returns the chosen blocks in sending order
// and the number of blocks visited.
func PlanForTest(st *store.Store, schema cid.Cid, it Item, maxBlocks, maxBytes int) ([]cid.Cid, int, error) {
	var out []cid.Cid
	var visited int
	err := st.View(func(tx *store.Tx) error {
		chosen, v, err := plan(context.Background(), tx, newMetaCache(16), schema, it, budget{blocks: maxBlocks, bytes: maxBytes}, map[string]bool{})
		visited = v
		for _, p := range chosen {
			out = append(out, p.cid)
		}
		return err
	})
	return out, visited, err
}

// EncodeRequestForTest and DecodeRequestForTest expose the request codec.
var (
	EncodeRequestForTest = encodeRequest
	DecodeRequestForTest = decodeRequest
)
