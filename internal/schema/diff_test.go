package schema_test

import (
	"reflect"
	"testing"

	"github.com/gossipdb/gossipdb/internal/schema"
)

func TestDiff(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		want     []string
	}{
		{"equal", seedSDL, `type User { points: Float verified: Boolean age: Int name: String }`, nil},
		{"kind", `type User { age: Int }`, `type User { age: Float }`,
			[]string{`field "age": Int in existing, Float in new`}},
		{"only in new", `type User { name: String }`, `type User { email: String name: String }`,
			[]string{`field "email": only in new`}},
		{"only in existing", `type User { email: String name: String }`, `type User { name: String }`,
			[]string{`field "email": only in existing`}},
		{"required in new", `type User { name: String }`, `type User { name: String! }`,
			[]string{`field "name": required in new`}},
		{"required in existing", `type User { name: String! }`, `type User { name: String }`,
			[]string{`field "name": required in existing`}},
		{"counter", `type User { n: Int @crdt(type: pncounter) }`, `type User { n: Int }`,
			[]string{`field "n": pncounter in existing, lww in new`}},
		{"name", `type User { n: Int }`, `type Users { n: Int }`,
			[]string{`name: "User" in existing, "Users" in new`}},
		{"several", `type User { a: Int b: String! c: Int d: Float @crdt(type: pncounter) }`,
			`type User { aa: Int b: JSON c: Int d: Int e: Boolean }`,
			[]string{
				`field "a": only in existing`,
				`field "aa": only in new`,
				`field "b": String in existing, JSON in new`,
				`field "b": required in existing`,
				`field "d": Float in existing, Int in new`,
				`field "d": pncounter in existing, lww in new`,
				`field "e": only in new`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := mustParseOne(t, tt.old), mustParseOne(t, tt.new)
			got := schema.Diff(a, b)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Diff =\n%q\nwant\n%q", got, tt.want)
			}
			if (len(got) == 0) != a.ID.Equals(b.ID) {
				t.Errorf("Diff reports %d differences, IDs equal: %v", len(got), a.ID.Equals(b.ID))
			}
		})
	}
}

func TestDiffNil(t *testing.T) {
	s := mustParseOne(t, `type User { n: Int }`)
	want := []string{`name: "User" in existing, "" in new`, `field "n": only in existing`}
	if got := schema.Diff(s, nil); !reflect.DeepEqual(got, want) {
		t.Errorf("Diff(s, nil) = %q, want %q", got, want)
	}
	if got := schema.Diff(nil, nil); got != nil {
		t.Errorf("Diff(nil, nil) = %q, want nil", got)
	}
}
