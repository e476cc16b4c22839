// Package orphans decides what a node does with the received blocks whose
// ancestors it lacks (orphans): which to keep while their history is fetched,
// which to drop, and which documents' histories to fetch and when.
//
// A Set is a state machine in the manner of raft's Ready: the node feeds it
// inputs (Park an orphan, a fetch is Done, Take a document's orphans back to merge
// them, Forget a collection) and collects the resulting actions with Ready: the
// fetches to start and the orphans dropped. It does no I/O, starts no goroutine
// and reads no clock, so tests drive it directly, and the same inputs always give
// the same actions.
//
// # Budgets
//
// Every parked orphan counts Cost bytes: twice its encoded size (the bytes, and
// about as much again for its decoded fields) plus Overhead for the bookkeeping.
// The orphans of the whole Set may cost at most Limits.Bytes, and those delivered
// through one connected peer (Orphan.Via, which a peer cannot forge, unlike the
// author) at most Limits.PeerBytes, so that one peer's flood evicts its own
// orphans before anyone else's. To make room, the oldest orphan of that peer, then
// the oldest of all, is dropped with reason Evicted; an orphan costing more than a
// peer's share is dropped at once. A block parked twice is kept once.
//
// # Fetches
//
// A document with parked orphans needs its history fetched. It waits in a queue
// of at most Limits.Queue documents (when full, the document waiting longest is
// dropped with all its orphans, Evicted, and counted in Ready.DroppedFetches),
// and at most Limits.Fetches fetches are in flight: one per document at a time,
// however many of its orphans arrive meanwhile. Each fetch is a round; when a
// document would need more than Limits.Rounds of them (an answer can be cut at
// its size limit, so completing a history may take several, but a peer that keeps
// answering without completing it is given up on), or a fetch fails, its orphans
// are dropped as Unresolved, and the document is given up on (Ready.GivenUp)
// against their authors, unless the node Excuses the fetch: it failed for a
// cause that is no fault of theirs. A fetch that found every peer busy may Pause
// while it waits to ask again: it then holds no slot, so a peer that answers
// busy for ever delays no other document's fetch, and Resume queues it again
// as the same round's retry (Fetch.Retry). A paused fetch whose orphans are
// all evicted meanwhile is given up on at once, as a failed one is, unless
// other peers' orphans crowded them out of Limits.Bytes: then it is dropped
// against nobody, since filling the budget must not cost an honest author,
// waiting on busy peers, its standing. Catch-up repairs whatever was
// dropped: dropping an orphan costs latency, never data.
package orphans
