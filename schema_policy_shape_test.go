package gossipdb_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// TestAddCollectionPolicyIsPartOfTheShape: a policy is part of a collection's
// identity, so SDL that declares the fields of an existing collection with
// another policy, or with none, is a conflict: AddCollection does not hand
// back an open collection for SDL that asks for a restricted one, nor the
// other way round.
func TestAddCollectionPolicyIsPartOfTheShape(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	open := `type Doc { title: String }`
	restricted := fmt.Sprintf(`type Doc @policy(admins: [%q]) { title: String }`, n.ID())
	for _, tc := range []struct{ first, then string }{{open, restricted}, {restricted, open}} {
		n := nodetest.Open(t, "", nil)
		nodetest.AddCollection(t, tc.first, n)
		if _, err := n.AddCollection(ctx, tc.then); !errors.Is(err, gossipdb.ErrSchemaConflict) {
			t.Errorf("%s, then %s: %v, want ErrSchemaConflict", tc.first, tc.then, err)
		}
	}
}
