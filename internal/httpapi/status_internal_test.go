package httpapi

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/gossipdb/gossipdb"
)

// TestStatusOfConflicts: the errors of a request that met a concurrent change
// are 409 Conflict, not 500: nothing is wrong with the node, and the same
// request again answers. A query whose index was dropped while it read it
// was a logged 500.
func TestStatusOfConflicts(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("%w: \"by_name\" of Item; run the query again", gossipdb.ErrIndexDropped),
		fmt.Errorf("add Item: %w", gossipdb.ErrSchemaConflict),
	} {
		if got := statusOf(err); got != http.StatusConflict {
			t.Errorf("status of %q: %d, want %d", err, got, http.StatusConflict)
		}
	}
}
