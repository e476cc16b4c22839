package crdt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gossipdb/gossipdb/internal/jsonerr"
	"github.com/gossipdb/gossipdb/internal/jsonkeys"
	"github.com/ipfs/go-cid"
)

// ErrInvalidValue is wrapped by every *FieldError: a field value that does not fit
// its field, or a field the schema does not have.
var ErrInvalidValue = errors.New("crdt: invalid value")

// FieldError reports a value that does not fit a field. It wraps ErrInvalidValue.
type FieldError struct {
	Field  string // the field's name
	Want   Kind   // the field's kind; 0 if the field is unknown
	Got    any    // the value given; only meaningful when Reason is empty
	Reason string // why the value was refused, if not a type mismatch ("required", "unknown field")
}

// maxErrorText bounds how much of an offending string an error message quotes.
const maxErrorText = 64

// Error returns `field "age": want Int, got "abc"` or `field "age": <reason>`.
func (e *FieldError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("field %q: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("field %q: want %s, got %s", e.Field, e.Want, describe(e.Got))
}

// Unwrap returns ErrInvalidValue.
func (e *FieldError) Unwrap() error { return ErrInvalidValue }

// describe renders a value for an error message (see jsonerr.Describe).
func describe(v any) string { return jsonerr.Describe(v) }

func (f Field) mismatch(v any) *FieldError {
	return &FieldError{Field: f.Name, Want: f.Kind, Got: v}
}

func (f Field) refuse(reason string) *FieldError {
	return &FieldError{Field: f.Name, Want: f.Kind, Reason: reason}
}

// Normalize converts a Go value given for field f into its canonical form, the form
// blocks and states hold:
//
//	String   string (valid UTF-8)             → string
//	Int      any Go integer, an integral float64/float32, or a json.Number (a JSON
//	         number literal) that denotes an integer exactly: "9007199254740993.0"
//	         and "9007199254740993e0" are 9007199254740993, never a rounding of it;
//	         beyond the int64 range it is refused                        → int64
//	Float    any Go integer or float, a json.Number (rounded to nearest) → finite float64
//	Boolean  bool                             → bool
//	DateTime time.Time or RFC 3339 text ("T" and "Z" in either case, at most 9
//	         fraction digits, offsets within ±23:59), in years 0000-9999 in
//	         UTC                              → string, t.UTC().Format(time.RFC3339Nano)
//	JSON     anything encoding/json marshals, or a valid json.RawMessage → compact JSON text;
//	         a json.Number in it is written as given, so its digits are kept. Strings
//	         held as string, []any and map[string]any (keys too) must be valid
//	         UTF-8, and JSON text may not escape half a UTF-16 surrogate pair
//	         ("\ud800") nor hold an object with a key twice, since neither
//	         would read back as written; strings in
//	         other Go types are encoded by encoding/json, which turns invalid
//	         UTF-8 into U+FFFD
//	         (a Go string is a JSON string value: pass json.RawMessage to give JSON text);
//	         arrays and objects nest at most MaxJSONDepth deep
//
//	Relation a string (or a value of a string type, such as gossipdb.DocID) holding
//	         a document ID: a CIDv1 dag-cbor sha2-256 in its canonical string form
//	         (base32, lower case, as nodes give IDs out); another string of the
//	         same CID (upper case, base58, …) is refused      → string
//	[Kind]   a slice or array (such as []any from JSON, []string, []int64) of at
//	         most MaxListLen items, each normalised as a value of Kind; an item is
//	         nil only if the list's items are nullable                   → []any;
//	         for an add-wins set, sorted (see CompareValues) without repeats, and a
//	         Float -0 becomes 0
//
// nil means "absent or cleared" and stays nil; it is refused for a Required field.
// Normalize does not look at f.Counter: a counter's increments normalise like values.
// A derived field takes no value. Errors are *FieldError (which wraps ErrInvalidValue).
func (f Field) Normalize(v any) (any, error) {
	if f.Derived() {
		return nil, f.refuse(fmt.Sprintf("derived from the relations to %s; it holds no value", f.Relation))
	}
	if v == nil {
		if f.Required {
			return nil, f.refuse("required")
		}
		return nil, nil
	}
	if f.List {
		return f.normalizeList(v)
	}
	switch f.Kind {
	case KindString:
		s, ok := v.(string)
		if !ok {
			return nil, f.mismatch(v)
		}
		if !utf8.ValidString(s) {
			return nil, f.refuse("string is not valid UTF-8")
		}
		return s, nil
	case KindInt:
		return f.normalizeInt(v)
	case KindFloat:
		return f.normalizeFloat(v)
	case KindBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, f.mismatch(v)
		}
		return b, nil
	case KindDateTime:
		return f.normalizeDateTime(v)
	case KindJSON:
		return f.normalizeJSON(v)
	case KindRelation:
		return f.normalizeRelation(v)
	}
	return nil, f.refuse("unsupported kind " + f.Kind.String())
}

func (f Field) normalizeInt(v any) (any, error) {
	switch n := v.(type) {
	case int:
		return int64(n), nil
	case int8:
		return int64(n), nil
	case int16:
		return int64(n), nil
	case int32:
		return int64(n), nil
	case int64:
		return n, nil
	case uint:
		return uintToInt(f, uint64(n))
	case uint8:
		return int64(n), nil
	case uint16:
		return int64(n), nil
	case uint32:
		return int64(n), nil
	case uint64:
		return uintToInt(f, n)
	case uintptr:
		return uintToInt(f, uint64(n))
	case float32:
		return floatToInt(f, float64(n), v)
	case float64:
		return floatToInt(f, n, v)
	case json.Number:
		i, ok, inRange := exactInt(string(n))
		switch {
		case !ok:
			return nil, f.mismatch(v)
		case !inRange:
			return nil, f.refuse(describe(v) + " is out of the Int range")
		}
		return i, nil
	}
	return nil, f.mismatch(v)
}

// exactInt reads s, a JSON number literal (-?int(.frac)?([eE][+-]?exp)?), as the
// integer it denotes exactly: "9007199254740993.0" and "90071992547409930e-1" are
// 9007199254740993, never a float64 rounding of it. ok is false if s is not a JSON
// number or not an integer; inRange is false for an integer beyond int64. The work
// is linear in len(s): a huge exponent is never expanded.
func exactInt(s string) (i int64, ok, inRange bool) {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	intPart, frac, exp, ok := splitNumber(s)
	if !ok {
		return 0, false, false
	}
	// The value is digits × 10^k, digits without leading or trailing zeros.
	all := intPart + frac
	digits := strings.Trim(all, "0")
	if digits == "" {
		return 0, true, true // zero, whatever the exponent
	}
	e, err := strconv.ParseInt(exp, 10, 64)
	if err != nil { // an exponent beyond int64: far out of range, or far from integral
		return 0, !strings.HasPrefix(exp, "-"), false
	}
	// k = e - len(frac) + trailing zeros. Bound e first so that k cannot overflow:
	// below -len(all) k is negative, above len(all)+19 the integer has over 19 digits.
	n := int64(len(all))
	switch {
	case e < -n:
		return 0, false, false
	case e > n+19:
		return 0, true, false
	}
	k := e - int64(len(frac)) + int64(len(all)-len(strings.TrimRight(all, "0")))
	switch {
	case k < 0:
		return 0, false, false // a fraction remains
	case int64(len(digits))+k > 19: // int64 has at most 19 digits
		return 0, true, false
	}
	digits += strings.Repeat("0", int(k))
	if neg {
		digits = "-" + digits
	}
	i, err = strconv.ParseInt(digits, 10, 64)
	return i, true, err == nil
}

// splitNumber splits an unsigned JSON number into its integer digits, fraction
// digits and exponent (with its sign, "0" if absent), and reports whether s follows
// JSON's grammar.
func splitNumber(s string) (intPart, frac, exp string, ok bool) {
	n := digitRun(s)
	if n == 0 || (s[0] == '0' && n > 1) {
		return "", "", "", false
	}
	intPart, s = s[:n], s[n:]
	if strings.HasPrefix(s, ".") {
		n = digitRun(s[1:])
		if n == 0 {
			return "", "", "", false
		}
		frac, s = s[1:1+n], s[1+n:]
	}
	exp = "0"
	if strings.HasPrefix(s, "e") || strings.HasPrefix(s, "E") {
		s = s[1:]
		sign := ""
		if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
			sign, s = s[:1], s[1:]
		}
		n = digitRun(s)
		if n == 0 {
			return "", "", "", false
		}
		exp, s = sign+s[:n], s[n:]
	}
	return intPart, frac, exp, s == ""
}

// digitRun returns the number of ASCII digits s starts with.
func digitRun(s string) int {
	n := 0
	for n < len(s) && '0' <= s[n] && s[n] <= '9' {
		n++
	}
	return n
}

func uintToInt(f Field, n uint64) (any, error) {
	if n > math.MaxInt64 {
		return nil, f.refuse(strconv.FormatUint(n, 10) + " is out of the Int range")
	}
	return int64(n), nil
}

// floatToInt accepts a float that holds an integer in the int64 range exactly.
func floatToInt(f Field, x float64, orig any) (any, error) {
	if x != math.Trunc(x) || math.IsInf(x, 0) {
		return nil, f.mismatch(orig)
	}
	// -2^63 is exactly representable, 2^63 is the first float past the range.
	if x < -(1<<63) || x >= 1<<63 {
		return nil, f.refuse(describe(orig) + " is out of the Int range")
	}
	return int64(x), nil
}

func (f Field) normalizeFloat(v any) (any, error) {
	var x float64
	switch n := v.(type) {
	case int:
		x = float64(n)
	case int8:
		x = float64(n)
	case int16:
		x = float64(n)
	case int32:
		x = float64(n)
	case int64:
		x = float64(n)
	case uint:
		x = float64(n)
	case uint8:
		x = float64(n)
	case uint16:
		x = float64(n)
	case uint32:
		x = float64(n)
	case uint64:
		x = float64(n)
	case uintptr:
		x = float64(n)
	case float32:
		x = float64(n)
	case float64:
		x = n
	case json.Number:
		var err error
		x, err = strconv.ParseFloat(string(n), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, f.mismatch(v)
		}
	default:
		return nil, f.mismatch(v)
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil, f.refuse(describe(v) + " is not a finite number")
	}
	return x, nil
}

func (f Field) normalizeDateTime(v any) (any, error) {
	var t time.Time
	switch d := v.(type) {
	case time.Time:
		t = d
	case string:
		var reason string
		if t, reason = parseRFC3339(d); reason != "" {
			return nil, f.refuse(describe(d) + " " + reason)
		}
	default:
		return nil, f.mismatch(v)
	}
	u := t.UTC()
	if y := u.Year(); y < 0 || y > 9999 {
		if t.Year() >= 0 && t.Year() <= 9999 {
			// In range as given, out of it once in UTC, the form stored.
			return nil, f.refuse(describe(v) + " is in year " + strconv.Itoa(y) +
				" in UTC, outside RFC 3339's range 0000-9999 (a DateTime is stored in UTC)")
		}
		return nil, f.refuse("year " + strconv.Itoa(y) + " is outside RFC 3339's range 0000-9999")
	}
	return u.Format(time.RFC3339Nano), nil
}

// parseRFC3339 parses s as an RFC 3339 date-time (section 5.6), or returns
// why it is not one. As RFC 3339 allows, "T" and "Z" may be lower case. A
// fraction has at most 9 digits, the nanoseconds a DateTime keeps: more is
// refused rather than cut off. An offset's hours run to 23 and its minutes to
// 59. (time.Parse alone refuses the lower case letters, cuts a fraction to
// nanoseconds, and takes a comma for the point and offsets up to +24:60.)
func parseRFC3339(s string) (time.Time, string) {
	const notDateTime = "is not an RFC 3339 date-time"
	// full-date "T" partial-time: YYYY-MM-DDThh:mm:ss, then a fraction and
	// an offset.
	const head = "dddd-dd-ddTdd:dd:dd"
	if len(s) < len(head)+1 {
		return time.Time{}, notDateTime
	}
	b := []byte(s)
	for i := range len(head) {
		switch c := b[i]; head[i] {
		case 'd':
			if c < '0' || c > '9' {
				return time.Time{}, notDateTime
			}
		case 'T':
			if c == 't' {
				b[i] = 'T'
			} else if c != 'T' {
				return time.Time{}, notDateTime
			}
		default:
			if c != head[i] {
				return time.Time{}, notDateTime
			}
		}
	}
	rest := b[len(head):]
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		switch {
		case n == 1:
			return time.Time{}, notDateTime
		case n-1 > 9:
			return time.Time{}, "has " + strconv.Itoa(n-1) + " fraction digits: a DateTime keeps at most 9 (nanoseconds), so it would be rounded"
		}
		rest = rest[n:]
	}
	switch {
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
		rest[0] = 'Z'
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' &&
		isDigits(rest[1:3]) && isDigits(rest[4:6]):
		if rest[1] > '2' || rest[1] == '2' && rest[2] > '3' || rest[4] > '5' {
			return time.Time{}, "has offset " + string(rest) + ": RFC 3339 offsets run from -23:59 to +23:59"
		}
	default:
		return time.Time{}, notDateTime
	}
	t, err := time.Parse(time.RFC3339, string(b))
	if err != nil {
		return time.Time{}, notDateTime
	}
	return t, ""
}

// isDigits reports whether b is all ASCII digits.
func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (f Field) normalizeJSON(v any) (any, error) {
	if raw, ok := v.(json.RawMessage); ok && !json.Valid(raw) {
		return nil, f.refuse("invalid JSON text")
	}
	if !validStrings(v) {
		return nil, f.refuse("string is not valid UTF-8")
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, f.refuse("cannot encode as JSON: " + err.Error())
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return nil, f.refuse("cannot encode as JSON: " + err.Error())
	}
	if !utf8.Valid(buf.Bytes()) {
		return nil, f.refuse("JSON text is not valid UTF-8")
	}
	if esc := LoneSurrogate(buf.Bytes()); esc != "" {
		return nil, f.refuse("JSON text holds a lone UTF-16 surrogate (" + esc + ")")
	}
	// A key held twice by an object of a json.RawMessage would be stored,
	// and read back with one of its values only.
	if err := jsonkeys.Check(buf.Bytes()); err != nil {
		return nil, f.refuse("invalid JSON text: " + err.Error())
	}
	if fe := f.checkJSONDepth(buf.String()); fe != nil {
		return nil, fe
	}
	return buf.String(), nil
}

// MaxJSONDepth is how deeply arrays and objects may nest in the value of a
// JSON field. A value's depth is the most arrays and objects open at once as
// its text is read: a number, string, boolean or null has depth 0, [] and {}
// depth 1, [[1]] and {"a":[]} depth 2. Normalize refuses a deeper value (a
// field's default too) and Schema.Check a block that sets one, so no node of
// this version writes or accepts one.
//
// Every reader of a document holds the value inside a few more levels: the
// HTTP API's document one, a page of documents three, a GraphQL answer four
// ({"data":{"User":[{"meta": …}]}}). 100 leaves those readers far below their
// own limits: encoding/json's 10000 (which the Go client and the command
// use), serde_json's 128, and a browser's stack for the console, while real
// JSON documents rarely nest more than a dozen levels. MongoDB bounds a
// document's nesting at 100 levels too. Nodes of earlier versions accepted
// any depth encoding/json reads (up to 10000): a block of theirs with a
// deeper value is refused by this version.
//
// Blocks and stored states hold the value as a string, so decoding them never
// recurses into it, and the check reads the text once, without recursion.
const MaxJSONDepth = 100

// checkJSONDepth refuses text, valid JSON, if it nests deeper than
// MaxJSONDepth. It reads text once, without recursion, and stops at the
// first container beyond the limit.
func (f Field) checkJSONDepth(text string) *FieldError {
	depth := 0
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '"': // skip the string: a bracket in it is no container
			for i++; i < len(text) && text[i] != '"'; i++ {
				if text[i] == '\\' {
					i++
				}
			}
		case '[', '{':
			if depth++; depth > MaxJSONDepth {
				return f.refuse(fmt.Sprintf("JSON value nests arrays and objects deeper than the limit of %d", MaxJSONDepth))
			}
		case ']', '}':
			depth--
		}
	}
	return nil
}

// validStrings reports whether every string in v, a JSON value as encoding/json
// decodes one into an any (string, []any, map[string]any, or other values holding
// no string), is valid UTF-8, map keys included. encoding/json would replace
// invalid bytes with U+FFFD; other Go types are left to it.
func validStrings(v any) bool {
	switch v := v.(type) {
	case string:
		return utf8.ValidString(v)
	case []any:
		for _, e := range v {
			if !validStrings(e) {
				return false
			}
		}
	case map[string]any:
		for k, e := range v {
			if !utf8.ValidString(k) || !validStrings(e) {
				return false
			}
		}
	}
	return true
}

// LoneSurrogate returns the first escape in the valid JSON text data that names a
// UTF-16 surrogate without its pair ("\ud800"), or "" if there is none. Decoders
// read such an escape as U+FFFD, so the text would not read back as written:
// Normalize refuses it in a JSON field, and the HTTP API in any string of a
// document body.
func LoneSurrogate(data []byte) string {
	for i := 0; i < len(data); i++ {
		if data[i] != '\\' {
			continue
		}
		i++ // in valid JSON a backslash is an escape within a string
		if i+4 >= len(data) || data[i] != 'u' {
			continue
		}
		esc := string(data[i-1 : i+5])
		r, _ := strconv.ParseUint(esc[2:], 16, 16)
		i += 4
		switch {
		case r >= 0xdc00 && r <= 0xdfff:
			return esc
		case r >= 0xd800 && r <= 0xdbff:
			next := data[i+1:]
			if len(next) < 6 || next[0] != '\\' || next[1] != 'u' {
				return esc
			}
			low, err := strconv.ParseUint(string(next[2:6]), 16, 16)
			if err != nil || low < 0xdc00 || low > 0xdfff {
				return esc
			}
			i += 6
		}
	}
	return ""
}

// Export converts a canonical value of field f into the value the API hands out:
// DateTime becomes a time.Time (in UTC), JSON the value encoding/json decodes it to
// with numbers as json.Number, each the number's text as stored, so no digit is
// lost (12345678901234567890123 stays exact) and Normalize gives back the same
// text; a list with non-null items becomes a typed slice ([]string, []int64,
// []float64, []bool, []time.Time), one with nullable items an []any of exported
// items; an add-wins set reads as its elements in ascending order, an empty slice
// when it holds none (nil included); other kinds and nil are returned unchanged.
// A value that is not canonical is also returned unchanged.
func (f Field) Export(v any) any {
	if f.List {
		return f.exportList(v)
	}
	s, ok := v.(string)
	if !ok {
		return v
	}
	switch f.Kind {
	case KindDateTime:
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return v
		}
		return t.UTC()
	case KindJSON:
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var out any
		if err := dec.Decode(&out); err != nil {
			return v
		}
		return out
	}
	return v
}

// checkCanonical is the strict counterpart of Normalize used on received blocks: v must
// already be in canonical form for f (nil is accepted; the caller handles Required).
func (f Field) checkCanonical(v any) *FieldError {
	if v == nil {
		return nil
	}
	if f.List {
		return f.checkList(v)
	}
	switch f.Kind {
	case KindString:
		s, ok := v.(string)
		if !ok {
			return f.mismatch(v)
		}
		if !utf8.ValidString(s) {
			return f.refuse("string is not valid UTF-8")
		}
		return nil
	case KindInt:
		if _, ok := v.(int64); !ok {
			return f.mismatch(v)
		}
		return nil
	case KindFloat:
		x, ok := v.(float64)
		if !ok {
			return f.mismatch(v)
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return f.refuse("not a finite number")
		}
		return nil
	case KindBoolean:
		if _, ok := v.(bool); !ok {
			return f.mismatch(v)
		}
		return nil
	case KindDateTime:
		s, ok := v.(string)
		if !ok {
			return f.mismatch(v)
		}
		n, err := f.normalizeDateTime(s)
		if err != nil {
			return err.(*FieldError)
		}
		if n != s {
			return f.refuse(describe(s) + " is not in normalised form " + describe(n))
		}
		return nil
	case KindJSON:
		s, ok := v.(string)
		if !ok {
			return f.mismatch(v)
		}
		// Lone surrogate escapes, which Normalize refuses, are accepted here:
		// peers that wrote them before it did must not be cut off.
		if !json.Valid([]byte(s)) {
			return f.refuse("invalid JSON text")
		}
		if !utf8.ValidString(s) {
			return f.refuse("JSON text is not valid UTF-8")
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(s)); err != nil || buf.String() != s {
			return f.refuse("JSON text is not compact")
		}
		return f.checkJSONDepth(s)
	case KindRelation:
		s, ok := v.(string)
		if !ok {
			return f.mismatch(v)
		}
		if c, err := cid.Decode(s); err != nil || !checkLink(c) || c.String() != s {
			return f.refuse(describe(s) + " is not a document ID in canonical form")
		}
		return nil
	}
	return f.refuse("unsupported kind " + f.Kind.String())
}
