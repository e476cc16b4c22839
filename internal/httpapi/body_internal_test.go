package httpapi

import (
	"strings"
	"testing"
)

// FuzzJSONCost checks that jsonCost gives a text the same cost however its
// reads split it, as heldBody relies on, and takes any bytes.
func FuzzJSONCost(f *testing.F) {
	for _, s := range []string{
		`{"a": 0}`, `[{"a":0},{"a":0}]`, `[0, 1.5e3, -2, true, false, null]`,
		`{"k\"ey": ["v\\", "\u00e9"], "n": {"m": []}}`, `"x"`, `]]}}"`, `{"a":"b",}`,
		strings.Repeat("[", maxDepth+2) + strings.Repeat("]", maxDepth+2),
	} {
		f.Add(s, len(s)/2)
	}
	f.Fuzz(func(t *testing.T, text string, at int) {
		at = min(max(at, 0), len(text))
		var whole, split jsonCost
		want := whole.add([]byte(text))
		got := split.add([]byte(text[:at])) + split.add([]byte(text[at:]))
		if got != want {
			t.Errorf("cost %d read whole, %d split at %d", want, got, at)
		}
	})
}
