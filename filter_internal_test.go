package gossipdb

import (
	"regexp"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// TestLikeMatchesARegexp checks the LIKE matcher against a regular
// expression of the same pattern (% is .*, _ is .), over random patterns
// and values drawn from a few characters, several bytes long among them, so
// that runs overlap, repeat and end in every way.
func TestLikeMatchesARegexp(t *testing.T) {
	chars := []string{"a", "b", "é", "%", "_"}
	rapid.Check(t, func(t *rapid.T) {
		p := strings.Join(rapid.SliceOfN(rapid.SampledFrom(chars), 0, 12).Draw(t, "pattern"), "")
		s := strings.Join(rapid.SliceOfN(rapid.SampledFrom(chars[:3]), 0, 16).Draw(t, "value"), "")
		var re strings.Builder
		re.WriteString("^(?s)")
		for _, r := range p {
			switch r {
			case '%':
				re.WriteString(".*")
			case '_':
				re.WriteString(".")
			default:
				re.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		re.WriteString("$")
		lp, err := compileLike(p)
		if err != nil {
			t.Fatalf("compileLike(%q): %v", p, err)
		}
		if got, want := like(s, lp), regexp.MustCompile(re.String()).MatchString(s); got != want {
			t.Fatalf("like(%q, %q) = %v, want %v", s, p, got, want)
		}
	})
}
