package reconcile

import (
	"encoding/binary"
	"fmt"
)

// Limits of a message; see the package doc. Decoders enforce them on anything a
// peer sends, and encoders never exceed them.
const (
	// MaxFrameSize is the largest frame payload, in bytes: a message plus, in the
	// first frame, the collection ID, or in an answer, the status byte.
	MaxFrameSize = 256 << 10
	// MaxRanges is the most ranges in one message.
	MaxRanges = 4096
	// MaxListLen is the most digests, items or keys in one range, and the most
	// bits in one range's bitmap.
	MaxListLen = 1024
	// maxCount is the largest item count a fingerprint may claim.
	maxCount = 1 << 40
)

// mode says what a range of a message carries.
type mode byte

// Range modes; the package doc describes them.
const (
	modeSkip        mode = 0 // agreed, or nothing to say
	modeFingerprint mode = 1 // fingerprint and count of the sender's items
	modeDigests     mode = 2 // initiator only: the digests of all its items
	modeItems       mode = 3 // responder only: keys and digests of all its items
	modeDiff        mode = 4 // responder only: the answer to modeDigests
	modeAgain       mode = 5 // not processed: send your view of it again
	numModes             = 6
)

var modeNames = [numModes]string{"skip", "fingerprint", "digests", "items", "diff", "again"}

func (m mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("mode(%d)", byte(m))
}

// bound is the exclusive upper end of a range: a key, or +∞.
type bound struct {
	key string
	inf bool
}

var infinity = bound{inf: true}

// less reports whether a < b.
func (a bound) less(b bound) bool { return !a.inf && (b.inf || a.key < b.key) }

// above reports whether key k is below the bound, that is inside a range that
// ends at b.
func (a bound) above(k string) bool { return a.inf || k < a.key }

func (a bound) String() string {
	if a.inf {
		return "+inf"
	}
	return fmt.Sprintf("%q", a.key)
}

// span is one range of a message: the keys from the previous range's upper bound
// (the empty key for the first) up to upper, and what the sender says about them.
type span struct {
	mode  mode
	upper bound

	fp      [FingerprintSize]byte   // modeFingerprint
	count   uint64                  // modeFingerprint: items the sender holds in the range
	digests [][FingerprintSize]byte // modeDigests; modeItems, one per key
	keys    []string                // modeItems, modeDiff: sorted, inside the range
	nbits   int                     // modeDiff: length of bits in bits
	bits    []byte                  // modeDiff: ceil(nbits/8) bytes, least significant bit first
}

// bit reports whether bit i of a modeDiff span's bitmap is set.
func (s *span) bit(i int) bool { return s.bits[i/8]&(1<<(i%8)) != 0 }

// encoder appends spans to a message. Keys and bounds are front-coded against the
// previous string written, which is the previous one in key order.
type encoder struct {
	buf    []byte
	prev   string // last key or bound written
	lower  bound  // upper bound of the last span written: where the next one starts
	ranges int
}

// state is a point an encoder can go back to.
type encoderState struct {
	n      int
	prev   string
	lower  bound
	ranges int
}

func (e *encoder) save() encoderState {
	return encoderState{n: len(e.buf), prev: e.prev, lower: e.lower, ranges: e.ranges}
}

func (e *encoder) restore(s encoderState) {
	e.buf, e.prev, e.lower, e.ranges = e.buf[:s.n], s.prev, s.lower, s.ranges
}

func (e *encoder) uvarint(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }

func (e *encoder) key(k string) {
	shared := commonPrefix(e.prev, k)
	e.uvarint(uint64(shared))
	e.uvarint(uint64(len(k) - shared))
	e.buf = append(e.buf, k[shared:]...)
	e.prev = k
}

func (e *encoder) bound(b bound) {
	if b.inf {
		e.uvarint(0)
		return
	}
	shared := commonPrefix(e.prev, b.key)
	e.uvarint(uint64(shared) + 1)
	e.uvarint(uint64(len(b.key) - shared))
	e.buf = append(e.buf, b.key[shared:]...)
	e.prev = b.key
}

// span appends s, which must start where the last span ended.
func (e *encoder) span(s *span) {
	e.buf = append(e.buf, byte(s.mode))
	switch s.mode {
	case modeFingerprint:
		e.buf = append(e.buf, s.fp[:]...)
		e.uvarint(s.count)
	case modeDigests:
		e.uvarint(uint64(len(s.digests)))
		for _, d := range s.digests {
			e.buf = append(e.buf, d[:]...)
		}
	case modeItems:
		e.uvarint(uint64(len(s.keys)))
		for i, k := range s.keys {
			e.key(k)
			e.buf = append(e.buf, s.digests[i][:]...)
		}
	case modeDiff:
		e.uvarint(uint64(s.nbits))
		e.buf = append(e.buf, s.bits...)
		e.uvarint(uint64(len(s.keys)))
		for _, k := range s.keys {
			e.key(k)
		}
	}
	e.bound(s.upper)
	e.lower = s.upper
	e.ranges++
}

// encodeMessage returns the encoding of spans, for tests and fuzzing.
func encodeMessage(spans []span) []byte {
	var e encoder
	for i := range spans {
		e.span(&spans[i])
	}
	return e.buf
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// decodeMessage parses a message. It never panics; errors wrap ErrProtocol or
// ErrLimit and say where the message went wrong. The result does not alias data.
func decodeMessage(data []byte) ([]span, error) {
	if len(data) > MaxFrameSize {
		return nil, fmt.Errorf("%w: message of %d bytes, at most %d", ErrLimit, len(data), MaxFrameSize)
	}
	d := decoder{data: data}
	var spans []span
	lower := bound{}
	for d.off < len(d.data) {
		if len(spans) == MaxRanges {
			return nil, fmt.Errorf("%w: more than %d ranges", ErrLimit, MaxRanges)
		}
		if lower.inf {
			return nil, fmt.Errorf("%w: range %d after the one ending at +inf", ErrProtocol, len(spans))
		}
		s, err := d.span(lower)
		if err != nil {
			return nil, fmt.Errorf("range %d at byte %d: %w", len(spans), d.off, err)
		}
		spans = append(spans, s)
		lower = s.upper
	}
	return spans, nil
}

type decoder struct {
	data []byte
	off  int
	prev string
}

var errTruncated = fmt.Errorf("%w: truncated", ErrProtocol)

func (d *decoder) uvarint() (uint64, error) {
	v, n := binary.Uvarint(d.data[d.off:])
	if n <= 0 {
		if n == 0 {
			return 0, errTruncated
		}
		return 0, fmt.Errorf("%w: varint overflows 64 bits", ErrProtocol)
	}
	d.off += n
	return v, nil
}

// length reads a uvarint that is at most limit.
func (d *decoder) length(what string, limit int) (int, error) {
	v, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if v > uint64(limit) {
		return 0, fmt.Errorf("%w: %s %d, at most %d", ErrLimit, what, v, limit)
	}
	return int(v), nil
}

func (d *decoder) bytes(n int) ([]byte, error) {
	if n > len(d.data)-d.off {
		return nil, errTruncated
	}
	b := d.data[d.off : d.off+n]
	d.off += n
	return b, nil
}

// string reads the rest of a front-coded string that shares its first shared
// bytes with the previous one.
func (d *decoder) string(shared uint64) (string, error) {
	if shared > uint64(len(d.prev)) {
		return "", fmt.Errorf("%w: string shares %d bytes with one of %d", ErrProtocol, shared, len(d.prev))
	}
	n, err := d.length("key suffix of", MaxKeySize-int(shared))
	if err != nil {
		return "", err
	}
	suffix, err := d.bytes(n)
	if err != nil {
		return "", err
	}
	s := d.prev[:shared] + string(suffix)
	d.prev = s
	return s, nil
}

func (d *decoder) key() (string, error) {
	shared, err := d.uvarint()
	if err != nil {
		return "", err
	}
	return d.string(shared)
}

func (d *decoder) bound() (bound, error) {
	v, err := d.uvarint()
	if err != nil {
		return bound{}, err
	}
	if v == 0 {
		return infinity, nil
	}
	k, err := d.string(v - 1)
	return bound{key: k}, err
}

// keys reads n sorted keys, the first at least lower, and, when digests is set, a
// digest after each.
func (d *decoder) keys(n int, lower bound, digests bool) ([]string, [][FingerprintSize]byte, error) {
	per := 2 // the least a key takes
	if digests {
		per += FingerprintSize
	}
	if n > (len(d.data)-d.off)/per {
		return nil, nil, errTruncated
	}
	keys := make([]string, n)
	var ds [][FingerprintSize]byte
	if digests {
		ds = make([][FingerprintSize]byte, n)
	}
	for i := range keys {
		k, err := d.key()
		if err != nil {
			return nil, nil, err
		}
		if (i == 0 && k < lower.key) || (i > 0 && k <= keys[i-1]) {
			return nil, nil, fmt.Errorf("%w: key %d %q out of order", ErrProtocol, i, k)
		}
		keys[i] = k
		if digests {
			b, err := d.bytes(FingerprintSize)
			if err != nil {
				return nil, nil, err
			}
			ds[i] = [FingerprintSize]byte(b)
		}
	}
	return keys, ds, nil
}

// span reads one range that starts at lower.
func (d *decoder) span(lower bound) (span, error) {
	var s span
	m, err := d.bytes(1)
	if err != nil {
		return s, err
	}
	s.mode = mode(m[0])
	switch s.mode {
	case modeSkip, modeAgain:
	case modeFingerprint:
		fp, err := d.bytes(FingerprintSize)
		if err != nil {
			return s, err
		}
		s.fp = [FingerprintSize]byte(fp)
		if s.count, err = d.uvarint(); err != nil {
			return s, err
		}
		if s.count == 0 || s.count > maxCount {
			return s, fmt.Errorf("%w: fingerprint of %d items", ErrProtocol, s.count)
		}
	case modeDigests:
		n, err := d.length("digest count", MaxListLen)
		if err != nil {
			return s, err
		}
		b, err := d.bytes(n * FingerprintSize)
		if err != nil {
			return s, err
		}
		s.digests = make([][FingerprintSize]byte, n)
		for i := range s.digests {
			s.digests[i] = [FingerprintSize]byte(b[i*FingerprintSize:])
		}
	case modeItems:
		n, err := d.length("item count", MaxListLen)
		if err != nil {
			return s, err
		}
		if s.keys, s.digests, err = d.keys(n, lower, true); err != nil {
			return s, err
		}
	case modeDiff:
		if s.nbits, err = d.length("bitmap length", MaxListLen); err != nil {
			return s, err
		}
		b, err := d.bytes((s.nbits + 7) / 8)
		if err != nil {
			return s, err
		}
		if s.nbits%8 != 0 && b[len(b)-1]>>(s.nbits%8) != 0 {
			return s, fmt.Errorf("%w: bitmap padding is not zero", ErrProtocol)
		}
		s.bits = append([]byte(nil), b...)
		n, err := d.length("key count", MaxListLen)
		if err != nil {
			return s, err
		}
		if s.keys, _, err = d.keys(n, lower, false); err != nil {
			return s, err
		}
	default:
		return s, fmt.Errorf("%w: unknown mode %d", ErrProtocol, m[0])
	}
	if s.upper, err = d.bound(); err != nil {
		return s, err
	}
	if !lower.less(s.upper) {
		return s, fmt.Errorf("%w: bound %v not above %v", ErrProtocol, s.upper, lower)
	}
	if len(s.keys) > 0 && !s.upper.above(s.keys[len(s.keys)-1]) {
		return s, fmt.Errorf("%w: key %q not below the range's bound %v", ErrProtocol, s.keys[len(s.keys)-1], s.upper)
	}
	return s, nil
}
