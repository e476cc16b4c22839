// Package cidtext parses CIDs given as text from outside the node (a block
// CID in a request, a collection version) with an error worded for whoever
// wrote it: go-cid's errors name the library and repeat themselves ("invalid
// cid: invalid cid: expected 1 as the cid version number, got: 13").
package cidtext

import (
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"
)

// Parse decodes s, a CID in any multibase, or fails with an error that names
// s as what ("block CID", "version") and says once why it is not a CID:
//
//	block CID "zzz" is not a CID: expected 1 as the cid version number, got: 13
//
// Long text is cut in the message. The error wraps no sentinel: the caller
// adds its own (such as gossipdb.ErrInvalid).
func Parse(what, s string) (cid.Cid, error) {
	c, err := cid.Decode(s)
	if err == nil {
		return c, nil
	}
	return cid.Undef, fmt.Errorf("%s %s is not a CID: %s", what, quote(s), reason(err))
}

// maxQuoted is the most bytes of the text an error quotes.
const maxQuoted = 128

func quote(s string) string {
	if len(s) > maxQuoted {
		return fmt.Sprintf("%q…", s[:maxQuoted])
	}
	return fmt.Sprintf("%q", s)
}

// reason is err without go-cid's "invalid cid: " wrappers, however many.
func reason(err error) string {
	for {
		var e cid.ErrInvalidCid
		if !errors.As(err, &e) || e.Err == nil {
			break
		}
		err = e.Err
	}
	if err.Error() == "" {
		return "malformed"
	}
	return err.Error()
}
