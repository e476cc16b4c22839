package main_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// TestIndexCommands creates, lists and drops indexes with `gossipdb client
// index` against a running node, and checks the errors of bad flags.
func TestIndexCommands(t *testing.T) {
	needBinary(t)
	n := newNode(t, "node")
	n.start(t)
	url := n.url()
	ok(t, "client", "collection", "add", userSDL, "--url", url)
	ok(t, "client", "collection", "create", "--name", "User", `[{"name": "Ada", "age": 36}, {"name": "Bob", "age": 20}]`, "--url", url)

	var created client.IndexInfo
	decodeJSON(t, ok(t, "client", "index", "create", "--collection", "User", "--fields", "age:DESC, name", "--url", url), &created)
	want := []client.IndexFieldInfo{{Name: "age", Descending: true}, {Name: "name"}}
	if created.Name != "User_age_DESC_name_ASC" || fmt.Sprint(created.Fields) != fmt.Sprint(want) {
		t.Fatalf("created %+v, want User_age_DESC_name_ASC on %v", created, want)
	}
	decodeJSON(t, ok(t, "client", "index", "create", "-c", "User", "--fields", "name:asc", "-n", "ByName", "--url", url), &created)
	if created.Name != "ByName" {
		t.Fatalf("created %+v, want ByName", created)
	}
	nodetest.Eventually(t, 10*time.Second, func() error {
		var all map[string][]client.IndexInfo
		out := ok(t, "client", "index", "list", "--url", url)
		decodeJSON(t, out, &all)
		if ixs := all["User"]; len(ixs) != 2 || !ixs[0].Ready || !ixs[1].Ready || ixs[1].Name != "ByName" {
			return fmt.Errorf("indexes %+v, want two ready, ByName second", all)
		}
		// "read" is the progress of a build: a ready index has none.
		if strings.Contains(out, `"read"`) {
			t.Fatalf("ready indexes listed with \"read\": %s", out)
		}
		return nil
	})
	ok(t, "client", "index", "drop", "--collection", "User", "--name", "ByName", "--url", url)
	var left []client.IndexInfo
	decodeJSON(t, ok(t, "client", "index", "list", "-c", "User", "--url", url), &left)
	if len(left) != 1 || left[0].Name != "User_age_DESC_name_ASC" {
		t.Fatalf("indexes after the drop: %+v", left)
	}

	fails(t, []string{"client", "index", "create", "-c", "User", "--fields", "age:UP", "--url", url}, `direction "UP" of age`)
	fails(t, []string{"client", "index", "create", "-c", "User", "--fields", "age,,name", "--url", url}, "empty field name")
	fails(t, []string{"client", "index", "create", "-c", "User", "--fields", "nope", "--url", url}, `"nope"`, "unknown field")
	fails(t, []string{"client", "index", "create", "--fields", "age", "--url", url}, "collection")
	fails(t, []string{"client", "index", "drop", "-c", "User", "-n", "ByName", "--url", url}, "not found", "ByName")
	fails(t, []string{"client", "index", "list", "-c", "Nope", "--url", url}, "Nope")
}
