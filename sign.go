package gossipdb

import (
	"sync/atomic"

	"github.com/gossipdb/gossipdb/crdt"
)

// signing is the signature of a block being made (crdt.Signing.Finish, about
// a third of the CPU a local write costs), computed by a goroutine of the node
// or by the writer itself, whichever takes it first: a writer that builds
// several blocks starts each one's signature with Node.signAhead, goes on,
// and calls wait before it uses the block. On a busy machine, where the
// goroutine is not run in time, the writer signs it itself, so it never waits
// for a core longer than signing would take it.
type signing struct {
	sg    *crdt.Signing
	taken atomic.Bool
	done  chan struct{} // closed once a goroutine of the node signed it
}

// signAhead starts computing sg's signature on a goroutine of the node
// (awaited by Close; none once Close has begun, and wait then signs).
func (n *Node) signAhead(sg *crdt.Signing) *signing {
	s := &signing{sg: sg, done: make(chan struct{})}
	n.goFunc(func() {
		if s.take() {
			close(s.done)
		}
	})
	return s
}

// take signs the block unless it is already taken, and reports whether it
// did.
func (s *signing) take() bool {
	if !s.taken.CompareAndSwap(false, true) {
		return false
	}
	s.sg.Finish()
	return true
}

// wait returns once the block is signed: at once if no goroutine has begun
// signing it, after signing it itself.
func (s *signing) wait() {
	if !s.take() {
		<-s.done
	}
}

// cancel spares the node's goroutine the signature of a block no longer
// wanted, unless it has begun.
func (s *signing) cancel() { s.taken.Store(true) }
