//go:build unix

package gossipdb

import (
	"errors"
	"fmt"

	"github.com/gossipdb/gossipdb/internal/store"
)

// lockDir takes the lock that makes one open Node at a time, in this process or
// another, the owner of data directory dir: an exclusive flock on the
// directory (store.LockDir), which the kernel lets go when the process ends,
// however it ends. release lets it go. Open takes it before it reads or
// writes anything in dir. While another node holds dir it fails with
// ErrLocked, naming dir and, where it can, the holder.
func lockDir(dir string) (release func(), err error) {
	release, err = store.LockDir(dir, true)
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%w: %s (%s)", ErrLocked, dir, store.Holder(dir))
	}
	if err != nil {
		return nil, fmt.Errorf("gossipdb: %w", err)
	}
	return release, nil
}
