package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAPIBudgetFlags: the --api-* flags set the budgets of the node's API,
// and config.json keeps them. With --api-body-budget at its floor, 4MiB, one
// body of 10,000 small documents, which the default 16 MiB takes, decodes to
// more than the whole budget and gets 413 naming it; /metrics shows the
// budgets the flags set.
func TestAPIBudgetFlags(t *testing.T) {
	needBinary(t)
	n := newNode(t, "node")
	n.start(t, "--api-body-budget", "4MiB", "--api-answer-budget", "1MiB", "--api-event-budget", "2MiB",
		"--api-body-read-timeout", "1m")
	url := n.url()
	ok(t, "client", "collection", "add", userSDL, "--url", url)

	docs := make([]string, 10_000)
	for i := range docs {
		docs[i] = fmt.Sprintf(`{"name": "u%d", "age": %d, "verified": true, "points": 1.5}`, i, i)
	}
	c := http.Client{Timeout: commandTimeout}
	resp, err := c.Post("http://"+url+"/api/v0/collections/User/documents", "application/json",
		strings.NewReader("["+strings.Join(docs, ",")+"]"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "the budget of 4194304 bytes") {
		t.Fatalf("POST of 10,000 documents: %s %.200s; want 413 naming the budget of 4194304 bytes", resp.Status, body)
	}

	resp, err = c.Get("http://" + url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"gossipdb_api_body_budget_bytes 4.194304e+06\n",
		"gossipdb_api_answer_budget_bytes 1.048576e+06\n",
		"gossipdb_api_event_budget_bytes 2.097152e+06\n",
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("GET /metrics has no %q", strings.TrimSpace(want))
		}
	}

	var kept map[string]any
	data, err := os.ReadFile(filepath.Join(n.rootdir, "config.json"))
	if err == nil {
		err = json.Unmarshal(data, &kept)
	}
	if err != nil || kept["apiBodyBudget"] != "4MiB" || kept["apiAnswerBudget"] != "1MiB" ||
		kept["apiEventBudget"] != "2MiB" || kept["apiBodyReadTimeout"] != "1m0s" {
		t.Errorf("config.json: %s, %v; want the four budgets the flags set", data, err)
	}
	n.stop(t)
}
