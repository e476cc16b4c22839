// Package versions implements /gossipdb/versions/1, the exchange by which a
// node fetches the definitions of a collection's later versions from a peer: a
// block names the version it was written under, and a node that does not know
// that version asks the peer that sent the block for it.
//
// The request is one frame holding the version ID's bytes. The answer is one
// frame per definition: the version asked for, then its parent, and so on
// along the chain for as long as the server stores the definitions, which ends
// at the collection's root (the requester has it: it is subscribed to the
// collection). At most MaxChain definitions of at most schema.MaxEncodedSize
// bytes each, and MaxAnswerBytes in all, are sent or read. The server sends only
// definitions it stores, which it accepted before; the requester trusts none
// of them: Fetch checks that each hashes to the ID it follows from (the first
// to the ID asked for, each next to the parent its predecessor names), and the
// caller checks each version against its parent and root. A chain longer than
// one answer arrives in a few: FetchChain asks again from where a full answer
// stopped, up to schema.MaxChain definitions.
package versions
