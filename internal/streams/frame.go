package streams

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Frames describes a protocol's frame length prefixes for ReadLen: how long they
// may be, and the protocol's errors for those it refuses. A protocol package
// keeps one in a package variable that it never modifies; it is then safe for
// concurrent use.
type Frames struct {
	// MaxPrefixLen is the longest length prefix read, in bytes, from 1 to 9: 7 bits
	// of length each. It bounds what a peer can make ReadLen read before a
	// frame's length is known.
	MaxPrefixLen int
	// ErrMalformed is wrapped by the error for a prefix that is not a minimal
	// varint: one that ends with a zero byte after others.
	ErrMalformed error
	// ErrTooLarge is wrapped by the errors for a prefix longer than MaxPrefixLen
	// and for a length beyond ReadLen's limit.
	ErrTooLarge error
}

// ReadLen reads a frame's length prefix from r, an unsigned varint that must be
// minimal and at most f.MaxPrefixLen bytes long, and checks the length against
// limit. It returns the length and the prefix's size in bytes; io.EOF when r
// ends before the prefix and io.ErrUnexpectedEOF when it ends inside it. Other
// errors wrap f.ErrMalformed, f.ErrTooLarge or r's error.
func (f Frames) ReadLen(r io.ByteReader, limit int) (n, size int, err error) {
	var v uint64
	for i := 0; ; i++ {
		b, err := r.ReadByte()
		if err == io.EOF && i > 0 {
			return 0, 0, io.ErrUnexpectedEOF
		}
		if err != nil {
			return 0, 0, err
		}
		v |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			if b == 0 && i > 0 {
				return 0, 0, fmt.Errorf("%w: frame length is not a minimal varint", f.ErrMalformed)
			}
			size = i + 1
			break
		}
		if i+1 == f.MaxPrefixLen {
			return 0, 0, fmt.Errorf("%w: frame length prefix longer than %d bytes", f.ErrTooLarge, f.MaxPrefixLen)
		}
	}
	if v > uint64(limit) {
		return 0, 0, fmt.Errorf("%w: frame of %d bytes, at most %d", f.ErrTooLarge, v, limit)
	}
	return int(v), size, nil
}

// WriteFrame writes one frame to w: the total length of parts as an unsigned
// varint, then each part. It returns w's error and keeps no reference to parts.
// Over a stream, w is typically a bufio.Writer that the caller flushes.
func WriteFrame(w io.Writer, parts ...[]byte) error {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	var hdr [binary.MaxVarintLen64]byte
	if _, err := w.Write(hdr[:binary.PutUvarint(hdr[:], uint64(n))]); err != nil {
		return err
	}
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			return err
		}
	}
	return nil
}

// FrameSize returns the size of a frame of n payload bytes, its length prefix
// included.
func FrameSize(n int) int {
	var hdr [binary.MaxVarintLen64]byte
	return binary.PutUvarint(hdr[:], uint64(n)) + n
}
