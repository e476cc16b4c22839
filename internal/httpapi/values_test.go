package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestIntExact checks that an Int field takes a number only if it denotes an
// integer in the int64 range exactly, whatever its notation, and keeps every digit.
func TestIntExact(t *testing.T) {
	_, srv := newServer(t)
	addUser(t, srv)
	for _, in := range []string{"9007199254740993.0", "9007199254740993e0", "90071992547409930E-1", "9007199254740993"} {
		id := createDoc(t, srv, `{"age": `+in+`}`)
		a := call(t, srv, "GET", "/api/v0/collections/User/documents/"+id, "").want(t, http.StatusOK)
		if !strings.Contains(a.body, `"age":9007199254740993,`) {
			t.Errorf("age %s came back as %s", in, a.body)
		}
	}
	for _, in := range []string{"-9223372036854775809", "9223372036854775808", "1e19", "1e400"} {
		call(t, srv, "POST", "/api/v0/collections/User/documents", `{"age": `+in+`}`).
			wantError(t, http.StatusBadRequest, `field "age"`, "out of the Int range")
	}
	for _, in := range []string{"9007199254740993.5", "1e-400"} {
		call(t, srv, "POST", "/api/v0/collections/User/documents", `{"age": `+in+`}`).
			wantError(t, http.StatusBadRequest, `field "age": want Int, got "`+in+`"`)
	}
}
