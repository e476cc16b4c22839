// Package crdt defines gossipdb's blocks, their codec and CIDs, their validation and
// the rules that merge them into a document's state. It is pure: no I/O, no
// goroutines, no clocks. The store and the node do the I/O around it.
//
// # Blocks
//
// A document is a Merkle DAG of blocks. Each Block is one change: a dag-cbor map
//
//	schema  link            the collection's schema ID
//	ver     link            the version the block was written under; absent for
//	                        the root version (see Versions)
//	doc     link            the document ID (its genesis CID); absent in genesis
//	prev    [link]          the heads the change builds on, sorted by bytes; [] in genesis
//	height  int             1 in genesis, else 1 + the largest height among prev
//	set     {key: value}    last-writer-wins assignments by field key; null clears
//	                        (omitted if empty)
//	add     {key: number}   counter increments by field key (omitted if empty)
//	sadd    {key: [elem]}   add-wins set additions by field key, elements sorted
//	                        (omitted if empty)
//	srem    {key: [[elem, [tag]]]}
//	                        add-wins set removals by field key: each element with
//	                        the tags it removes, elements sorted, tags sorted
//	                        (omitted if empty)
//	delete  true            the document is deleted (omitted unless true)
//	nonce   bytes           8 to 64 random bytes: in genesis always, in a change
//	                        with sadd always, else only with add (omitted otherwise)
//	txn     {"n": int, "id": bytes}
//	                        the transaction the block is part of (omitted outside
//	                        transactions; see Transactions)
//	pol     [link]          in a restricted collection, the policy heads the
//	                        author wrote under (omitted for the initial policy;
//	                        see Policy heads and author chains)
//	aup     link            in a restricted collection, the author's previous
//	                        block in it (omitted for the author's first)
//	author  bytes           the author's Ed25519 public key, 32 bytes
//	sg      bytes           the author's Ed25519 signature, 64 bytes (see Signatures)
//	sp      bytes           in a block signed with others: its place among them
//	                        and the hashes that lead to what sg signs (see Signatures)
//
// addressed by its CID: v1, codec dag-cbor, multihash sha2-256. The CID covers
// the whole block, the signature included. Only the canonical
// encoding is accepted (Decode's parser refuses every other encoding of the same
// content: see decodeTree in cbor.go), so a content has exactly one CID. Values are canonical (see Field.Normalize): string, int64, finite float64,
// bool, DateTime as normalised RFC 3339 text, JSON as compact JSON text (nesting
// at most MaxJSONDepth arrays and objects; nodes of earlier versions took up to
// 10,000, and a block of theirs with a deeper value is refused), a relation
// as the base32 string of a document ID, a list as a list of these (at most
// MaxListLen items, null items only where the field's items are nullable).
//
// Sets' elements are ordered by CompareValues; a field appears in at most one of
// set, add and sadd/srem, and an element in at most one of a field's sadd and
// srem. srem never appears in genesis. Lists, sadd and srem lists and a removal's
// tags hold 1 to MaxListLen entries (a list value may be empty); the whole block
// stays within MaxBlockSize.
//
// Validation is layered: Decode checks the bytes and structure, Verify the
// signature, Schema.Check the fields against the collection, CheckParents the
// links to the parent blocks (same document and schema, consistent height).
// Errors wrap ErrInvalidBlock. The node runs them in that order, in one place
// (its accept function), on every block a peer sends.
//
// # Signatures
//
// Every block is signed by its author (Sign, or SignBatch for up to
// MaxSignedBatch blocks at a time, below; NewGenesis and NewChange take the
// key). The signature is Ed25519 (RFC 8032, made by crypto/ed25519; verified
// by the cofactored equation of ZIP-215, the same alone and in a batch, and
// refusing author keys of small order: see verify.go) over
// SignedBytes: the context string "gossipdb block v1" and a zero byte, then
// the block's canonical encoding without its "sg" entry (with "author"). "sg"
// is shorter than every other key, hence the first entry of the map in
// dag-cbor's order: the signed bytes are the block's bytes with their map
// header one entry smaller and the signature's entry cut out, so signing and
// verifying encode nothing more.
// The context keeps a signature made with the same key for anything else from
// verifying as a block's. "author" and "sg" are always present; Decode
// refuses a block without them, or with an author that is not 32 bytes or a
// signature that is not 64 (ErrSignature), and Verify checks that the
// signature holds (ErrSignature). Both wrap ErrInvalidBlock. Because the CID
// covers the signature, the same content signed by two keys makes two blocks
// with two CIDs; a genesis signed by another key is another document.
//
// One signature may cover up to MaxSignedBatch blocks (SignBatch; CreateMany
// signs this way): the blocks are the leaves of a hash tree (SHA-256; a leaf
// is the hash of a zero byte and the block's canonical encoding without "sg"
// and "sp", an inner node the hash of a one byte and its two children; an
// unpaired last node goes up a level unchanged), and the signature covers the
// context string "gossipdb blocks v1" and a zero byte, the number of blocks
// (one byte) and the tree's root. Each such block carries the signature and,
// as "sp", its proof: its index and the number of blocks (one byte each), then
// the sibling hashes on the way from its leaf to the root, 32 bytes each. "sp"
// sorts right after "sg", so the leaf's bytes are again the block's bytes with
// two entries cut out. A block verifies alone, at the cost of one signature
// check; VerifyBatch checks a batch's shared signature once. The proof costs
// 39 to 135 bytes a block, and saves the signing and verifying of all but one
// block in each batch: at about 25 µs to sign and 50 µs to verify here, most
// of the CPU a replicated document cost. Decode refuses a proof whose index
// is not below its size, whose size is not 2 to MaxSignedBatch, or whose
// length is not what that place needs (ErrSignature).
//
// A signature says which key wrote a block, and that nobody without that key
// changed it. Whether that key may write to the collection is the
// collection's policy's to say (Policy; internal/policy has the rules).
//
// # Policy heads and author chains
//
// A block of a restricted collection may carry "pol", the policy heads its
// author wrote under (links, sorted, 1 to MaxPolicyHeads; absent: the
// collection's initial policy), and "aup", its author's previous block in the
// collection (absent for the author's first), so that each author's blocks
// form a chain. Both are signed with the block. A node judges a block against
// the policy state it names, and a revocation keeps the revoked writer's
// chain up to the heads it names (see internal/policy). The merge ignores
// both. The wire change: "pol" and "aup" are new and optional, so a block
// without them, every block of an open collection, keeps its bytes and CID; a
// node that predates them refuses a block that has them (unknown key).
//
// The wire change: "author" and "sg" are new and required, so a node of this
// version refuses every block written before them, and an older node refuses
// every block of this version (unknown keys): the two cannot exchange blocks.
// "author" is as long as "schema", and sorts before it, so "schema" stays the
// last key of every block.
//
// # Transactions
//
// The blocks one transaction writes (gossipdb's Node.Update) carry "txn": the
// transaction's ID in "id", TxnIDLen random bytes shared by all of them, and,
// in one of them in each collection, its seal, the number of the
// transaction's blocks in that collection in "n" (2 to MaxTxnParts, the seal
// included). The writer makes the seal of the last change it signs in that
// collection when it can, or else writes it after the others as an empty
// change to the document written last; receivers accept either, wherever the
// seal comes among the parts. The writer signs every block of a transaction with
// one key, so a receiver that holds the seal and n-1 other blocks of the
// collection with the same ID and author holds every part and can merge them at
// once; blocks of other authors with that ID are not the transaction's (anyone
// who saw the ID can sign such blocks).
// The mark is content: it is part of the block's bytes and CID, but merging
// ignores it. Blocks written outside transactions have no "txn", so their
// bytes and CIDs are those of blocks written before transactions existed; a
// node that predates transactions refuses a block with "txn" as having an
// unknown key.
//
// The seal is needed, and is sometimes an empty change of its own, because a
// transaction learns how many blocks it wrote only when it commits, after the
// CIDs of some of the blocks it wrote are fixed (a created document's ID is
// its genesis CID, handed to the caller at once).
//
// # Versions and field identity
//
// A collection is identified by its first definition, its root: the schema ID
// every block carries, the topic, the genesis of every document ID. A later
// version is another definition (internal/schema's version format) whose CID is
// its version ID and which names the root and its parent version. A block
// written under a later version carries that ID in "ver"; a block without "ver"
// was written under the root, so the blocks written before versions existed
// keep their bytes and CIDs. Schema.Check checks a block against the version
// it names.
//
// A field's identity is its key (Field.ID), not its name: blocks and states
// are keyed by it. A field of the root version has its name as key, so every
// block and state written before versions existed is keyed by key already. A
// rename keeps the key; a field added by a later version gets a key that names
// its type as SDL spells it and its CRDT type ("nick@String/lww",
// "tags@[String!]/set", "author@Author/lww"), so a key means one kind and one
// merge rule on every peer whatever versions it knows, and two versions that
// add the same field independently agree on it. Merge ignores versions: it
// merges by key, so a state keeps the entries of fields its reader's version
// does not show (Schema.Read hides them), and passes them on.
//
// The wire change: "ver" is new; it is shorter than "schema" so that "schema"
// stays the last key of every block in dag-cbor's order. A node that predates
// versions refuses a block with "ver" as having an unknown key.
//
// # Nonces
//
// A nonce makes two equal writes two blocks where merging one block for both would
// lose a write. The rule:
//
//   - a genesis block has a nonce, so that two equal creates make two documents;
//   - a change with add may have one, and NewChange requires one, drawn at random
//     for each change: two replicas that make the same increment on the same heads
//     then make two blocks, and both increments count (with equal blocks the second
//     would merge as a no-op and one acknowledged increment would be lost);
//   - a change with sadd has one, for the same reason: two replicas that add the
//     same element on the same heads make two tags, so a remove that saw only one
//     of them leaves the other (add-wins); NewChange drops the nonce it was given
//     when a change to a set turns out to add nothing;
//   - a change without add or sadd has none: equal assignments and deletes give the same
//     state whether merged once or twice, so these blocks keep the size and CIDs
//     they have always had, and such a change has exactly one encoding.
//
// Every nonce is MinNonceLen to MaxNonceLen bytes. Decode accepts a change with add
// and no nonce, as written before changes had nonces. The design notes allow a nonce
// in genesis only; this rule replaces that one because it lost increments.
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
//     NewChange refuses an increment that would take an Int counter beyond int64,
//     or a Float counter beyond the float64 range, from the value it builds on,
//     but increments made concurrently on different replicas, each valid alone,
//     can overflow together: an Int sum wraps (2 × MaxInt64 reads as -2), a Float
//     sum reads as ±MaxFloat64 (its exact sum kept), the same on every replica
//     whatever the order;
//   - an add-wins set holds the elements that some merged block added and no
//     merged block removed since: see below;
//   - delete wins: once a block with delete is merged the state stays deleted;
//   - the heads are the merged blocks no other merged block names in prev.
//
// # Add-wins sets
//
// A list field declared with @crdt(type: set) is an observed-remove set whose
// concurrent add and remove of one element keep the element. Every element a
// block adds (sadd) is tagged with that block's CID. A writer removes an element
// by naming, in srem, the tags of it that its own state holds: since it builds
// on its heads, those are blocks of its past, so a concurrent addition, whose
// tag it cannot have seen, survives. NewChange computes both from the whole new
// content of the set ("make the set this") and the state it builds on.
//
// A set's state keeps, per element, its live tags and the tags merged blocks
// removed; the element is in the set while it has a live tag. An addition whose
// tag was already removed stays removed. Keeping removed tags costs a tag (about
// 40 bytes) per removal in the state, plus the element's own bytes while it is
// out of the set, and buys an order-free merge whatever a block
// names: an honest writer only removes tags of its past, which a causal merge has
// always merged before, but a hostile block may name a tag it has not seen, and
// without the removed tags the result would depend on whether that tag's block
// arrived first. So the state is a function of the set of merged blocks alone,
// in any order (causal or not), and encodes canonically: elements in
// CompareValues order, tags sorted by bytes.
//
// # Lists and relations
//
// A list field without @crdt(type: set) is last-writer-wins on the whole list: a
// block sets it like any other value. A relation field (`author: Author`) holds a
// document ID and is last-writer-wins; Check verifies the value is a well-formed
// document ID, never which collection it belongs to, which a block cannot prove
// and a node may not know yet (acceptance does not depend on what a node has
// received). The inverse side of a relation (`books: [Book]`) is derived: no
// block sets it (see Field.Derived).
package crdt
