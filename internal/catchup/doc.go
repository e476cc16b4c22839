// Package catchup decides when a node catches up: which (collection, peer)
// sessions to start, and when its next timer fires (Scheduler); and, within a
// session, which documents to pull in which requests (Pulls).
//
// # Words
//
// Catch-up is the whole process that makes a subscriber hold what its peers hold
// even when gossip lost messages: for one collection with one peer, reconcile
// (the set-reconciliation protocol step, internal/reconcile), then pull the
// documents found to differ (internal/blocks). One such run is a session. The
// public names Node.Sync and SyncStatus keep the word of the API; inside the code
// the process is "catch-up" and only the protocol step is "reconcile".
//
// # The Scheduler
//
// A Scheduler is a state machine in the manner of raft's Ready, like
// orphans.Set: the node feeds it events (a collection Subscribed or
// Unsubscribed, a peer Connected or Disconnected, a Request for catch-up, the
// clock's Tick, a session Done) and collects with Ready the sessions to start.
// Every event that depends on time takes the time as an argument: the Scheduler
// reads no clock, does no I/O and starts no goroutine, so a test or a simulation
// drives it with a simulated clock and the same inputs always give the same
// outputs.
//
// Its rules:
//
//   - A session is queued at most once; one asked for while it runs is queued
//     once more when it is Done (it may have compared before the change it
//     should see). The queue holds at most Config.Queue sessions; a request
//     beyond it is dropped and counted, the periodic backstop covers it.
//   - At most Config.Workers sessions run at once.
//   - Subscribing to a collection catches it up with every connected peer, and
//     connecting to a peer catches every subscribed collection up with it, at once
//     and again after each delay of Config.Settle: a change published in the
//     moments before its author learned of the new subscriber reaches it by no
//     gossip.
//   - Every Config.Interval (when positive) every subscribed collection is caught
//     up with every connected peer: the backstop.
//   - A session of a collection no longer subscribed, or with a peer no longer
//     connected, is not started.
package catchup
