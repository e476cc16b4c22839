// Package reconcile implements /gossipdb/sync/1, range-based set reconciliation
// over a libp2p stream: two nodes find, for one collection, the documents on which
// they differ, exchanging little more than the differences themselves.
//
// Each side holds a set of items (Item: a document ID as Key, and a hash that
// changes with the document), sorted by key as byte strings. The initiator learns
// the keys only the peer holds, the keys only it holds and the keys both hold with
// different hashes (Result.Need and Result.Offer); the responder learns nothing and
// keeps no state between messages, so a node that wants to pull runs the session
// itself. This is the technique of negentropy and iroh-docs, in a form of its own.
//
// # Fingerprints
//
// The item hash of an item is SHA-256(key || hash) read as a little-endian 256-bit
// number, and its digest the first 16 bytes of it. The fingerprint of a range of
// keys is the first 16 bytes of SHA-256(sum || uvarint(count)), where sum is the
// sum modulo 2^256 of the item hashes of the range's items (32 bytes,
// little-endian) and count their number. Addition makes fingerprints cheap: a Set
// keeps the prefix sums of its items, so the fingerprint of any range costs a
// binary search and one hash of about 40 bytes, however many items it covers.
// Addition modulo 2^256 rather than XOR because XOR is linear over GF(2): anyone who
// can choose a few hundred items can, by Gaussian elimination, build two different
// sets with equal XORs, while for sums the best known attack (Wagner's generalized
// birthday) costs far more at 256 bits; and rather than two 64-bit lanes because
// 128 bits would bring that cost within reach. The final hash hides the sum's
// structure, and the count in it makes sets of different sizes differ even where
// their sums would not. Honest sets that differ have equal fingerprints with
// probability 2^-128. A writer who can choose many documents' contents could, with great
// effort, make a difference invisible between two replicas it controls; it gains
// nothing it could not get by not writing.
//
// # Exchange
//
// A message is a list of ranges that cover the key space in order: each ends at an
// exclusive upper bound and starts where the previous one ended (the first at the
// empty key); the last may end at +∞, and whatever follows the last range is
// agreed. Each range carries one of these modes:
//
//   - skip: agreed, or nothing to say;
//   - fingerprint: the sender's fingerprint of the range and its number of items;
//   - digests (initiator only): the digests of all the initiator's items in the
//     range, in key order;
//   - items (responder only): the keys and digests of all the responder's items in
//     the range;
//   - diff (responder only), the answer to digests: a bitmap over the initiator's
//     digests marking those the responder does not hold, then the keys of the
//     responder's items whose digests the initiator did not send;
//   - again: the sender did not get to this range; the receiver states its view of
//     it again.
//
// The initiator opens with its fingerprint of the whole key space, or its digests
// when it holds at most 32 items. Each side then answers every range of the other's
// message, and the session ends when the initiator's answer is empty:
//
//   - a fingerprint equal to the receiver's for the range: skip;
//   - a fingerprint that differs, or again: the initiator sends its digests if it
//     holds at most 32 items there, and the responder its items if it holds at most
//     4; otherwise the receiver splits its own items of the range into 16 parts of
//     nearly equal counts, separated by the shortest keys that fall between
//     neighbours, and sends the fingerprint of each (the initiator sends the digest
//     of a part of one item instead: the same size, and settled sooner). For again,
//     a side with more items sends one fingerprint of the range instead of
//     splitting;
//   - digests: the responder answers with a diff if it holds at most 256 items
//     there (skip if the diff is empty), and otherwise splits as above;
//   - items and diff: the initiator records the difference of the range; skip.
//
// Every split divides a range's items on the splitting side by up to 16, so each
// differing region is settled after O(log n) round trips; the regions are
// reconciled in parallel. Once a message reaches about 190 KiB, its sender defers
// the ranges left that need an answer (again), each on its own or, when even that
// would not fit, all in one range up to +∞; every message still answers at least
// the first range that needs it, so sessions always end.
//
// A session cut short (a limit, a timeout) has settled every range below the
// first one of its last unanswered message: the responder keeps no state, so
// that message holds all that was left. Result.Resume is that key, and a
// session from it (NewSessionFrom) opens with a skip of the keys below it and
// its view of the rest: it goes on where the first stopped, without waiting for
// what the first found to be fetched. Responders need nothing new for it.
//
// # Wire format
//
// Strings, keys and bounds alike, are front-coded against the previous one written
// in the message (the empty string for the first): uvarint(shared prefix length),
// uvarint(suffix length), suffix. All varints are unsigned LEB128. A range is
//
//	mode byte (0 skip, 1 fingerprint, 2 digests, 3 items, 4 diff, 5 again)
//	payload:
//	  fingerprint: fp[16] uvarint(count ≥ 1)
//	  digests:     uvarint(n) digest[16]×n
//	  items:       uvarint(n) (key digest[16])×n        keys ascending, in the range
//	  diff:        uvarint(bits) bitmap[⌈bits/8⌉] uvarint(n) key×n
//	upper bound:   uvarint(0) for +∞, or uvarint(shared+1) uvarint(suffix length) suffix
//
// A bitmap's bit i (byte i/8, bit i%8 from the least significant) stands for the
// i-th digest the initiator sent; unused bits are zero. Bounds strictly increase
// and nothing follows +∞. A message holds at most MaxRanges ranges, at most
// MaxListLen digests, items, keys or bits in a range, keys of at most MaxKeySize
// bytes, and at most MaxFrameSize bytes; decoders refuse anything else (ErrLimit
// or ErrProtocol) and never panic.
//
// On the stream, each frame is uvarint(length) then that many bytes, at most
// MaxFrameSize. The initiator's first frame is uvarint(n), the n bytes of the
// collection ID (a CID, at most MaxCollectionIDSize bytes), then the first message.
// The sides then alternate. Each of the responder's frames starts with a status
// byte: 0 then a message, or 1 then uvarint(code) and a reason of at most 200
// bytes, after which it closes the stream (code 1: unknown collection, 2: protocol
// violation, 3: limit exceeded, 4: failure of the responder, 5: busy, its
// sessions' snapshots taking the memory it allows; an initiator that knows no
// code reads it as 4). Each of the
// initiator's later frames is a message; an empty one ends the session, and both
// sides close the stream. A responder that runs as many sessions as it allows
// resets new streams (error code StreamResourceLimitExceeded).
//
// # Cost
//
// Measured by BenchmarkReconcile, at n = 100,000 document IDs of 59 bytes, with d
// differences a third each only on one side, only on the other, and changed;
// bytes count both directions and all framing:
//
//	in sync      1 round trip          62 B
//	d = 1        3 round trips      1,672 B
//	d = 10       3 round trips     11,303 B   (0.12% of the 9.1 MB list)
//	d = 1%       4 round trips    511,145 B   (5.6%)
//	d = 10%     11 round trips  2,258,503 B   (25%)
//	d = 100%    21 round trips  7,081,714 B   (78%)
//
// Agreement costs the same whatever n: the collection ID, one fingerprint, one
// status byte and the end frame. d differences cost O(d·log n) bytes in O(log n)
// round trips, plus one round trip per ~190 KiB of either side's answers.
//
// Sums make agreement cheap to compute too (internal/itemsum holds the
// arithmetic): a side that knows the sum of its items without reading them
// (a node keeps it up to date as its documents change) needs none of them to
// agree. An initiator opens from the sum (ReconcileSum) and reads its items
// only when the answer says the sides differ; a Server answers an opening
// fingerprint equal to its sum's (Options.Summary) at once, without a
// snapshot. Between two nodes of 100,000 documents that agree, a session then
// takes 1.8 ms instead of 139 ms, and no memory for snapshots
// (BenchmarkCatchUpExchange/in-sync in the root package).
//
// A side that differs needs its items, but not all of them: a Set made of
// buckets (NewBucketSet) knows only the count and sum of each run of about
// 256 consecutive items (a node keeps them up to date beside the sum), and
// reads a bucket's items when a range's bound or fingerprint falls inside
// it. It splits a range where a bucket starts, when one starts near the
// even cut, so its own splits need no read; the peer's bounds cost a bucket
// each, read once per session, unless they fall where one of its buckets
// starts, as they do between two nodes that hold nearly the same items (a
// node cuts a bucket every 256 items, at the shortest key between two). A session
// that settles d differences among n items so reads up to about 15 buckets
// per differing range and round, whatever n: 44 buckets of 386 for 3
// differences among 100,000 (TestBucketSetReadsAroundDifferences), where a
// whole Set reads all 100,000 items; differences spread over the whole key
// space read every bucket once, as a whole read would.
//
// # Limits and trust
//
// Both sides bound a session's time, round trips and bytes (Options); a peer that
// stalls, whose fingerprints never settle, or whose frames are oversized or
// malformed is cut off with an error that names it (*PeerError). Neither side holds
// more than one frame of the other's. The initiator records at most twice
// MaxBytes of the peer's keys (each its length and 16 bytes), since keys
// front-coded against the previous one cost a peer a few bytes each whatever
// their length, and each of its own items at most once, however often answers
// name it, since an answer of a few bytes can name every item of a range. A
// lying peer can only make the initiator
// believe in differences that are not there, or miss ones that are: the caller
// fetches and validates the documents of Need itself, and a missed difference is
// found with an honest peer.
package reconcile
