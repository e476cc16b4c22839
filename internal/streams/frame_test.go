package streams_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/gossipdb/gossipdb/internal/streams"
)

var (
	errMalformed = errors.New("test: malformed")
	errTooLarge  = errors.New("test: too large")
	testFrames   = streams.Frames{MaxPrefixLen: 3, ErrMalformed: errMalformed, ErrTooLarge: errTooLarge}
)

func TestReadLen(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []byte
		limit   int
		n, size int
		err     error
		text    string
	}{
		{name: "zero", in: []byte{0}, limit: 10, n: 0, size: 1},
		{name: "one byte", in: []byte{0x7f, 0xaa}, limit: 1000, n: 127, size: 1},
		{name: "two bytes", in: []byte{0x80, 0x01}, limit: 1000, n: 128, size: 2},
		{name: "at the limit", in: binary.AppendUvarint(nil, 300), limit: 300, n: 300, size: 2},
		{name: "three bytes", in: binary.AppendUvarint(nil, 1<<21-1), limit: 1 << 21, n: 1<<21 - 1, size: 3},
		{name: "empty", in: nil, limit: 10, err: io.EOF},
		{name: "inside", in: []byte{0x80}, limit: 10, err: io.ErrUnexpectedEOF},
		{name: "inside, longer", in: []byte{0x80, 0x80}, limit: 10, err: io.ErrUnexpectedEOF},
		{name: "beyond the limit", in: binary.AppendUvarint(nil, 301), limit: 300, err: errTooLarge, text: "frame of 301 bytes, at most 300"},
		{name: "not minimal", in: []byte{0x81, 0x00}, limit: 10, err: errMalformed, text: "frame length is not a minimal varint"},
		{name: "not minimal, zero", in: []byte{0x80, 0x80, 0x00}, limit: 10, err: errMalformed},
		{name: "prefix too long", in: []byte{0x80, 0x80, 0x80, 0x01}, limit: 1 << 30, err: errTooLarge, text: "frame length prefix longer than 3 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := bytes.NewReader(tc.in)
			n, size, err := testFrames.ReadLen(r, tc.limit)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if err != nil {
				if want := fmt.Sprintf("%v: %s", tc.err, tc.text); tc.text != "" && err.Error() != want {
					t.Fatalf("err %q, want %q", err, want)
				}
				return
			}
			if n != tc.n || size != tc.size {
				t.Fatalf("ReadLen = %d, %d; want %d, %d", n, size, tc.n, tc.size)
			}
			if read := len(tc.in) - r.Len(); read != size {
				t.Fatalf("read %d bytes of a prefix of %d", read, size)
			}
		})
	}
}

// TestPrefixTooLongReadsNoMore checks that ReadLen stops at MaxPrefixLen bytes.
func TestPrefixTooLongReadsNoMore(t *testing.T) {
	r := bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	if _, _, err := testFrames.ReadLen(r, 1<<30); !errors.Is(err, errTooLarge) {
		t.Fatalf("err %v, want errTooLarge", err)
	}
	if r.Len() != 3 {
		t.Fatalf("read %d bytes, want 3", 6-r.Len())
	}
}

// TestWriteFrame checks that frames written with WriteFrame read back, and that
// FrameSize counts their bytes.
func TestWriteFrame(t *testing.T) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	frames := [][][]byte{
		{},
		{nil},
		{[]byte("abc")},
		{[]byte("ab"), nil, []byte("cd")},
		{bytes.Repeat([]byte{7}, 300)},
		{bytes.Repeat([]byte{1}, 100_000), bytes.Repeat([]byte{2}, 100_000)},
	}
	total := 0
	for _, parts := range frames {
		if err := streams.WriteFrame(w, parts...); err != nil {
			t.Fatal(err)
		}
		total += streams.FrameSize(len(bytes.Join(parts, nil)))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != total {
		t.Fatalf("wrote %d bytes, FrameSize says %d", buf.Len(), total)
	}
	r := bufio.NewReader(&buf)
	for i, parts := range frames {
		n, _, err := testFrames.ReadLen(r, 1<<20)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if want := bytes.Join(parts, nil); !bytes.Equal(payload, want) {
			t.Fatalf("frame %d: payload of %d bytes, want %d", i, len(payload), len(want))
		}
	}
	if _, _, err := testFrames.ReadLen(r, 1<<20); err != io.EOF {
		t.Fatalf("after the frames: %v, want io.EOF", err)
	}
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestWriteFrameError(t *testing.T) {
	if err := streams.WriteFrame(failWriter{}, []byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("err %v, want the writer's", err)
	}
}

// FuzzReadLen feeds arbitrary bytes to ReadLen: it must not panic, and what it
// accepts is within the limit and is the minimal encoding of the length.
func FuzzReadLen(f *testing.F) {
	for _, seed := range [][]byte{nil, {0}, {0x80}, {0x80, 0x00}, {0xff, 0xff, 0x7f}, {0xff, 0xff, 0xff, 0x01}, {0xac, 0x02}} {
		f.Add(seed, 1000)
	}
	f.Fuzz(func(t *testing.T, data []byte, limit int) {
		if limit < 0 {
			limit = -limit
		}
		n, size, err := testFrames.ReadLen(bytes.NewReader(data), limit)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, errMalformed) && !errors.Is(err, errTooLarge) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if n < 0 || n > limit || size > testFrames.MaxPrefixLen {
			t.Fatalf("accepted length %d (prefix of %d bytes) with a limit of %d", n, size, limit)
		}
		if enc := binary.AppendUvarint(nil, uint64(n)); !bytes.Equal(enc, data[:size]) {
			t.Fatalf("accepted prefix %x, the minimal encoding of %d is %x", data[:size], n, enc)
		}
	})
}

func ExampleFrames_ReadLen() {
	frames := streams.Frames{MaxPrefixLen: 3, ErrMalformed: errors.New("malformed"), ErrTooLarge: errors.New("too large")}
	var buf bytes.Buffer
	_ = streams.WriteFrame(&buf, []byte("hello, "), []byte("world"))
	r := bufio.NewReader(&buf)
	n, size, err := frames.ReadLen(r, 1024)
	fmt.Println(n, size, err)
	payload := make([]byte, n)
	_, _ = io.ReadFull(r, payload)
	fmt.Printf("%s\n", payload)

	_, _, err = frames.ReadLen(bytes.NewReader([]byte{0x85, 0x00}), 1024)
	fmt.Println(err)
	_, _, err = frames.ReadLen(bytes.NewReader([]byte{0x81, 0x10}), 1024)
	fmt.Println(err)
	// Output:
	// 12 1 <nil>
	// hello, world
	// malformed: frame length is not a minimal varint
	// too large: frame of 2049 bytes, at most 1024
}
