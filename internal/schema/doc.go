// Package schema turns GraphQL SDL into collection definitions and gives each
// definition its schema ID.
//
// A collection is declared as a plain GraphQL object type:
//
//	type User {
//		name: String!
//		age: Int
//		visits: Int @crdt(type: pncounter)
//		tags: [String!] @crdt(type: set)
//		scores: [Float]
//		team: Team
//	}
//	type Team {
//		members: [User]
//	}
//
// The scalars are String, Int, Float, Boolean, DateTime and JSON. A "!" makes a
// field required. A field is last-writer-wins unless it is an Int or Float marked
// @crdt(type: pncounter), which makes it a counter; @crdt(type: lww) states the
// default explicitly. A list of a scalar other than JSON ([Int], [Int!] with
// non-null items) is last-writer-wins on the whole list, or with
// @crdt(type: set) on a list of non-null items an add-wins set. A field whose
// type is a collection (team: Team) is a relation: it holds a document ID of that
// collection. A list of a collection (members: [User]) is the inverse side of a
// relation, derived from the one field of User whose type is Team; it holds
// nothing. A relation names a type of the same SDL or a collection already
// defined (Parse's known). A field may carry @index and a type DefraDB's
// composite @index(includes: [{field: "a"}, {field: "b", direction: DESC}]):
// Indexes returns them, and PatchIndexes those of a patch's SDL; they are a
// node's local choice, not part of the definition, so they change neither the
// canonical form nor the schema ID.
// A new type may not take a name the GraphQL API gives types of its own
// (Query, Mutation, ID, Ordering, Commit, CommitLink, or one ending in
// FilterArg, OrderArg, MutationInputArg, NumericFieldArg, CountArg,
// AggregateArg, GroupByArg or OperatorBlock): a collection is never dropped, and such a name would leave
// the node without a GraphQL schema. Nothing else of GraphQL is accepted: no interfaces,
// enums, unions, inputs, custom scalars, extensions, arguments or other
// directives, no lists of lists. Every rejection is an *Error that wraps
// ErrInvalid.
//
// Parse returns one crdt.Schema per type. Its ID is the CID of the definition's
// canonical dag-cbor encoding (see Encode), so every peer that declares the same
// fields, in whatever order, spacing or with whatever comments, derives the same
// ID, and any difference in a name, a kind, a "!" or a CRDT type gives another
// one. Encode and Decode move that canonical form to and from bytes, for storage
// and for peers; Decode trusts nothing it is given. Diff explains how two
// definitions of one collection differ.
//
// # Versions
//
// A collection's first definition is its root: its ID, the schema ID, is the
// collection's identity for good. A later version is another canonical form
// (EncodeVersion, DecodeVersion; see version.go), next to the root's and not
// changing it, that names the root and the parent version and gives each field
// a key: its identity in blocks and states. Both formats encode a field's name,
// kind, "!" and CRDT type alike, lists, sets, relations and inverse sides
// included. A root field's key is its name; a field added later gets AddedKey
// ("email@String/lww", "tags@[String!]/set", "author@Author/lww"), which names
// its type and CRDT type, so one key has one kind and one merge rule on every
// peer, whichever versions it knows and in whatever order it learned them. A
// rename keeps the key; a dropped field keeps its data under its key, and
// re-adding it with the same type and CRDT type brings the key back.
//
// Define is Parse for SDL that also gives defaults (@default): defaults are
// not part of a root, so it returns, with each root, the version Patch would
// make of it with that SDL.
//
// Patch turns the SDL of one type, with the directives only a patch takes
// (@default with DefraDB's spellings, @rename(from:)), into the next version of
// a chain; it refuses incompatible changes naming the field: another type
// (kind, list-ness, non-null items, a relation's target) or CRDT type, and a
// default on a list, a set or a relation. Adding or dropping an inverse side is
// compatible: it holds no data. An inverse side must keep exactly one relation
// to derive from, in the other collections' versions too: CheckInverses
// checks a new version against the others, and Patch refuses a version of
// Book that would leave Author's books: [Book] with two relations or none.
// CheckVersion checks
// a version a peer sent against its root and parent by the same rules, and
// VersionDiff says what a version changed.
//
// All functions are safe for concurrent use; the package has no state.
package schema
