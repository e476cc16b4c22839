// Package txns decides what a node does with the received blocks that are
// parts of a transaction (crdt.TxnPart): it holds them until the node has
// every part of their transaction in their collection, then hands them over
// together, so that the node merges them in one store transaction and a
// reader never sees part of a transaction.
//
// A Set is a state machine in the manner of internal/orphans: the node feeds
// it inputs (Add a received part, Depend a block whose parent is a held part,
// report a transaction Merged or Blocked, Wake the transactions of a document
// whose history arrived, Forget a collection) and collects the results with
// Ready: the transactions complete (to merge), and the parts dropped. It does
// no I/O, starts no goroutine and reads no clock.
//
// # Completeness
//
// A transaction is known by its collection (the blocks' schema ID), its
// author (the key that signed its blocks: a node signs every block of a
// transaction it writes with its own key) and its ID. It is complete when the
// Set holds its seal (the part whose Parts is n) and n distinct parts in all,
// the seal included. Parts of one transaction that claim different counts, or
// more parts than the seal counts, are a lie of their author: the transaction
// is dropped (Reason Invalid). The author is part of the key so that no one
// else can tell that lie: a peer that saw an honest transaction's ID on gossip
// and sends blocks of its own with that ID and another count makes a
// transaction of its own, which never completes and is evicted in time, and
// the honest one completes beside it. An honest transaction is thus never
// dropped Invalid, and the node need not fetch such a transaction's blocks
// again. A complete transaction is
// handed over once; if the node cannot merge it yet because a part's parent
// outside the transaction is missing (Blocked), the Set keeps it and hands it
// over again when the node Wakes one of its documents, which it does whenever
// blocks of that document arrive (its history fetch, catch-up). A transaction
// that completes while one of its parts builds on a held part of another
// transaction not yet handed over is blocked from the start: it cannot be
// merged before that one, and the node wakes it when it merges that one (it
// Wakes the documents it merged).
//
// # Dependents
//
// A block that builds on a held part (a later change arrived before the
// transaction completed) cannot be merged before it, and fetching its history
// would not help: the peers answer with the part, which is held already. The
// node gives it to the Set (Depend), which keeps it with the transaction and
// returns it when the transaction is Merged, so that it is merged right after.
//
// # Budgets
//
// Every held block, part or dependent, costs orphans.Cost. All of them may
// cost at most Limits.Bytes; those of the transactions whose first part came
// through one connected peer at most Limits.PeerBytes. To make room, whole
// transactions are dropped, with their dependents (Reason Evicted): the
// oldest of that peer's, then the oldest of all (those no other held
// transaction builds on before those some do), but never one complete and
// handed over, which is about to be merged (the block that needs the room is
// dropped instead). A dependent never evicts its own transaction: the
// transaction's other dependents go first, then the new one. Nor does a
// transaction evict those it builds on, directly or through a block held as
// their dependent, whatever the order their parts come in: it could not be
// merged before them, so it gives way (its dependents, then itself) and comes
// again once they are merged. The node adds a
// batch's parts with AddAll, one transaction after the other, each after
// those it builds on (directly, or through the batch's changes outside any
// transaction), so that in a chain of transactions, which catch-up brings
// whole, the first completes before the later ones need its room (in height
// order alone, a later transaction whose parts lie lower in one document may
// evict an earlier one whose parts lie deeper in another). A
// transaction that completes waiting for another held one is blocked, not
// handed over, so it gives way to that one. A transaction is never kept
// in part: a hostile peer that sends the first part of a transaction of many
// and never the rest makes the Set hold at most PeerBytes for it, which the
// next of its parts or another transaction evicts. Dropping costs latency,
// never data: the node catches up with the peer the blocks came through, and
// reconciliation brings whatever was dropped, since a receiver that merged a
// transaction holds and serves all of its parts.
package txns
