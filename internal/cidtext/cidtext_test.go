package cidtext_test

import (
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/internal/cidtext"
)

// TestParse: a CID parses in any multibase; text that is none gets one
// message naming it and saying why once, without go-cid's "invalid cid".
func TestParse(t *testing.T) {
	const id = "bafyreiggg5cd6yzihvblneb2eya5ele76gih6rrq3o2uqcybwldlkf3q6m"
	for _, s := range []string{id, strings.ToUpper(id)} {
		if c, err := cidtext.Parse("block CID", s); err != nil || c.String() != id {
			t.Errorf("Parse(%q) = %v, %v", s, c, err)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"zzz", `block CID "zzz" is not a CID: expected 1 as the cid version number, got: 13`},
		{"", `block CID "" is not a CID: cid too short`},
		{"bafy", `block CID "bafy" is not a CID: varints malformed, could not reach the end`},
		{id[:len(id)-1] + "!", `block CID "` + id[:len(id)-1] + `!" is not a CID: illegal base32 data at input byte 57`},
		{strings.Repeat("z", 200), `block CID "` + strings.Repeat("z", 128) + `"… is not a CID: `},
	} {
		_, err := cidtext.Parse("block CID", tc.in)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "invalid cid") {
			t.Errorf("Parse(%.20q): %v, want %s", tc.in, err, tc.want)
		}
	}
}
