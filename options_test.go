package gossipdb_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb"
)

// TestOptionsBudgetsValidated: budgets that cannot work are refused at Open
// with ErrInvalid naming the field.
func TestOptionsBudgetsValidated(t *testing.T) {
	for field, opts := range map[string]*gossipdb.Options{
		"OrphanPeerBytes": {OrphanPeerBytes: 1 << 20}, // less than one block of the largest size
		"OrphanBytes":     {OrphanBytes: 8 << 20, OrphanPeerBytes: 16 << 20},
		"InboxBytes":      {InboxBytes: -1},
		"FetchWorkers":    {FetchWorkers: -1},
		"ChangeRetention": {ChangeRetention: -1},
	} {
		n, err := gossipdb.Open("", opts)
		if err == nil {
			n.Close()
			t.Errorf("%s: Open accepted %+v", field, opts)
			continue
		}
		if !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), "Options."+field) {
			t.Errorf("%s: %v, want ErrInvalid naming Options.%s", field, err, field)
		}
	}
	// A small orphan budget alone takes a share to match.
	n, err := gossipdb.Open("", &gossipdb.Options{OrphanBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	n.Close()
}
