// Package jsonkeys finds the keys an object of a JSON text holds more than
// once. encoding/json keeps the last of them and drops the others without a
// word, so a text that holds one would be taken other than written.
package jsonkeys

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DuplicateError is a key that an object of a JSON text holds more than once.
type DuplicateError struct {
	// Key is the key, as encoding/json decodes it ("\u0061" is "a").
	Key string
	// Path is where the object is in the text: its members' keys joined with
	// ".", with the positions of list items in brackets (ops[0].fields);
	// empty for the text's own value. A key that is not a plain name is
	// quoted in brackets (["a.b"]).
	Path string
}

func (e *DuplicateError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("duplicate key %q", e.Key)
	}
	return fmt.Sprintf("duplicate key %q in %s", e.Key, e.Path)
}

// Check returns a *DuplicateError for the first object of text, valid JSON
// (as encoding/json checks it: Check does not), found to hold a key twice,
// and nil when there is none. Objects are checked as they close, so an
// object's duplicates are found before those of the objects around it. Keys
// are compared as encoding/json decodes them: escapes resolved, invalid UTF-8
// as U+FFFD. Check reads text once and allocates only for keys that must be
// unescaped and for the keys of open objects (a few words each).
func Check(text []byte) error {
	// Room for the keys and frames of a small text, without allocating.
	var keys [16]span
	var frames [8]frame
	c := checker{text: text, keys: keys[:0], frames: frames[:0]}
	return c.run()
}

// span is a key: bytes [start, end) of the text, or of checker.unescaped when
// unescaped.
type span struct {
	start, end int
	unescaped  bool
}

// frame is an open object or list.
type frame struct {
	object bool
	first  int // the object's first key in checker.keys; for both, len(keys) when it opened
	index  int // the list's item being read
}

type checker struct {
	text      []byte
	keys      []span  // the keys of the open objects, by object
	frames    []frame // the open objects and lists
	unescaped []byte  // keys that had to be unescaped, end to end
}

func (c *checker) run() error {
	text := c.text
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '"':
			end := stringEnd(text, i)
			if n := len(c.frames); n > 0 && c.frames[n-1].object && c.atKey(i) {
				c.keys = append(c.keys, c.key(i, end))
			}
			i = end - 1
		case '{':
			c.frames = append(c.frames, frame{object: true, first: len(c.keys)})
		case '[':
			c.frames = append(c.frames, frame{first: len(c.keys)})
		case ',':
			if n := len(c.frames); n > 0 && !c.frames[n-1].object {
				c.frames[n-1].index++
			}
		case '}':
			n := len(c.frames)
			if n == 0 {
				return nil // not valid JSON: left to the decoder
			}
			f := c.frames[n-1]
			if dup, ok := c.duplicate(c.keys[f.first:]); ok {
				return &DuplicateError{Key: c.keyString(dup), Path: c.path()}
			}
			c.keys = c.keys[:f.first]
			c.frames = c.frames[:n-1]
		case ']':
			if n := len(c.frames); n > 0 {
				c.frames = c.frames[:n-1]
			}
		}
	}
	return nil
}

// atKey reports whether the string at i, within an object, is a key: the
// first thing after '{' or ',' (a value comes after ':').
func (c *checker) atKey(i int) bool {
	for j := i - 1; j >= 0; j-- {
		switch c.text[j] {
		case ' ', '\t', '\n', '\r':
			continue
		case '{', ',':
			return true
		}
		return false
	}
	return false
}

// stringEnd returns the index just past the string that starts at i.
func stringEnd(text []byte, i int) int {
	for j := i + 1; j < len(text); j++ {
		k := bytes.IndexAny(text[j:], `"\`)
		if k < 0 {
			return len(text)
		}
		j += k
		if text[j] == '"' {
			return j + 1
		}
		j++ // skip the escaped byte
	}
	return len(text)
}

// key returns the key of the string text[i:end], quotes included, unescaping
// it first when its bytes are not what it decodes to.
func (c *checker) key(i, end int) span {
	raw := c.text[i:end]
	plain := bytes.IndexByte(raw, '\\') < 0
	if plain {
		for _, b := range raw {
			if b >= utf8.RuneSelf {
				plain = utf8.Valid(raw)
				break
			}
		}
	}
	if plain {
		return span{start: i + 1, end: end - 1}
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return span{start: i + 1, end: end - 1} // not valid: left to the decoder
	}
	at := len(c.unescaped)
	c.unescaped = append(c.unescaped, s...)
	return span{start: at, end: at + len(s), unescaped: true}
}

func (c *checker) bytesOf(k span) []byte {
	if k.unescaped {
		return c.unescaped[k.start:k.end]
	}
	return c.text[k.start:k.end]
}

func (c *checker) keyString(k span) string { return string(c.bytesOf(k)) }

// duplicate returns a key that keys holds twice. It may reorder keys.
func (c *checker) duplicate(keys []span) (span, bool) {
	if len(keys) <= smallObject {
		for i := 1; i < len(keys); i++ {
			k := c.bytesOf(keys[i])
			for _, o := range keys[:i] {
				if bytes.Equal(c.bytesOf(o), k) {
					return keys[i], true
				}
			}
		}
		return span{}, false
	}
	slices.SortFunc(keys, func(a, b span) int { return bytes.Compare(c.bytesOf(a), c.bytesOf(b)) })
	for i := 1; i < len(keys); i++ {
		if bytes.Equal(c.bytesOf(keys[i-1]), c.bytesOf(keys[i])) {
			return keys[i], true
		}
	}
	return span{}, false
}

// smallObject is how many keys an object may have to be checked pair by pair
// rather than sorted.
const smallObject = 8

// path returns where the innermost open object is, for a DuplicateError. The
// key of a member that holds an object or list is the last key of its object.
func (c *checker) path() string {
	var b strings.Builder
	for n, f := range c.frames[:len(c.frames)-1] {
		if f.object {
			next := c.frames[n+1].first
			if next == f.first {
				continue
			}
			name := c.keyString(c.keys[next-1])
			if plainName(name) {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(name)
			} else {
				b.WriteString("[" + strconv.Quote(name) + "]")
			}
		} else {
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
		}
	}
	return b.String()
}

// plainName reports whether name can stand in a path unquoted.
func plainName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if r != '_' && r != '-' && !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}
