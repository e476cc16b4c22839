// Package jsonkeys finds the keys an object of a JSON text holds more than
// once. encoding/json keeps the last of them and drops the others without a
// word, so a text that holds one would be taken other than written.
package jsonkeys

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	// Same, when not empty, is the key before Key that Key is taken for,
	// written in other case (see CheckFor).
	Same string
}

func (e *DuplicateError) Error() string {
	msg := fmt.Sprintf("duplicate key %q", e.Key)
	if e.Path != "" {
		msg += " in " + e.Path
	}
	if e.Same != "" {
		msg += fmt.Sprintf(" (the same as %q: keys are matched regardless of case)", e.Same)
	}
	return msg
}

// Check returns a *DuplicateError for the first object of text, valid JSON
// (as encoding/json checks it: Check does not), found to hold a key twice,
// and nil when there is none. Objects are checked as they close, so an
// object's duplicates are found before those of the objects around it. Keys
// are compared as encoding/json decodes them: escapes resolved, invalid UTF-8
// as U+FFFD. Check reads text once and allocates only for keys that must be
// unescaped and for the keys of open objects (12 bytes each). A text over
// MaxText bytes is refused with ErrTooLong.
func Check(text []byte) error {
	return CheckFor(text, nil)
}

// CheckFor is Check for a text decoded into a value of type t (nil: any):
// an object decoded into a struct also must not hold two keys that
// encoding/json matches to one field of it, as it does regardless of case
// ("name" and "Name"). Such a key is refused with a DuplicateError whose Same
// is the key before it.
func CheckFor(text []byte, t reflect.Type) error {
	if uint64(len(text)) > MaxText {
		return ErrTooLong
	}
	// Room for the keys and frames of a small text, without allocating.
	var keys [8]span
	var frames [4]frame
	c := checker{text: text, root: t, keys: keys[:0], frames: frames[:0]}
	return c.run()
}

// MaxText is the longest text Check takes.
const MaxText = math.MaxUint32

// ErrTooLong is the error of a text over MaxText bytes.
var ErrTooLong = errors.New("jsonkeys: text too long to check")

// span is a key: bytes [start, end) of the text, or of checker.unescaped when
// unescaped.
type span struct {
	start, end uint32
	unescaped  bool
}

// frame is an open object or list.
type frame struct {
	typ    reflect.Type // what the container is decoded into, if known
	object bool
	first  int // the object's first key in checker.keys; for both, len(keys) when it opened
	esc    int // len(checker.unescaped) when it opened
	index  int // the list's item being read
}

type checker struct {
	text      []byte
	root      reflect.Type // what the text is decoded into, if known
	keys      []span       // the keys of the open objects, by object
	frames    []frame      // the open objects and lists
	unescaped []byte       // keys that had to be unescaped, end to end
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
			c.frames = append(c.frames, frame{typ: c.nextType(), object: true, first: len(c.keys), esc: len(c.unescaped)})
		case '[':
			c.frames = append(c.frames, frame{typ: c.nextType(), first: len(c.keys), esc: len(c.unescaped)})
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
			if f.typ != nil && f.typ.Kind() == reflect.Struct {
				if dup, same, ok := c.sameField(f.typ, c.keys[f.first:]); ok {
					return &DuplicateError{Key: c.keyString(dup), Path: c.path(), Same: c.keyString(same)}
				}
			}
			if dup, ok := c.duplicate(c.keys[f.first:]); ok {
				return &DuplicateError{Key: c.keyString(dup), Path: c.path()}
			}
			c.keys = c.keys[:f.first]
			c.unescaped = c.unescaped[:f.esc]
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
		return span{start: uint32(i + 1), end: uint32(end - 1)}
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return span{start: uint32(i + 1), end: uint32(end - 1)} // not valid: left to the decoder
	}
	at := len(c.unescaped)
	c.unescaped = append(c.unescaped, s...)
	return span{start: uint32(at), end: uint32(at + len(s)), unescaped: true}
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

// nextType returns the type the container that opens next is decoded into:
// nil when it is not known, or is not a struct, map, slice or array.
func (c *checker) nextType() reflect.Type {
	var t reflect.Type
	if n := len(c.frames); n == 0 {
		t = c.root
	} else if p := c.frames[n-1]; p.typ != nil {
		switch p.typ.Kind() {
		case reflect.Map, reflect.Slice, reflect.Array:
			t = p.typ.Elem()
		case reflect.Struct:
			if len(c.keys) > p.first {
				if i := fieldFor(p.typ, c.bytesOf(c.keys[len(c.keys)-1])); i >= 0 {
					t = fieldsOf(p.typ)[i].typ
				}
			}
		}
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t == rawMessage {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map, reflect.Slice, reflect.Array:
		return t
	}
	return nil
}

var rawMessage = reflect.TypeFor[json.RawMessage]()

// sameField returns a key of keys, in order, that matches the same field of
// struct t as an earlier one, written otherwise, and that earlier one.
func (c *checker) sameField(t reflect.Type, keys []span) (key, same span, ok bool) {
	seen := make(map[int]span)
	for _, k := range keys {
		i := fieldFor(t, c.bytesOf(k))
		if i < 0 {
			continue
		}
		if prev, ok := seen[i]; ok {
			if !bytes.Equal(c.bytesOf(prev), c.bytesOf(k)) {
				return k, prev, true
			}
			continue // the same key twice: duplicate tells it
		}
		seen[i] = k
	}
	return span{}, span{}, false
}

// field is a field of a struct as encoding/json names it.
type field struct {
	name string
	typ  reflect.Type
}

var fieldCache sync.Map // reflect.Type → []field

// fieldsOf returns the fields of struct t that encoding/json decodes: the
// exported ones, by the name of their json tag or their own, those of
// embedded structs among them.
func fieldsOf(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	var out []field
	for sf := range t.Fields() {
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := sf.Type
		if sf.Anonymous && name == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				out = append(out, fieldsOf(ft)...)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out = append(out, field{name: name, typ: sf.Type})
	}
	fieldCache.Store(t, out)
	return out
}

// fieldFor returns the index in fieldsOf(t) of the field key decodes into,
// or -1: the one named key, else the first named key in other case.
func fieldFor(t reflect.Type, key []byte) int {
	fs := fieldsOf(t)
	for i, f := range fs {
		if f.name == string(key) {
			return i
		}
	}
	for i, f := range fs {
		if bytes.EqualFold([]byte(f.name), key) {
			return i
		}
	}
	return -1
}

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
