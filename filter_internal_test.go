package gossipdb

import (
	"regexp"
	"strings"
	"testing"
	"unicode"

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

// TestFoldIsEqualFold: two characters fold to the same one exactly when
// strings.EqualFold holds them equal, for every rune; the LIKE wildcards and
// escape fold to themselves and nothing else folds to them.
func TestFoldIsEqualFold(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		f := foldRune(r)
		if !strings.EqualFold(string(r), string(f)) {
			t.Fatalf("foldRune(%U) = %U, which EqualFold holds different", r, f)
		}
		for o := unicode.SimpleFold(r); o != r; o = unicode.SimpleFold(o) {
			if foldRune(o) != f {
				t.Fatalf("foldRune(%U) = %U but foldRune(%U) = %U: one folding class", r, f, o, foldRune(o))
			}
		}
		if (f == '%' || f == '_' || f == '\\') && f != r {
			t.Fatalf("foldRune(%U) = %q, a LIKE metacharacter", r, f)
		}
	}
	for _, tc := range [][2]string{{"ΟΔΥΣΣΕΥΣ", "οδυσσευς"}, {"µ", "μ"}, {"Μ", "µ"}, {"K", "k"}, {"ſ", "S"}, {"%a_\\", "%A_\\"}} {
		if fold(tc[0]) != fold(tc[1]) {
			t.Errorf("fold(%q) = %q, fold(%q) = %q; want equal", tc[0], fold(tc[0]), tc[1], fold(tc[1]))
		}
	}
}
