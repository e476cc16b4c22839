// Package catchup decides when a node catches up: which (collection, peer)
// sessions to start, and when its next timer fires (Scheduler); within a
// session, which documents to pull in which requests (Pulls); and, among the
// sessions of a collection, which one pulls each document (Claims).
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
// Unsubscribed, a peer Connected or Disconnected, a Request for catch-up, a
// merge Failed, the clock's Tick, a session Stalled, Busy, Unfetched or Done)
// and collects with Ready the sessions to start.
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
//   - A session that timed out waiting for its peer (Stalled: the peer never
//     answered, or stopped answering) marks its key stalled until a session of
//     it ends otherwise or the peer disconnects. Stalled sessions start behind
//     every other queued session, and at most Config.Workers-1 of them run at
//     once: peers that never answer, however many (identities cost nothing),
//     hold at most that many workers, and only while nothing else waits.
//   - Subscribing to a collection catches it up with every connected peer, and
//     connecting to a peer catches every subscribed collection up with it, at once
//     and again after each delay of Config.Settle: a change published in the
//     moments before its author learned of the new subscriber reaches it by no
//     gossip.
//   - Every Config.Interval (when positive) every subscribed collection is caught
//     up with every connected peer: the backstop.
//   - Gossip of a collection from a peer that the node lost (Lost: pubsub
//     dropped it, its queues full during a burst) catches the collection up
//     with that peer Config.LostDelay after the first loss, once per burst,
//     rather than at the next backstop.
//   - A merge of a collection's received blocks that failed (Failed) requests
//     its sessions with every peer after a delay, Config.RetryMin for the
//     first failure and twice as long for each further one, up to
//     Config.RetryMax, until a session finds nothing to pull (Recovered): a
//     block the node can never merge is pulled again now and then, not by one
//     session after another.
//   - A session its peer refused for now (Busy: the peer serves as many
//     sessions or answers as it allows, in all or to this node) is requested
//     again after the same delays, for that session alone, until one of it is
//     served: a peer busy for a moment is asked again soon, not at the next
//     backstop.
//   - A session that failed for want of a collection version the node could
//     not fetch then, because other peers held its definition fetches
//     (Unfetched), is requested again after the same delays, for that session
//     alone, but at most a limit the node ties to how long a definition fetch
//     may take, until one of it ends otherwise: once those fetches end, the
//     session brings what it lacked soon, not at the next backstop.
//   - A session of a collection no longer subscribed, or with a peer no longer
//     connected, is not started.
//
// # Claims
//
// When several peers hold what a node lacks, its sessions with them find the
// same documents to differ. Claims makes each document's blocks travel once,
// without making any session depend on another's peer:
//
//   - Before it sends a request, a session claims the request's documents.
//     Those another session holds are left out of the request; the session
//     pulls all its other documents first.
//   - A claim lasts while its session pulls the document, then while the
//     document's blocks wait for the merge worker: it ends when the worker
//     has merged the arrival that carried the pull's last blocks (the node
//     reports the worker's position with Merged). Pulling a document again
//     before then would fetch the same blocks, since the store does not show
//     them yet; so even the session that pulled it waits.
//   - A pull that fails ends its claims at once, or once what it did queue is
//     merged; a session that ends releases whatever it still holds.
//   - A claim stalls when its session's peer has made no progress for the
//     stall duration (the node's claimStall, 3 s: in the node, progress is
//     each 64 KiB of blocks delivered, so a peer that trickles counts as
//     silent) while the session waits on it; time the session spends on
//     what it received (checking blocks, waiting for room in the inbox:
//     Busy) does not count. Any other session
//     takes a stalled claim over, and no session waits for one: a slow or
//     silent peer delays the documents it was asked for by the stall
//     duration, not by the session's timeout.
//   - Once the claims it left have ended, the session reconciles with its
//     peer again and pulls what still differs: its peer may hold a newer state
//     than the peer the documents came from, and the reconciliation compares
//     exactly that (the node's heads hash of each document now with the
//     peer's). A document another session claims again meanwhile is left
//     again; after a few such rounds (the node's shareRounds) the session
//     pulls without claiming, so that every session ends.
//   - A document whose claim ended after a merge may be claimed again by a
//     session that reconciled before it. While other sessions run, the node
//     therefore also leaves to the next reconciliation the documents whose
//     heads hash changed since the session's reconciliation: asking for them
//     again would only bring an empty answer.
//
// The node's Sync keeps its promise: a session ends only when everything its
// peer held when it last reconciled has been pulled, by it or by another
// session, and handed to the merge worker.
//
// Claims hold only the documents in flight: those of the requests under way
// (at most the running sessions × requests in flight × documents per request,
// 4 × 2 × 256 in the node) and those whose blocks wait for the merge worker
// (at most one per block the inbox holds, within Options.InboxBytes). A
// session's list of documents to pull is its own, as before.
package catchup
