package crdt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/datamodel"
)

// decodeTree parses blocks and states into treeNode trees in one pass. It accepts
// exactly the canonical dag-cbor that appendTo (below) writes for a tree, as
// go-ipld-prime's encoder does, and refuses every other encoding while it
// parses, so that one content has one encoding (and one CID) without
// re-encoding to check. It accepts:
//
//   - Only definite lengths, and every integer, length and tag head in its
//     shortest form (an argument below 24 in the initial byte, then 1, 2, 4 or 8
//     bytes only when fewer do not suffice).
//   - Major type 0 and 1: integers within int64. Larger ones (which no block or
//     state holds, and which Decode refused when re-encoding failed) are refused.
//   - Major type 2: byte strings.
//   - Major type 3: text strings. Like go-ipld-prime's decoder, it does not check
//     that they are valid UTF-8 (dag-cbor says they must be); what a string may
//     hold is for the block and state checks to say.
//   - Major type 4: arrays.
//   - Major type 5: maps whose keys are text strings, each once, in dag-cbor's
//     order: shorter keys first, then bytewise.
//   - Major type 6: only tag 42, and only around a byte string holding 0x00 and
//     then a CID that go-cid parses, every byte of it.
//   - Major type 7: false, true, null, and 64-bit floats other than NaN and the
//     infinities (-0 included). Undefined, other simple values and 16- or 32-bit
//     floats are refused.
//   - Nothing after the top value.
//
// Strings, byte strings and map keys are at most 32 MiB, as go-ipld-prime's
// decoder allows. Collections nest at most lim.maxDepth deep (the top value is at
// depth 0; a collection at depth lim.maxDepth is refused). The allocation budget,
// lim.budget, counts what go-ipld-prime's decoder counted, so the two accept the
// same inputs: a collection's declared length, 8 plus the length of each map key,
// 4 per array item, the length of each string and byte string, 1 per boolean,
// integer or float, nothing for a null. A collection's declared length is also
// checked against the bytes left before its entries are allocated (an item takes
// at least one byte, a map entry two), so the tree never holds more nodes (96
// bytes each) than data has bytes. Within a block's budget, where an array item
// costs at least 5 units, the worst block makes about 40 MB of nodes, as it did
// with go-ipld-prime's decoder.
//
// The tree's strings, byte strings and map keys share one copy of data: the tree
// keeps all of it alive while any of them is.
func decodeTree(lim treeLimits, data []byte) (*treeNode, error) {
	d := cborDecoder{raw: data, data: string(data), budget: lim.budget, maxDepth: lim.maxDepth}
	var root treeNode
	if err := d.value(&root, 0); err != nil {
		return nil, err
	}
	if d.pos != len(d.data) {
		return nil, fmt.Errorf("unexpected content after end of the top value: %d bytes", len(d.data)-d.pos)
	}
	return &root, nil
}

// treeLimits bound what decodeTree may build from hostile data.
type treeLimits struct {
	maxDepth int   // how deep collections nest
	budget   int64 // in the units decodeTree's doc counts
}

// maxStringLen is the longest string or byte string decodeTree accepts, as
// go-ipld-prime's decoder.
const maxStringLen = 32 << 20

var (
	errBudget      = errors.New("structure needs too many resources to decode")
	errDepth       = errors.New("collections nest beyond the maximum nesting depth")
	errIndefinite  = errors.New("indefinite-length encoding rejected")
	errNotShortest = errors.New("not in canonical form: integer or length not minimally encoded")
)

// cborDecoder is decodeTree's position in its input.
type cborDecoder struct {
	raw      []byte
	data     string // raw's copy, which the tree's strings share
	pos      int
	budget   int64
	maxDepth int
}

// spend takes n units from the budget.
func (d *cborDecoder) spend(n int64) error {
	d.budget -= n
	if d.budget < 0 {
		return errBudget
	}
	return nil
}

// head reads an item's initial byte and its argument, which must be in its
// shortest form. It is not for major type 7, whose arguments are not integers.
func (d *cborDecoder) head() (major byte, arg uint64, err error) {
	if d.pos >= len(d.data) {
		return 0, 0, io.ErrUnexpectedEOF
	}
	ib := d.raw[d.pos]
	d.pos++
	major, info := ib>>5, ib&0x1f
	var n int
	switch {
	case info < 24:
		return major, uint64(info), nil
	case info <= 27:
		n = 1 << (info - 24)
	case info == 31:
		return 0, 0, errIndefinite
	default:
		return 0, 0, fmt.Errorf("reserved initial byte 0x%02x", ib)
	}
	if len(d.data)-d.pos < n {
		return 0, 0, io.ErrUnexpectedEOF
	}
	for _, c := range d.raw[d.pos : d.pos+n] {
		arg = arg<<8 | uint64(c)
	}
	d.pos += n
	// The shortest form of arg takes fewer bytes whenever its top half is zero.
	if arg < 24 || (n > 1 && arg>>(4*n) == 0) {
		return 0, 0, errNotShortest
	}
	return major, arg, nil
}

// length checks a string's or collection's declared length against the bytes
// left, where each unit takes at least per bytes, and returns it as an int.
func (d *cborDecoder) length(arg uint64, per int) (int, error) {
	if left := len(d.data) - d.pos; arg > uint64(left/per) {
		return 0, fmt.Errorf("length %d, more than the %d bytes left can hold", arg, left)
	}
	return int(arg), nil
}

// text reads a string's content after its head.
func (d *cborDecoder) text(arg uint64) (string, error) {
	if arg > maxStringLen {
		return "", fmt.Errorf("string of %d bytes, more than %d", arg, maxStringLen)
	}
	n, err := d.length(arg, 1)
	if err != nil {
		return "", err
	}
	s := d.data[d.pos : d.pos+n]
	d.pos += n
	return s, nil
}

// value decodes one item at depth into n.
func (d *cborDecoder) value(n *treeNode, depth int) error {
	if d.pos < len(d.raw) && d.raw[d.pos]>>5 == 7 {
		return d.simple(n)
	}
	major, arg, err := d.head()
	if err != nil {
		return err
	}
	switch major {
	case 0, 1:
		if arg > math.MaxInt64 {
			return errors.New("integer beyond int64")
		}
		i := int64(arg)
		if major == 1 {
			i = -1 - i
		}
		n.setInt(i)
		return d.spend(1)
	case 2, 3:
		s, err := d.text(arg)
		if err != nil {
			return err
		}
		n.kind, n.str = datamodel.Kind_String, s
		if major == 2 {
			n.kind = datamodel.Kind_Bytes
		}
		return d.spend(int64(len(s)))
	case 4:
		return d.list(n, arg, depth)
	case 5:
		return d.dict(n, arg, depth)
	case 6:
		return d.link(n, arg)
	}
	panic("unreachable: head returns major types 0 to 6")
}

// simple decodes an item of major type 7.
func (d *cborDecoder) simple(n *treeNode) error {
	ib := d.raw[d.pos]
	d.pos++
	switch ib {
	case 0xf4, 0xf5:
		n.setBool(ib == 0xf5)
		return d.spend(1)
	case 0xf6:
		n.kind = datamodel.Kind_Null
		return nil
	case 0xfb:
		if len(d.data)-d.pos < 8 {
			return io.ErrUnexpectedEOF
		}
		bits := binary.BigEndian.Uint64(d.raw[d.pos:])
		d.pos += 8
		if f := math.Float64frombits(bits); math.IsNaN(f) || math.IsInf(f, 0) {
			return errors.New("float is NaN or infinite")
		}
		n.kind, n.num = datamodel.Kind_Float, bits
		return d.spend(1)
	case 0xf9, 0xfa:
		return errors.New("not in canonical form: float narrower than 64 bits")
	}
	return fmt.Errorf("simple value 0x%02x is not false, true, null or a 64-bit float", ib)
}

// list decodes an array of arg items at depth.
func (d *cborDecoder) list(n *treeNode, arg uint64, depth int) error {
	if depth >= d.maxDepth {
		return errDepth
	}
	count, err := d.length(arg, 1)
	if err != nil {
		return err
	}
	if err := d.spend(int64(count)); err != nil {
		return err
	}
	n.kind = datamodel.Kind_List
	n.kids = make([]treeNode, count)
	for i := range n.kids {
		if err := d.spend(4); err != nil {
			return err
		}
		if err := d.value(&n.kids[i], depth+1); err != nil {
			return err
		}
	}
	return nil
}

// dict decodes a map of arg entries at depth.
func (d *cborDecoder) dict(n *treeNode, arg uint64, depth int) error {
	if depth >= d.maxDepth {
		return errDepth
	}
	count, err := d.length(arg, 2)
	if err != nil {
		return err
	}
	if err := d.spend(int64(count)); err != nil {
		return err
	}
	n.kind = datamodel.Kind_Map
	n.keys = make([]string, count)
	n.kids = make([]treeNode, count)
	for i := range n.kids {
		major, karg, err := d.head()
		if err != nil {
			return err
		}
		if major != 3 {
			return fmt.Errorf("map key of major type %d, want a text string", major)
		}
		k, err := d.text(karg)
		if err != nil {
			return err
		}
		if err := d.spend(int64(len(k)) + 8); err != nil {
			return err
		}
		if i > 0 && compareMapKeys(n.keys[i-1], k) >= 0 {
			return fmt.Errorf("not in canonical form: map key %.32q out of order or repeated", k)
		}
		n.keys[i] = k
		if err := d.value(&n.kids[i], depth+1); err != nil {
			return err
		}
	}
	return nil
}

// link decodes the content of tag arg, which must be a link: tag 42 around a byte
// string holding 0x00 and a CID.
func (d *cborDecoder) link(n *treeNode, tag uint64) error {
	if tag != 42 {
		return fmt.Errorf("tag %d", tag)
	}
	major, arg, err := d.head()
	if err != nil {
		return err
	}
	if major != 2 {
		return fmt.Errorf("tag 42 around major type %d, want a byte string", major)
	}
	s, err := d.text(arg)
	if err != nil {
		return err
	}
	if err := d.spend(int64(len(s))); err != nil {
		return err
	}
	if len(s) == 0 || s[0] != 0 {
		return errors.New("link does not start with the identity multibase 0x00")
	}
	c, err := cid.Cast(d.raw[d.pos-len(s)+1 : d.pos])
	if err != nil {
		return err
	}
	n.setLink(c)
	return nil
}

// appendTo appends the canonical dag-cbor encoding of the tree rooted at n
// to dst, the bytes decodeTree accepts for it: every integer, length and tag
// head in its shortest form, integers as major type 0 or 1, floats always in 64
// bits (the 9 bytes 0xfb and the IEEE 754 bits, as dag-cbor requires), strings
// and byte strings with their length, maps and lists with their count
// (definite lengths only), links as tag 42 around a byte string holding 0x00
// and the CID's bytes. Map entries are written in the tree's order, which must
// be dag-cbor's key order (trees are built presorted; see tree.go). It fails
// only on a node of no kind, a map with more keys than values or the other way
// round, or an undefined link, which no tree built from validated content
// holds.
func (n *treeNode) appendTo(dst []byte) ([]byte, error) {
	if _, err := n.encodedLen(); err != nil {
		return nil, err
	}
	return n.appendCBOR(dst), nil
}

// encodeBuffers holds the buffers encodeExact appends to; it keeps none larger
// than maxPooledBuffer, so that a block near MaxBlockSize does not stay
// allocated.
var encodeBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

const maxPooledBuffer = 64 << 10

// encodeExact returns what appendTo appends to an empty buffer, in a slice of
// exactly its length: appendTo writes into a pooled buffer, and the result is
// copied out.
func encodeExact(appendTo func(dst []byte) ([]byte, error)) ([]byte, error) {
	buf := encodeBuffers.Get().(*[]byte)
	data, err := appendTo((*buf)[:0])
	if err != nil {
		encodeBuffers.Put(buf)
		return nil, err
	}
	out := bytes.Clone(data)
	if cap(data) <= maxPooledBuffer {
		*buf = data
		encodeBuffers.Put(buf)
	}
	return out, nil
}

// appendLinks appends a list of links.
func appendLinks(dst []byte, cids []cid.Cid) ([]byte, error) {
	dst = appendHead(dst, 4, uint64(len(cids)))
	for _, c := range cids {
		var err error
		if dst, err = appendDefinedLink(dst, c); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

// appendDefinedLink is appendLink for a CID that must be defined: an
// undefined one fails with errUndefinedLink.
func appendDefinedLink(dst []byte, c cid.Cid) ([]byte, error) {
	if !c.Defined() {
		return nil, errUndefinedLink
	}
	return appendLink(dst, c), nil
}

// appendBytes appends a byte string.
func appendBytes(dst []byte, b []byte) []byte {
	return append(appendHead(dst, 2, uint64(len(b))), b...)
}

// errUndefinedLink is the error of encoding an undefined CID.
var errUndefinedLink = errors.New("cannot encode an undefined CID")

// appendLink appends a defined link: tag 42 around a byte string holding 0x00
// and the CID's bytes.
func appendLink(dst []byte, c cid.Cid) []byte {
	b := c.KeyString() // the CID's bytes, without a copy
	dst = appendHead(appendHead(dst, 6, 42), 2, uint64(1+len(b)))
	return append(append(dst, 0), b...)
}

// appendText appends a text string, such as a map key.
func appendText(dst []byte, s string) []byte {
	return append(appendHead(dst, 3, uint64(len(s))), s...)
}

// appendInt appends an integer.
func appendInt(dst []byte, i int64) []byte {
	major, arg := intHead(uint64(i))
	return appendHead(dst, major, arg)
}

// appendBool appends a boolean.
func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, 0xf5)
	}
	return append(dst, 0xf4)
}

// encodedLen returns the length of the tree's encoding, or the error appendTo
// fails with.
func (n *treeNode) encodedLen() (int, error) {
	switch n.kind {
	case datamodel.Kind_Null, datamodel.Kind_Bool:
		return 1, nil
	case datamodel.Kind_Int:
		_, arg := intHead(n.num)
		return headLen(arg), nil
	case datamodel.Kind_Float:
		return 9, nil
	case datamodel.Kind_String, datamodel.Kind_Bytes:
		return headLen(uint64(len(n.str))) + len(n.str), nil
	case datamodel.Kind_Link:
		if !n.link.Defined() {
			return 0, errUndefinedLink
		}
		l := 1 + n.link.ByteLen()
		return 2 + headLen(uint64(l)) + l, nil
	case datamodel.Kind_List:
		size := headLen(uint64(len(n.kids)))
		for i := range n.kids {
			s, err := n.kids[i].encodedLen()
			if err != nil {
				return 0, err
			}
			size += s
		}
		return size, nil
	case datamodel.Kind_Map:
		if len(n.keys) != len(n.kids) {
			return 0, fmt.Errorf("cannot encode a map of %d keys and %d values", len(n.keys), len(n.kids))
		}
		size := headLen(uint64(len(n.kids)))
		for i, k := range n.keys {
			s, err := n.kids[i].encodedLen()
			if err != nil {
				return 0, err
			}
			size += headLen(uint64(len(k))) + len(k) + s
		}
		return size, nil
	}
	return 0, fmt.Errorf("cannot encode a node of kind %v", n.kind)
}

// appendCBOR appends the encoding of the tree rooted at n, which encodedLen
// accepted, to dst.
func (n *treeNode) appendCBOR(dst []byte) []byte {
	switch n.kind {
	case datamodel.Kind_Null:
		return append(dst, 0xf6)
	case datamodel.Kind_Bool:
		return appendBool(dst, n.b)
	case datamodel.Kind_Int:
		return appendInt(dst, int64(n.num))
	case datamodel.Kind_Float:
		return binary.BigEndian.AppendUint64(append(dst, 0xfb), n.num)
	case datamodel.Kind_String:
		return appendText(dst, n.str)
	case datamodel.Kind_Bytes:
		return append(appendHead(dst, 2, uint64(len(n.str))), n.str...)
	case datamodel.Kind_Link:
		return appendLink(dst, n.link)
	case datamodel.Kind_List:
		dst = appendHead(dst, 4, uint64(len(n.kids)))
		for i := range n.kids {
			dst = n.kids[i].appendCBOR(dst)
		}
		return dst
	case datamodel.Kind_Map:
		dst = appendHead(dst, 5, uint64(len(n.kids)))
		for i, k := range n.keys {
			dst = append(appendHead(dst, 3, uint64(len(k))), k...)
			dst = n.kids[i].appendCBOR(dst)
		}
		return dst
	}
	panic("unreachable: encodedLen accepted the tree")
}

// intHead returns the major type and argument of an integer, given as its
// two's complement: 0 and the integer when it is not negative, else 1 and
// -1 minus the integer.
func intHead(num uint64) (major byte, arg uint64) {
	if int64(num) < 0 {
		return 1, ^num
	}
	return 0, num
}

// headLen returns the length of an item's head with argument arg in its
// shortest form.
func headLen(arg uint64) int {
	switch {
	case arg < 24:
		return 1
	case arg <= math.MaxUint8:
		return 2
	case arg <= math.MaxUint16:
		return 3
	case arg <= math.MaxUint32:
		return 5
	}
	return 9
}

// appendHead appends an item's head: its major type and argument arg, in the
// shortest form.
func appendHead(dst []byte, major byte, arg uint64) []byte {
	ib := major << 5
	switch {
	case arg < 24:
		return append(dst, ib|byte(arg))
	case arg <= math.MaxUint8:
		return append(dst, ib|24, byte(arg))
	case arg <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, ib|25), uint16(arg))
	case arg <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, ib|26), uint32(arg))
	}
	return binary.BigEndian.AppendUint64(append(dst, ib|27), arg)
}
