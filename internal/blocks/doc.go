// Package blocks implements /gossipdb/blocks/2, the libp2p stream protocol that
// completes a document's missing history in a constant number of round trips.
//
// A node that receives a block whose ancestors it lacks, or that learns during
// catch-up that a peer's version of a document differs from its own, asks that peer
// for "every block between what I want and what I have". The peer answers with all of
// them, parents first, on the same stream, however deep the gap is.
//
// # Wire format
//
// One stream carries one request and one answer; then both sides close it.
//
// A frame is an unsigned varint (LEB128, as in multiformats) giving the length of the
// payload, then the payload.
//
// The request is one frame of at most MaxRequestSize bytes holding a dag-cbor map
//
//	{"schema": link, "items": [{"doc": link, "want": [link, …], "have": [link, …]}, …]}
//
// with at most MaxItems items, no two of the same document, and at most MaxLinks
// links in each list. "schema" is
// the schema ID of the collection whose documents the items name: the server
// looks blocks up in that collection only, which finds a document that has merged
// only its genesis with one read whatever the number of collections (see
// internal/store, "Finding a block by CID"). A request without it, or for a
// collection the server does not store, is malformed. Version 1 of the protocol
// had no "schema"; its requests are not answered, since the protocol ID differs.
// "doc" is the
// document ID (its genesis CID). "want" names blocks the requester needs, typically
// missing parents it saw referenced; an empty (or absent) "want" means "your current
// heads of this document", which catch-up uses when it only knows that a document
// differs. "have" names blocks the requester holds, empty (or absent) when it has
// none of the document: its current heads and, as Have builds it, the blocks of its
// log at distances 1, 2, 4, … below the highest and the genesis, so that a peer
// whose history diverged from the requester's still finds one it knows near where
// they part. Unknown keys are ignored, so later versions may add some.
//
// The answer is a sequence of frames, each the dag-cbor bytes of one block, then a
// zero-length frame that marks its end. For each item in order, the server sends the
// blocks it has in
//
//	(want ∪ ancestors(want)) − (have ∪ ancestors(have))
//
// in ascending height, so that parents always come before their children. An item
// whose document the server does not know in the request's collection, wanted
// blocks it does not have there and
// "have" blocks it does not know contribute nothing; a block already sent for an
// earlier item of the same answer is not sent again.
//
// # Limits
//
// An answer holds at most MaxAnswerBlocks blocks and MaxAnswerBytes bytes of block
// data. When the difference is larger, the server sends its lowest part (still parents
// first, and in item order), and the requester applies those blocks and asks again:
// every non-empty answer makes progress, so a few round trips complete any gap. An
// answer with zero blocks means the server has nothing more to give. Every frame of
// an answer is at most crdt.MaxBlockSize bytes. A server resets a stream whose
// request is malformed or breaks a limit (error code StreamProtocolViolation), and
// one that arrives while it is answering as many as it allows (error code
// StreamResourceLimitExceeded); both sides bound the whole exchange with a deadline.
//
// # Cost
//
// The server finds the difference in one sweep down the document's DAG in
// descending height, from the wanted blocks and the requester's heads at once,
// marking each block reached from the "have" side as known to the requester; it
// stops as soon as only known blocks remain to visit. A requester at height 50 of a
// linear history that wants the block at height 1000 costs about 950 block visits,
// not 1000, and the server's memory is bounded by the width of the DAG plus the
// answer's block count (each CID and size, not its bytes): it reads and sends
// the blocks in batches of about 1 MiB, so that a requester that reads slowly,
// or never, makes it hold one batch, not MaxAnswerBytes. The worst case, a "have" high on one branch and a "want" low on
// another, walks the history in between; the server's timeout bounds it. An answer
// cut by the limits still costs a sweep of the whole difference, since its lowest
// part is found last. A request names each document once, so that one costs at
// most a sweep of each document's history: the same item repeated would walk the
// same history again and again, sending nothing.
//
// # Trust
//
// Fetch re-hashes every received block (crdt.Decode) and checks that it belongs to
// one of the requested documents; a peer that sends anything else is lying and the
// stream is cut. Checking blocks against their schema and parents, and merging them,
// is the caller's job (store.Tx.Apply does the latter).
package blocks
