package client

import (
	"errors"
	"fmt"
	"io"
)

// ErrAnswerTooLarge reports an answer from the node larger than the client
// reads for its request (the package doc lists the bounds): more than a
// gossipdb node sends for it, but for a document grown, write after write,
// past 64 MiB. The client stops reading soon after the bound, so such an
// answer costs at most a few times the bound in memory. A document ID of
// DocIDs, or a change of Changes, over its bound fails with it too.
var ErrAnswerTooLarge = errors.New("client: answer too large")

// Bounds, in bytes, on the answers the client reads whole, each chosen from
// what a node can send for the requests it bounds, with room to spare. The
// streamed answers have bounds of their own: each ID of DocIDs (idsBuffer),
// each change of Changes (MaxChangeEvent) and each answer of Subscription
// (MaxSubscriptionEvent).
const (
	// maxSmallAnswer bounds the answers that are one object of a few short
	// members: GET /api/v0/health (a status and a peer ID) and the ID of one
	// created document (DocIDResult), under 200 bytes.
	maxSmallAnswer = 64 << 10

	// maxListAnswer bounds the answers that list IDs, names or peers: the
	// results of CreateMany and Tx (at most gossipdb.MaxCreateMany and
	// MaxTxOps, 10,000, of about 75 bytes, some 750 KB), the node's
	// addresses, its connected peers (its connection manager keeps a few
	// hundred, libp2p's resource manager a few thousand, each some 100
	// bytes), its subscriptions (names of at most 128 bytes) and the catch-up
	// sessions of a collection (one of a few hundred bytes per peer). 16 MiB
	// holds a hundred thousand peers' addresses.
	maxListAnswer = 16 << 20

	// maxAnswer bounds the answers whose size follows the data: documents
	// (Get, Conflicts), GraphQL answers and collection descriptions and
	// policies. A GraphQL answer holds at most the node's result size
	// limit of documents (graphql.DefaultMaxResultSize, 4 MiB, counting
	// their IDs, keys and values), whose JSON takes at most 6 times as much
	// (a string of control characters, each written \u00XX): 64 MiB is 16
	// times the limit. A document's values are written in blocks of at most
	// crdt.MaxBlockSize (1 MiB), so this holds any document short of 64 full
	// blocks of values, or 10 of control characters. A collection's
	// definition encodes in at most 64 KiB (schema.MaxEncodedSize), and one
	// call defines at most gossipdb.MaxCollectionsPerCall (256) of them, some
	// 25 MiB described in JSON. The result of Check names the first problem
	// found: a few keys, each under Badger's 64 KB, in hexadecimal.
	maxAnswer = 64 << 20
)

// tooLarge is the error of an answer over limit bytes.
func tooLarge(limit int64) error {
	return fmt.Errorf("%w: more than %d bytes", ErrAnswerTooLarge, limit)
}

// limitedBody reads an answer's body up to limit bytes; reading more fails
// with an error matching ErrAnswerTooLarge, unlike io.LimitReader, whose
// io.EOF would make a cut answer look like a malformed one.
type limitedBody struct {
	r     io.Reader
	left  int64 // bytes still to read before the limit
	limit int64
}

func newLimitedBody(r io.Reader, limit int64) *limitedBody {
	return &limitedBody{r: r, left: limit, limit: limit}
}

// reset lets l read limit bytes more from where it is: to bound each part
// of an answer read in parts.
func (l *limitedBody) reset() { l.left = l.limit }

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One more byte tells an answer of exactly limit bytes from a larger one.
		var b [1]byte
		if n, err := l.r.Read(b[:]); n == 0 {
			return 0, err
		}
		return 0, tooLarge(l.limit)
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}
