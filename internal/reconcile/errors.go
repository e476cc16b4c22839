package reconcile

import "errors"

// Errors of the package. Check them with errors.Is; Reconcile wraps them in a
// *PeerError.
var (
	// ErrProtocol reports a peer that broke the protocol: a malformed frame or
	// message, a range in a mode its role may not send, or answers inconsistent
	// with what was asked.
	ErrProtocol = errors.New("reconcile: protocol violation")
	// ErrLimit reports a frame, message or session beyond a limit: the frame or
	// message size, ranges or list lengths, the session's rounds or total bytes.
	ErrLimit = errors.New("reconcile: limit exceeded")
	// ErrUnknownCollection reports a collection the peer does not hold. A Source
	// returns it (possibly wrapped) for a collection it does not serve.
	ErrUnknownCollection = errors.New("reconcile: peer does not have the collection")
	// ErrTimeout reports a session that did not end within its time limit.
	ErrTimeout = errors.New("reconcile: timeout")
	// ErrBusy reports a peer that refused the session because it was running as
	// many as it allows, or their snapshots took the memory it allows (or its
	// resource manager refused the stream): try later.
	ErrBusy = errors.New("reconcile: peer busy")
	// ErrRemote reports a peer that could not serve the session for a reason of
	// its own, such as a failing store.
	ErrRemote = errors.New("reconcile: peer failed")
	// ErrInvalidSet reports items that NewSet refuses: keys out of order,
	// repeated or longer than MaxKeySize.
	ErrInvalidSet = errors.New("reconcile: invalid item set")
)
