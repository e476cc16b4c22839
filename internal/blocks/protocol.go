package blocks

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/datamodel"
	"github.com/ipld/go-ipld-prime/fluent/qp"
	cidlink "github.com/ipld/go-ipld-prime/linking/cid"
	"github.com/ipld/go-ipld-prime/node/basicnode"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/gossipdb/gossipdb/internal/streams"
)

// ProtocolID is the libp2p protocol of the block exchange.
//
// Version 2 added the collection's schema ID to every request: the server finds
// a document's genesis, while it is the document's only block, in its
// collection's records, and does not try every collection.
const ProtocolID protocol.ID = "/gossipdb/blocks/2"

// Protocol limits. Both sides enforce them; see the package doc.
const (
	// MaxRequestSize is the largest request frame, in bytes.
	MaxRequestSize = 256 << 10
	// MaxItems is the most items in one request.
	MaxItems = 1024
	// MaxLinks is the most links in one item's want or have list.
	MaxLinks = 1024
	// MaxAnswerBlocks is the most blocks in one answer.
	MaxAnswerBlocks = 20_000
	// MaxAnswerBytes is the most block bytes (frame payloads) in one answer.
	MaxAnswerBytes = 32 << 20
	// DefaultTimeout bounds a whole exchange, from opening the stream to the end
	// marker, when the caller gives no deadline.
	DefaultTimeout = 30 * time.Second
)

// Errors of the package. Check them with errors.Is; Fetch wraps them in a *PeerError.
var (
	// ErrProtocol reports a peer that broke the protocol: a malformed frame or
	// request (one without a schema ID, or for a collection the server does not
	// store, included), a block that does not hash or decode, or a block of a
	// document that was not asked for.
	ErrProtocol = errors.New("blocks: protocol violation")
	// ErrLimit reports a request or answer beyond a limit of the protocol.
	ErrLimit = errors.New("blocks: limit exceeded")
	// ErrBusy reports a peer that refused a request because it was answering as
	// many as it allows (or its resource manager refused the stream): try later or
	// elsewhere.
	ErrBusy = errors.New("blocks: peer busy")
	// ErrTimeout reports an exchange that did not complete within its deadline.
	ErrTimeout = errors.New("blocks: timeout")
)

// PeerError is the error Fetch returns: what went wrong with which peer. Err wraps
// one of the package's sentinel errors, the error of the caller's function, a
// context error or the stream's error.
type PeerError struct {
	Peer peer.ID // the peer asked
	Err  error   // what went wrong
}

// Error implements error.
func (e *PeerError) Error() string { return fmt.Sprintf("peer %s: %v", e.Peer, e.Err) }

// Unwrap returns e.Err.
func (e *PeerError) Unwrap() error { return e.Err }

// Item asks for the blocks of one document: those in Want and their ancestors,
// minus Have and its ancestors. An empty Want means the peer's current heads of Doc.
// Have names blocks of Doc the requester holds (see the function Have: its
// heads, then blocks of its log below them), empty if it has none of it.
type Item struct {
	Doc  cid.Cid   // document ID (genesis CID)
	Want []cid.Cid // blocks needed; empty means the peer's heads
	Have []cid.Cid // blocks the requester holds
}

// Request map keys.
const (
	keySchema = "schema"
	keyItems  = "items"
	keyDoc    = "doc"
	keyWant   = "want"
	keyHave   = "have"
)

// requestDecodeOptions bound what a hostile request can make the decoder allocate:
// the request is at most four levels deep (map, items list, item map, link list) and
// the budget, in the decoder's units of about a byte or an entry, is a few times the
// largest frame.
var requestDecodeOptions = dagcbor.DecodeOptions{
	AllowLinks:            true,
	AllocationBudget:      4 * MaxRequestSize,
	MaxCollectionPrealloc: MaxLinks,
	MaxDepth:              4,
}

// checkItems validates items before they are encoded.
func checkItems(items []Item) error {
	if len(items) > MaxItems {
		return fmt.Errorf("%w: %d items, at most %d", ErrLimit, len(items), MaxItems)
	}
	docs := make(map[cid.Cid]bool, len(items))
	for i, it := range items {
		if !it.Doc.Defined() {
			return fmt.Errorf("blocks: item %d: undefined document ID", i)
		}
		if docs[it.Doc] {
			return fmt.Errorf("blocks: item %d: document %s named again", i, it.Doc)
		}
		docs[it.Doc] = true
		if len(it.Want) > MaxLinks || len(it.Have) > MaxLinks {
			return fmt.Errorf("%w: item %d has %d want and %d have, at most %d each",
				ErrLimit, i, len(it.Want), len(it.Have), MaxLinks)
		}
		for _, c := range append(it.Want[:len(it.Want):len(it.Want)], it.Have...) {
			if !c.Defined() {
				return fmt.Errorf("blocks: item %d: undefined CID in want or have", i)
			}
		}
	}
	return nil
}

// encodeRequest checks items and returns the payload of a request for them, of
// the collection with the given schema ID.
func encodeRequest(schema cid.Cid, items []Item) ([]byte, error) {
	if !schema.Defined() {
		return nil, errors.New("blocks: undefined schema ID")
	}
	if err := checkItems(items); err != nil {
		return nil, err
	}
	n, err := qp.BuildMap(basicnode.Prototype.Any, 2, func(ma datamodel.MapAssembler) {
		qp.MapEntry(ma, keySchema, qp.Link(cidlink.Link{Cid: schema}))
		qp.MapEntry(ma, keyItems, qp.List(int64(len(items)), func(la datamodel.ListAssembler) {
			for _, it := range items {
				qp.ListEntry(la, qp.Map(3, func(ma datamodel.MapAssembler) {
					qp.MapEntry(ma, keyDoc, qp.Link(cidlink.Link{Cid: it.Doc}))
					qp.MapEntry(ma, keyWant, linkList(it.Want))
					qp.MapEntry(ma, keyHave, linkList(it.Have))
				}))
			}
		}))
	})
	if err != nil {
		return nil, fmt.Errorf("blocks: building request: %w", err)
	}
	var buf bytes.Buffer
	if err := dagcbor.Encode(n, &buf); err != nil {
		return nil, fmt.Errorf("blocks: encoding request: %w", err)
	}
	if buf.Len() > MaxRequestSize {
		return nil, fmt.Errorf("%w: request is %d bytes, at most %d", ErrLimit, buf.Len(), MaxRequestSize)
	}
	return buf.Bytes(), nil
}

func linkList(cids []cid.Cid) qp.Assemble {
	return qp.List(int64(len(cids)), func(la datamodel.ListAssembler) {
		for _, c := range cids {
			qp.ListEntry(la, qp.Link(cidlink.Link{Cid: c}))
		}
	})
}

// decodeRequest parses a request payload into the schema ID of the collection it
// asks about and its items, which name each document once. Errors wrap
// ErrProtocol or ErrLimit.
func decodeRequest(data []byte) (cid.Cid, []Item, error) {
	nb := basicnode.Prototype.Any.NewBuilder()
	if err := requestDecodeOptions.Decode(nb, bytes.NewReader(data)); err != nil {
		return cid.Undef, nil, fmt.Errorf("%w: request is not dag-cbor: %v", ErrProtocol, err)
	}
	n := nb.Build()
	if n.Kind() != datamodel.Kind_Map {
		return cid.Undef, nil, fmt.Errorf("%w: request is a %s, want a map", ErrProtocol, n.Kind())
	}
	sn, err := n.LookupByString(keySchema)
	if err != nil {
		return cid.Undef, nil, fmt.Errorf("%w: request has no %q", ErrProtocol, keySchema)
	}
	schema, err := linkValue(sn)
	if err != nil {
		return cid.Undef, nil, fmt.Errorf("%s: %w", keySchema, err)
	}
	list, err := n.LookupByString(keyItems)
	if err != nil {
		return cid.Undef, nil, fmt.Errorf("%w: request has no %q", ErrProtocol, keyItems)
	}
	if list.Kind() != datamodel.Kind_List {
		return cid.Undef, nil, fmt.Errorf("%w: %q is a %s, want a list", ErrProtocol, keyItems, list.Kind())
	}
	if list.Length() > MaxItems {
		return cid.Undef, nil, fmt.Errorf("%w: %d items, at most %d", ErrLimit, list.Length(), MaxItems)
	}
	items := make([]Item, 0, list.Length())
	docs := make(map[cid.Cid]bool, list.Length())
	for li := list.ListIterator(); !li.Done(); {
		i, v, err := li.Next()
		if err != nil {
			return cid.Undef, nil, fmt.Errorf("%w: %v", ErrProtocol, err)
		}
		it, err := decodeItem(v)
		if err != nil {
			return cid.Undef, nil, fmt.Errorf("item %d: %w", i, err)
		}
		if docs[it.Doc] {
			return cid.Undef, nil, fmt.Errorf("%w: item %d names document %s again", ErrProtocol, i, it.Doc)
		}
		docs[it.Doc] = true
		items = append(items, it)
	}
	return schema, items, nil
}

func decodeItem(n datamodel.Node) (Item, error) {
	var it Item
	if n.Kind() != datamodel.Kind_Map {
		return it, fmt.Errorf("%w: item is a %s, want a map", ErrProtocol, n.Kind())
	}
	d, err := n.LookupByString(keyDoc)
	if err != nil {
		return it, fmt.Errorf("%w: item has no %q", ErrProtocol, keyDoc)
	}
	if it.Doc, err = linkValue(d); err != nil {
		return it, fmt.Errorf("%s: %w", keyDoc, err)
	}
	if it.Want, err = optionalLinks(n, keyWant); err != nil {
		return it, err
	}
	if it.Have, err = optionalLinks(n, keyHave); err != nil {
		return it, err
	}
	return it, nil
}

// optionalLinks reads the list of links under key, absent meaning empty.
func optionalLinks(n datamodel.Node, key string) ([]cid.Cid, error) {
	v, err := n.LookupByString(key)
	if err != nil {
		return nil, nil // absent: empty
	}
	if v.Kind() != datamodel.Kind_List {
		return nil, fmt.Errorf("%w: %q is a %s, want a list", ErrProtocol, key, v.Kind())
	}
	if v.Length() > MaxLinks {
		return nil, fmt.Errorf("%w: %q has %d links, at most %d", ErrLimit, key, v.Length(), MaxLinks)
	}
	out := make([]cid.Cid, 0, v.Length())
	for li := v.ListIterator(); !li.Done(); {
		i, e, err := li.Next()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrProtocol, err)
		}
		c, err := linkValue(e)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", key, i, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func linkValue(n datamodel.Node) (cid.Cid, error) {
	if n.Kind() != datamodel.Kind_Link {
		return cid.Undef, fmt.Errorf("%w: a %s, want a link", ErrProtocol, n.Kind())
	}
	l, err := n.AsLink()
	if err != nil {
		return cid.Undef, fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	cl, ok := l.(cidlink.Link)
	if !ok || !cl.Cid.Defined() {
		return cid.Undef, fmt.Errorf("%w: link %v is not a CID", ErrProtocol, l)
	}
	return cl.Cid, nil
}

// frames reads the protocol's frame length prefixes: at most four bytes, whose 28
// bits exceed any limit of the protocol.
var frames = streams.Frames{MaxPrefixLen: 4, ErrMalformed: ErrProtocol, ErrTooLarge: ErrLimit}
