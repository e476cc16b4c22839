// Package crdt defines gossipdb's blocks, their codec and CIDs, their validation and
// the rules that merge them into a document's state. It is pure: no I/O, no
// goroutines, no clocks. The store and the node do the I/O around it.
//
// # Blocks
//
// A document is a Merkle DAG of blocks. Each Block is one change: a dag-cbor map
//
//	schema  link            the collection's schema ID
//	doc     link            the document ID (its genesis CID); absent in genesis
//	prev    [link]          the heads the change builds on, sorted by bytes; [] in genesis
//	height  int             1 in genesis, else 1 + the largest height among prev
//	set     {field: value}  last-writer-wins assignments; null clears (omitted if empty)
//	add     {field: number} counter increments (omitted if empty)
//	delete  true            the document is deleted (omitted unless true)
//	nonce   bytes           genesis only, 8 to 64 random bytes
//
// addressed by its CID: v1, codec dag-cbor, multihash sha2-256. Only the canonical
// encoding is accepted (Decode re-encodes and compares), so a content has exactly one
// CID. Values are canonical (see Field.Normalize): string, int64, finite float64,
// bool, DateTime as normalised RFC 3339 text, JSON as compact JSON text.
//
// Validation is layered: Decode checks the bytes and structure, Schema.Check the
// fields against the collection, CheckParents the links to the parent blocks
// (same document and schema, consistent height). Errors wrap ErrInvalidBlock.
//
// # Merge rules
//
// A State is a document as merged from a set of its blocks, each merged after its
// ancestors and once. Merging the same set in any such order gives byte-identical
// State.Encode output:
//
//   - a last-writer-wins field takes the assignment of the block with the greatest
//     (height, CID bytes); a later assignment of null clears it;
//   - a counter is the sum of every block's increment: Int counters in wrapping int64
//     arithmetic, Float counters as an exact sum rounded to float64 when read.
//     NewChange refuses an increment that would take an Int counter beyond int64
//     from the value it builds on, but increments made concurrently on different
//     replicas, each valid alone, can overflow together: their merged sum wraps
//     (2 × MaxInt64 reads as -2), the same on every replica whatever the order;
//   - delete wins: once a block with delete is merged the state stays deleted;
//   - the heads are the merged blocks no other merged block names in prev.
package crdt
