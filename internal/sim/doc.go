// Package sim runs several gossipdb nodes in one goroutine over a simulated
// network, with one seeded random source and a simulated clock, so that a test
// runs thousands of fault schedules and replays any of them exactly from its seed.
//
// # What is real and what is simulated
//
// Each simulated node has a real store (an in-memory Badger, kept across a
// crash, as a disk keeps what was committed), and makes its decisions with the
// same code as a gossipdb.Node: crdt builds and merges blocks, store.Tx.Apply
// merges them atomically, orphans.Set decides which blocks wait and which
// histories to fetch (and from whom), inbox.Budget what the inbox admits,
// txns.Set which blocks of transactions wait for the rest of their
// transaction, catchup.Scheduler when catch-up sessions run and catchup.Pulls
// what they pull, reconcile.Session and reconcile.Respond compare the sets, and
// blocks.Planner chooses the blocks of an answer. Only the I/O is replaced: streams and pubsub
// by messages in an event queue ordered by (time, sequence), goroutines by
// events, the wall clock by the simulated one (plus a per-node offset that clock
// steps move). Not modelled yet: catchup.Claims, with which a node's sessions
// of one collection share out the documents they pull; each simulated session
// pulls everything it found to differ, as nodes did before.
//
// Gossip is modelled as a flood: a node sends a new block to its connected
// neighbours that subscribe to the collection, and each forwards what it has not
// seen before. Exactness of GossipSub is not the point; the guarantee under test
// is catch-up's, and gossip is only the fast path that faults break.
//
// The workload includes transfers: transactions that move an amount between
// the counts of two documents, in a form Node.Update writes (two changes and
// an empty seal), each of their blocks gossiped on its own so that faults split them. A
// receiver holds them until it has all three and merges them in one store
// transaction, as the node's txnHold does.
//
// Every node's store keeps secondary indexes on the collection, three of its
// two fields (each alone, and both in a composite, in either direction; the
// collection has no list or set field): some added before the workload,
// the others during it, and on some nodes one dropped (store.Store.DropIndex)
// and later added again. The store maintains them in the transactions that
// write the documents (local writes, merges of remote blocks, transactions);
// store.Store.BuildIndex builds each, a page of a few documents
// (store.Options.BuildPage) per event, as the node's build goroutine runs a
// page per transaction, so builds interleave with merges, crashes and
// restarts. A crash ends the builds; a restart resumes those not ready, as
// Open does. The index decisions draw from a source of their own, so that the
// rest of a schedule is what its seed gave before indexes were simulated.
//
// # Faults
//
// A schedule draws, from its seed: message delay, loss, duplication (and so
// reordering), partitions (symmetric ones disconnect the two sides; asymmetric
// ones drop one direction of a link that stays connected), node crashes (losing
// every queue, orphan, session, timer and message in flight, keeping what the
// store committed) and restarts, slow nodes (merging late), and clock steps
// (forward and back).
//
// # Checks
//
// After the workload, every fault heals, and the schedule runs until the
// subscribers converge or a bound of simulated time passes. Check then compares
// every subscriber with the model of acknowledged writes: no acknowledged block
// missing (lost), no document, value or counter total that nobody wrote
// (unexpected), all subscribers' encoded states byte-identical (divergent), and
// the budgets of the orphans, the inbox and the held transactions kept at every
// step. Each time a node merges a transaction, it must then hold every block of
// it (a partial transaction is a problem).
//
// At a restart that resumes a build, and on every node at the end, the
// store's Check (store.Tx.Check) must pass: it verifies, besides the
// documents, heads, change feed and author chains, every index against the
// documents' states, a building one up to where its build has read; and the
// node must keep exactly the indexes it added and did not drop. At the end,
// once the builds still running are finished (as the node would finish
// them), each index is also read whole, both ways, for the documents whose
// first field equals a document's, and for those whose first field lies
// between two documents': each read must give the live documents a scan of
// the states gives, in the index's order.
//
// # Running
//
//	go test ./internal/sim                           # 1,000 schedules (100 under -race)
//	go test ./internal/sim -run 'Sim$' -sim.schedules=20000   # a longer run
//	GOSSIPDB_SEED=7 go test ./internal/sim -run 'Sim$'        # the same schedules again
//	go test ./internal/sim -run 'Sim$' -v -args -seed=1234 -trace # one schedule, every event
//
// TestSimDeepHistories adds schedules of a few deep documents whose history
// answers hold 4 blocks (Config.Docs, Config.AnswerBlocks). TestSim takes
// consecutive seeds from GOSSIPDB_SEED (random when unset, and
// logged); a failing schedule prints its own seed and the command that replays
// it. TestSimRegressions replays the seeds of schedules that once failed. The
// stores are reused from one schedule to the next, emptied exactly by
// store.Store.Reset. docs/RELIABILITY.md has the figures.
package sim
