package nodetest

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// Do sends a request of method to url, with body ("" for none) and headers
// (a "Host" header sets the request's host), over c, and returns the
// answer, its body read and closed, and the body's bytes. A failure to send
// it or read the answer fails the test.
func Do(tb testing.TB, c *http.Client, method, url, body string, headers map[string]string) (*http.Response, []byte) {
	tb.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp, answer
}
