package crdt

import (
	"encoding/binary"
	"errors"
	"math"
)

// ErrNotScannable is returned by ScanGenesis and ScanState for an encoding
// they do not read field by field (a Float counter's exact sum, a set, a
// list asked for); the caller decodes the whole state instead.
var ErrNotScannable = errors.New("crdt: value needs a full decode")

// Null is the value ScanGenesis and ScanState read for a field the encoding
// holds as null (a cleared field), as against nil for a field it does not
// hold: a reader shows the field's default only for the latter (Field.Reads).
var Null any = null{}

type null struct{}

// errScan reports malformed bytes met by a scan.
var errScan = errors.New("crdt: malformed dag-cbor in scan")

// ScanGenesis reads, from the canonical encoding of a genesis block, the
// values of the fields named in names into out (same length; nil for a field
// the block does not set, Null for one it sets to null), without decoding the rest. It is the fast path of a
// query that tests a few fields of many stored documents: it trusts the bytes
// to be a stored, checked block, and reports what it cannot read with an
// error (ErrNotScannable or a malformed encoding).
func ScanGenesis(data []byte, names []string, out []any) error {
	clear(out)
	s := scanner{b: data}
	n, err := s.mapHeader()
	if err != nil {
		return err
	}
	for range n {
		k, err := s.text()
		if err != nil {
			return err
		}
		if string(k) == keySet || string(k) == keyAdd {
			if err := s.fieldMap(names, out, false); err != nil {
				return err
			}
			continue
		}
		if string(k) == keySAdd || string(k) == keySRem {
			return ErrNotScannable // a set's value is its merged items
		}
		if err := s.skip(); err != nil {
			return err
		}
	}
	return nil
}

// ScanState reads, from the encoding of a state (State.Encode), the values of
// the fields named in names into out (same length; nil for an absent field,
// Null for a cleared one) and whether the document is deleted, as ScanGenesis does for
// a genesis block.
func ScanState(data []byte, names []string, out []any) (deleted bool, err error) {
	clear(out)
	s := scanner{b: data}
	n, err := s.mapHeader()
	if err != nil {
		return false, err
	}
	for range n {
		k, err := s.text()
		if err != nil {
			return false, err
		}
		switch string(k) {
		case keyFields:
			if err := s.fieldMap(names, out, true); err != nil {
				return false, err
			}
		case keyDeleted:
			v, err := s.value()
			if err != nil {
				return false, err
			}
			deleted, _ = v.(bool)
		default:
			if err := s.skip(); err != nil {
				return false, err
			}
		}
	}
	return deleted, nil
}

type scanner struct {
	b []byte
	i int
}

// head reads an item's header: major type and argument.
func (s *scanner) head() (major byte, arg uint64, err error) {
	if s.i >= len(s.b) {
		return 0, 0, errScan
	}
	c := s.b[s.i]
	s.i++
	major, info := c>>5, c&31
	switch {
	case info < 24:
		return major, uint64(info), nil
	case info <= 27:
		n := 1 << (info - 24)
		if s.i+n > len(s.b) {
			return 0, 0, errScan
		}
		switch n {
		case 1:
			arg = uint64(s.b[s.i])
		case 2:
			arg = uint64(binary.BigEndian.Uint16(s.b[s.i:]))
		case 4:
			arg = uint64(binary.BigEndian.Uint32(s.b[s.i:]))
		default:
			arg = binary.BigEndian.Uint64(s.b[s.i:])
		}
		s.i += n
		return major, arg, nil
	}
	return 0, 0, errScan
}

func (s *scanner) mapHeader() (int, error) {
	major, n, err := s.head()
	if err != nil || major != 5 || n > uint64(len(s.b)) {
		return 0, errScan
	}
	return int(n), nil
}

// bytesOf returns the content of a string of length n.
func (s *scanner) bytesOf(n uint64) ([]byte, error) {
	if n > uint64(len(s.b)-s.i) {
		return nil, errScan
	}
	b := s.b[s.i : s.i+int(n)]
	s.i += int(n)
	return b, nil
}

// text reads a text string without copying it (string(k) == x compares
// without allocating).
func (s *scanner) text() ([]byte, error) {
	major, n, err := s.head()
	if err != nil || major != 3 {
		return nil, errScan
	}
	return s.bytesOf(n)
}

// value reads a scalar: text (copied), integer, float64, bool or null. A
// list's value, an array, is ErrNotScannable: the caller decodes it.
func (s *scanner) value() (any, error) {
	start := s.i
	major, arg, err := s.head()
	if err != nil {
		return nil, err
	}
	switch major {
	case 4:
		return nil, ErrNotScannable
	case 0:
		if arg > math.MaxInt64 {
			return nil, errScan
		}
		return int64(arg), nil
	case 1:
		if arg > math.MaxInt64 {
			return nil, errScan
		}
		return -1 - int64(arg), nil
	case 3:
		b, err := s.bytesOf(arg)
		if err != nil {
			return nil, err
		}
		return string(b), nil
	case 7:
		switch s.b[start] {
		case 0xf4:
			return false, nil
		case 0xf5:
			return true, nil
		case 0xf6:
			return nil, nil
		case 0xfb:
			return math.Float64frombits(arg), nil
		}
	}
	return nil, errScan
}

// skip passes over one item, nested ones included.
func (s *scanner) skip() error {
	major, arg, err := s.head()
	if err != nil {
		return err
	}
	switch major {
	case 2, 3:
		_, err = s.bytesOf(arg)
		return err
	case 4, 5:
		if major == 5 {
			arg *= 2
		}
		if arg > uint64(len(s.b)) {
			return errScan
		}
		for range arg {
			if err := s.skip(); err != nil {
				return err
			}
		}
	case 6:
		return s.skip()
	}
	return nil
}

// fieldMap reads a map of field names to values (a block's set or add) or, in
// a state, to field entries, keeping the values of the fields in names.
func (s *scanner) fieldMap(names []string, out []any, state bool) error {
	n, err := s.mapHeader()
	if err != nil {
		return err
	}
	for range n {
		k, err := s.text()
		if err != nil {
			return err
		}
		slot := -1
		for i, name := range names {
			if name == string(k) {
				slot = i
				break
			}
		}
		switch {
		case slot < 0:
			err = s.skip()
		case state:
			out[slot], err = s.entryValue()
		default:
			out[slot], err = s.value()
		}
		if err != nil {
			return err
		}
		if slot >= 0 && out[slot] == nil {
			out[slot] = Null
		}
	}
	return nil
}

// entryValue reads the value of a state's field entry (see state_codec.go).
func (s *scanner) entryValue() (any, error) {
	n, err := s.mapHeader()
	if err != nil {
		return nil, err
	}
	var v any
	for range n {
		k, err := s.text()
		if err != nil {
			return nil, err
		}
		switch string(k) {
		case keyValue, keyIntSum:
			if v, err = s.value(); err != nil {
				return nil, err
			}
		case keyFltSum, keySetElts:
			return nil, ErrNotScannable
		default:
			if err := s.skip(); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}
