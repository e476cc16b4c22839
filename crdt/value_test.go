package crdt_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb/crdt"
	"pgregory.net/rapid"
)

func TestNormalize(t *testing.T) {
	str := crdt.Field{Name: "name", Kind: crdt.KindString}
	num := crdt.Field{Name: "age", Kind: crdt.KindInt}
	flt := crdt.Field{Name: "score", Kind: crdt.KindFloat}
	boo := crdt.Field{Name: "ok", Kind: crdt.KindBoolean}
	dt := crdt.Field{Name: "at", Kind: crdt.KindDateTime}
	js := crdt.Field{Name: "meta", Kind: crdt.KindJSON}
	when := time.Date(2024, 2, 29, 13, 4, 5, 120000000, time.FixedZone("X", 3600))
	for _, tc := range []struct {
		f    crdt.Field
		in   any
		want any
	}{
		{str, "Ada", "Ada"},
		{str, "", ""},
		{str, nil, nil},
		{num, 36, int64(36)},
		{num, int8(-5), int64(-5)},
		{num, int16(7), int64(7)},
		{num, int32(-9), int64(-9)},
		{num, int64(math.MinInt64), int64(math.MinInt64)},
		{num, uint(1), int64(1)},
		{num, uint8(255), int64(255)},
		{num, uint16(65535), int64(65535)},
		{num, uint32(math.MaxUint32), int64(math.MaxUint32)},
		{num, uint64(math.MaxInt64), int64(math.MaxInt64)},
		{num, float64(36), int64(36)},
		{num, float32(-2), int64(-2)},
		{num, -9.223372036854775808e18, int64(math.MinInt64)},
		{num, json.Number("42"), int64(42)},
		{num, json.Number("4.2e1"), int64(42)},
		{num, json.Number("-0"), int64(0)},
		{num, json.Number("0.0e-7"), int64(0)},
		{num, json.Number("0e99999999999999999999"), int64(0)},
		{num, json.Number("9007199254740993"), int64(9007199254740993)},
		{num, json.Number("9007199254740993.0"), int64(9007199254740993)},
		{num, json.Number("9007199254740993e0"), int64(9007199254740993)},
		{num, json.Number("900719925474099300e-2"), int64(9007199254740993)},
		{num, json.Number("9.007199254740993E15"), int64(9007199254740993)},
		{num, json.Number("9223372036854775807"), int64(math.MaxInt64)},
		{num, json.Number("9223372036854775807.000"), int64(math.MaxInt64)},
		{num, json.Number("-9223372036854775808"), int64(math.MinInt64)},
		{num, json.Number("-92233720368547758.08e2"), int64(math.MinInt64)},
		{flt, 1.5, 1.5},
		{flt, float32(0.25), 0.25},
		{flt, 3, 3.0},
		{flt, uint64(1 << 60), float64(1 << 60)},
		{flt, int64(-7), -7.0},
		{flt, json.Number("0.1"), 0.1},
		{flt, json.Number("7"), 7.0},
		{boo, true, true},
		{boo, false, false},
		{dt, when, "2024-02-29T12:04:05.12Z"},
		{dt, "2024-02-29T13:04:05+01:00", "2024-02-29T12:04:05Z"},
		{dt, "2024-02-29T12:04:05.000000001Z", "2024-02-29T12:04:05.000000001Z"},
		// RFC 3339 5.6: "T" and "Z" may be lower case.
		{dt, "2024-02-29t12:04:05z", "2024-02-29T12:04:05Z"},
		{dt, "2024-02-29t13:04:05.5+01:00", "2024-02-29T12:04:05.5Z"},
		{dt, "2024-02-29T12:04:05.123456789-23:59", "2024-03-01T12:03:05.123456789Z"},
		{dt, "0000-01-01T00:00:00-01:00", "0000-01-01T01:00:00Z"},
		{js, map[string]any{"b": 1, "a": []any{true, nil}}, `{"a":[true,null],"b":1}`},
		{js, json.RawMessage(` { "z" : 1 , "a" : "x" } `), `{"z":1,"a":"x"}`},
		{js, "text", `"text"`},
		{js, 1.5, `1.5`},
		{js, []int(nil), `null`},
		{js, "<&>", `"\u003c\u0026\u003e"`},
		{js, json.RawMessage(`"\ud83d\ude00\\ud800\uFFFD"`), `"\ud83d\ude00\\ud800\uFFFD"`},
		{js, map[string]any{"s": "\uFFFD"}, "{\"s\":\"\uFFFD\"}"},
	} {
		got, err := tc.f.Normalize(tc.in)
		if err != nil {
			t.Errorf("%s.Normalize(%#v): %v", tc.f.Kind, tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s.Normalize(%#v) = %#v, want %#v", tc.f.Kind, tc.in, got, tc.want)
		}
	}
}

func TestNormalizeErrors(t *testing.T) {
	str := crdt.Field{Name: "name", Kind: crdt.KindString}
	req := crdt.Field{Name: "title", Kind: crdt.KindString, Required: true}
	num := crdt.Field{Name: "age", Kind: crdt.KindInt}
	flt := crdt.Field{Name: "score", Kind: crdt.KindFloat}
	boo := crdt.Field{Name: "ok", Kind: crdt.KindBoolean}
	dt := crdt.Field{Name: "at", Kind: crdt.KindDateTime}
	js := crdt.Field{Name: "meta", Kind: crdt.KindJSON}
	for _, tc := range []struct {
		f    crdt.Field
		in   any
		want string
	}{
		{num, "abc", `field "age": want Int, got "abc"`},
		{num, 1.5, `field "age": want Int, got 1.5 (float64)`},
		{num, math.Inf(1), `field "age": want Int, got +Inf (float64)`},
		{num, math.NaN(), `field "age": want Int, got NaN (float64)`},
		{num, 9.3e18, `field "age": 9.3e+18 (float64) is out of the Int range`},
		{num, uint64(math.MaxUint64), `field "age": 18446744073709551615 is out of the Int range`},
		{num, json.Number("x"), `field "age": want Int, got "x"`},
		{num, json.Number("1.5"), `field "age": want Int, got 1.5`},
		{num, json.Number("9007199254740993.5"), `field "age": want Int, got 9007199254740993.5`},
		{num, json.Number("1e-99999999999999999999"), `field "age": want Int, got 1e-99999999999999999999`},
		{num, json.Number("-9223372036854775809"), `field "age": -9223372036854775809 is out of the Int range`},
		{num, json.Number("9223372036854775808"), `field "age": 9223372036854775808 is out of the Int range`},
		{num, json.Number("9223372036854775808.0"), `field "age": 9223372036854775808.0 is out of the Int range`},
		{num, json.Number("1e19"), `field "age": 1e19 is out of the Int range`},
		{num, json.Number("1e99999999999999999999"), `field "age": 1e99999999999999999999 is out of the Int range`},
		{num, json.Number("0x10"), `field "age": want Int, got "0x10"`},
		{num, json.Number("+1"), `field "age": want Int, got "+1"`},
		{num, json.Number("1_000"), `field "age": want Int, got "1_000"`},
		{num, json.Number("Inf"), `field "age": want Int, got "Inf"`},
		{num, json.Number("1."), `field "age": want Int, got "1."`},
		{num, json.Number(".5e1"), `field "age": want Int, got ".5e1"`},
		{num, json.Number("1e"), `field "age": want Int, got "1e"`},
		{num, json.Number(""), `field "age": want Int, got ""`},
		{num, json.Number("-"), `field "age": want Int, got "-"`},
		{num, json.Number("012"), `field "age": want Int, got "012"`},
		{num, json.Number("1e5x"), `field "age": want Int, got "1e5x"`},
		{num, true, `field "age": want Int, got true`},
		{num, []any{json.Number("1")}, `field "age": want Int, got [1]`},
		{str, map[string]any{"a": "b"}, `field "name": want String, got {"a":"b"}`},
		{str, []any{strings.Repeat("x", 70)}, `field "name": want String, got ["` + strings.Repeat("x", 62) + `…`},
		{str, []int{1}, `field "name": want String, got [1] ([]int)`},
		{str, 5, `field "name": want String, got 5 (int)`},
		{str, "\xff", `field "name": string is not valid UTF-8`},
		{req, nil, `field "title": required`},
		{flt, "1", `field "score": want Float, got "1"`},
		{flt, math.NaN(), `field "score": NaN (float64) is not a finite number`},
		{flt, math.Inf(-1), `field "score": -Inf (float64) is not a finite number`},
		{flt, json.Number("1e400"), `field "score": 1e400 is not a finite number`},
		{boo, 1, `field "ok": want Boolean, got 1 (int)`},
		{dt, "yesterday", `field "at": "yesterday" is not an RFC 3339 date-time`},
		{dt, 12, `field "at": want DateTime, got 12 (int)`},
		{dt, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), `field "at": year 10000 is outside RFC 3339's range 0000-9999`},
		// Nothing is rounded silently: a DateTime keeps nanoseconds.
		{dt, "2024-06-01T12:00:00.9999999999Z", `field "at": "2024-06-01T12:00:00.9999999999Z" has 10 fraction digits: a DateTime keeps at most 9 (nanoseconds), so it would be rounded`},
		{dt, "0000-01-01T00:00:00+01:00", `field "at": "0000-01-01T00:00:00+01:00" is in year -1 in UTC, outside RFC 3339's range 0000-9999 (a DateTime is stored in UTC)`},
		{dt, "9999-12-31T23:30:00-01:00", `field "at": "9999-12-31T23:30:00-01:00" is in year 10000 in UTC, outside RFC 3339's range 0000-9999 (a DateTime is stored in UTC)`},
		{dt, "2024-06-01T12:00:00+24:00", `field "at": "2024-06-01T12:00:00+24:00" has offset +24:00: RFC 3339 offsets run from -23:59 to +23:59`},
		{dt, "2024-06-01T12:00:00-01:60", `field "at": "2024-06-01T12:00:00-01:60" has offset -01:60: RFC 3339 offsets run from -23:59 to +23:59`},
		{dt, "2024-06-01T12:00:00,5Z", `field "at": "2024-06-01T12:00:00,5Z" is not an RFC 3339 date-time`},
		{dt, "2024-06-01T12:00:00.Z", `field "at": "2024-06-01T12:00:00.Z" is not an RFC 3339 date-time`},
		{dt, "2024-06-01 12:00:00Z", `field "at": "2024-06-01 12:00:00Z" is not an RFC 3339 date-time`},
		{dt, "2024-06-01T12:00:00", `field "at": "2024-06-01T12:00:00" is not an RFC 3339 date-time`},
		{dt, "2024-06-01T12:00:00+0100", `field "at": "2024-06-01T12:00:00+0100" is not an RFC 3339 date-time`},
		{dt, "2024-06-01T12:00:00Zz", `field "at": "2024-06-01T12:00:00Zz" is not an RFC 3339 date-time`},
		{dt, "2024-02-30T12:00:00Z", `field "at": "2024-02-30T12:00:00Z" is not an RFC 3339 date-time`},
		{js, json.RawMessage(`{"a":`), `field "meta": invalid JSON text`},
		{js, json.RawMessage(`{"a": 1, "\u0061": 2}`), `field "meta": invalid JSON text: duplicate key "a"`},
		{js, map[string]any{"r": json.RawMessage(`[{"b": {"c": 1, "c": 2}}]`)}, `field "meta": invalid JSON text: duplicate key "c" in r[0].b`},
		{js, json.RawMessage("\"\xff\""), `field "meta": JSON text is not valid UTF-8`},
		{js, make(chan int), `field "meta": cannot encode as JSON: json: unsupported type: chan int`},
		{js, "\xff", `field "meta": string is not valid UTF-8`},
		{js, map[string]any{"a": []any{"ok", "x\xffy"}}, `field "meta": string is not valid UTF-8`},
		{js, map[string]any{"\xff": 1}, `field "meta": string is not valid UTF-8`},
		{js, json.RawMessage(`"\ud800"`), `field "meta": JSON text holds a lone UTF-16 surrogate (\ud800)`},
		{js, json.RawMessage(`["\uDC00x"]`), `field "meta": JSON text holds a lone UTF-16 surrogate (\uDC00)`},
		{js, json.RawMessage(`"\ud83d\u0041"`), `field "meta": JSON text holds a lone UTF-16 surrogate (\ud83d)`},
		{js, map[string]any{"r": json.RawMessage(`"\\\udbff"`)}, `field "meta": JSON text holds a lone UTF-16 surrogate (\udbff)`},
		{js, math.Inf(1), `field "meta": cannot encode as JSON: json: unsupported value: +Inf`},
		{crdt.Field{Name: "x", Kind: 99}, 1, `field "x": unsupported kind Kind(99)`},
	} {
		_, err := tc.f.Normalize(tc.in)
		if err == nil {
			t.Errorf("%s.Normalize(%#v): no error, want %q", tc.f.Kind, tc.in, tc.want)
			continue
		}
		var fe *crdt.FieldError
		if !errors.As(err, &fe) || !errors.Is(err, crdt.ErrInvalidValue) {
			t.Errorf("%s.Normalize(%#v): error %T %v is not a *FieldError wrapping ErrInvalidValue", tc.f.Kind, tc.in, err, err)
			continue
		}
		if fe.Field != tc.f.Name {
			t.Errorf("FieldError.Field = %q, want %q", fe.Field, tc.f.Name)
		}
		if err.Error() != tc.want {
			t.Errorf("%s.Normalize(%#v) error:\n got %s\nwant %s", tc.f.Kind, tc.in, err, tc.want)
		}
	}
}

func TestFieldErrorFields(t *testing.T) {
	_, err := crdt.Field{Name: "age", Kind: crdt.KindInt}.Normalize("abc")
	var fe *crdt.FieldError
	if !errors.As(err, &fe) {
		t.Fatal(err)
	}
	if fe.Want != crdt.KindInt || fe.Got != "abc" || fe.Reason != "" {
		t.Errorf("FieldError = %+v", *fe)
	}
	long := (&crdt.FieldError{Field: "f", Want: crdt.KindInt, Got: string(make([]byte, 1000))}).Error()
	if len(long) > 400 {
		t.Errorf("error quotes a long value in full: %d bytes", len(long))
	}
}

func TestExport(t *testing.T) {
	dt := crdt.Field{Name: "at", Kind: crdt.KindDateTime}
	js := crdt.Field{Name: "meta", Kind: crdt.KindJSON}
	num := crdt.Field{Name: "age", Kind: crdt.KindInt}
	str := crdt.Field{Name: "name", Kind: crdt.KindString}

	got := dt.Export("2024-02-29T12:04:05.12Z")
	want := time.Date(2024, 2, 29, 12, 4, 5, 120000000, time.UTC)
	if tm, ok := got.(time.Time); !ok || !tm.Equal(want) || tm.Location() != time.UTC {
		t.Errorf("DateTime Export = %#v, want %v", got, want)
	}
	if got := js.Export(`{"a":[1,true,null],"b":"x"}`); !reflect.DeepEqual(got, map[string]any{"a": []any{json.Number("1"), true, nil}, "b": "x"}) {
		t.Errorf("JSON Export = %#v", got)
	}
	// Numbers keep every digit, as written.
	big := `[12345678901234567890123,9007199254740993,1.10,-0.1e-400,1E+400]`
	wantBig := []any{json.Number("12345678901234567890123"), json.Number("9007199254740993"),
		json.Number("1.10"), json.Number("-0.1e-400"), json.Number("1E+400")}
	if got := js.Export(big); !reflect.DeepEqual(got, wantBig) {
		t.Errorf("JSON Export(%s) = %#v, want %#v", big, got, wantBig)
	}
	n, err := js.Normalize(js.Export(big))
	if err != nil || n != big {
		t.Errorf("Normalize(Export(%s)) = %v, %v", big, n, err)
	}
	for _, tc := range []struct {
		f crdt.Field
		v any
	}{
		{num, int64(3)}, {str, "x"}, {dt, nil}, {js, nil}, {dt, "not a time"}, {js, "{bad"},
	} {
		if got := tc.f.Export(tc.v); !reflect.DeepEqual(got, tc.v) {
			t.Errorf("%s.Export(%#v) = %#v, want it unchanged", tc.f.Kind, tc.v, got)
		}
	}

	// Normalize then Export gives back the value for every kind.
	for _, tc := range []struct {
		f  crdt.Field
		in any
	}{
		{dt, want}, {js, map[string]any{"k": []any{"v", json.Number("2.5")}}}, {num, int64(-1)}, {str, "s"},
	} {
		n, err := tc.f.Normalize(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		out := tc.f.Export(n)
		if tm, ok := out.(time.Time); ok {
			if !tm.Equal(tc.in.(time.Time)) {
				t.Errorf("round trip %v → %v", tc.in, tm)
			}
		} else if !reflect.DeepEqual(out, tc.in) {
			t.Errorf("round trip %#v → %#v", tc.in, out)
		}
	}
}

func TestKindNames(t *testing.T) {
	for k := crdt.KindString; k <= crdt.KindJSON; k++ {
		got, ok := crdt.KindByName(k.String())
		if !ok || got != k {
			t.Errorf("KindByName(%q) = %v, %v", k.String(), got, ok)
		}
	}
}

// TestNormalizeIntExact checks Int's reading of a json.Number against math/big:
// every JSON number that denotes an integer in the int64 range is accepted with
// its exact value, one beyond the range is refused as out of range, and any other
// is refused as not an Int.
func TestNormalizeIntExact(t *testing.T) {
	num := crdt.Field{Name: "n", Kind: crdt.KindInt}
	digits := rapid.StringMatching(`[0-9]{0,25}`)
	rapid.Check(t, func(t *rapid.T) {
		intPart := rapid.OneOf(rapid.Just("0"), rapid.StringMatching(`[1-9][0-9]{0,22}`)).Draw(t, "int")
		s := rapid.SampledFrom([]string{"", "-"}).Draw(t, "sign") + intPart
		if frac := digits.Draw(t, "frac"); frac != "" {
			s += "." + frac
		}
		if rapid.Bool().Draw(t, "hasExp") {
			s += rapid.SampledFrom([]string{"e", "E"}).Draw(t, "e") +
				rapid.SampledFrom([]string{"", "+", "-"}).Draw(t, "expSign") +
				strconv.Itoa(rapid.IntRange(0, 40).Draw(t, "exp"))
		}
		want, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("big.Rat cannot read %q", s)
		}
		got, err := num.Normalize(json.Number(s))
		switch {
		case !want.IsInt():
			if err == nil || !strings.Contains(err.Error(), "want Int") {
				t.Fatalf("Normalize(%q) = %v, %v; want a type mismatch", s, got, err)
			}
		case !want.Num().IsInt64():
			if err == nil || !strings.Contains(err.Error(), "out of the Int range") {
				t.Fatalf("Normalize(%q) = %v, %v; want out of range", s, got, err)
			}
		case err != nil || got != want.Num().Int64():
			t.Fatalf("Normalize(%q) = %v, %v; want %s", s, got, err, want.Num())
		}
	})
}

// TestTooLarge checks that a block over MaxBlockSize is refused with ErrTooLarge,
// which is also an ErrInvalidBlock, when built and when decoded.
func TestTooLarge(t *testing.T) {
	s := testSchema()
	_, err := crdt.NewGenesis(s, map[string]any{"title": strings.Repeat("x", crdt.MaxBlockSize)}, nil, testNonce, testKey)
	if !errors.Is(err, crdt.ErrTooLarge) || !errors.Is(err, crdt.ErrInvalidBlock) {
		t.Errorf("NewGenesis of an oversized value: %v, want ErrTooLarge", err)
	}
	fits := crdt.MaxBlockSize - 1000
	if _, err := crdt.NewGenesis(s, map[string]any{"title": strings.Repeat("x", fits)}, nil, testNonce, testKey); err != nil {
		t.Errorf("NewGenesis of a %d-byte value: %v", fits, err)
	}
	_, err = crdt.Decode(make([]byte, crdt.MaxBlockSize+1))
	if !errors.Is(err, crdt.ErrTooLarge) || !errors.Is(err, crdt.ErrInvalidBlock) {
		t.Errorf("Decode of %d bytes: %v, want ErrTooLarge", crdt.MaxBlockSize+1, err)
	}
}
