package gossipdb

import (
	"errors"
	"fmt"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/schema"
	"github.com/gossipdb/gossipdb/internal/store"
)

// Errors returned by gossipdb. Check them with errors.Is; the returned error says
// what was wrong and wraps one of these.
var (
	// ErrNotFound reports an unknown collection or document.
	ErrNotFound = errors.New("gossipdb: not found")
	// ErrDeleted reports a document that was deleted.
	ErrDeleted = errors.New("gossipdb: document deleted")
	// ErrClosed reports a call on a closed Node.
	ErrClosed = errors.New("gossipdb: node closed")
	// ErrInvalid reports bad input: an SDL error, an unknown field, a value of the
	// wrong type, a missing required field, a malformed ID or address, a query
	// whose answer is out of range (a sum beyond its field's kind). errors.As
	// finds a *FieldError or *SchemaError with the details where one applies.
	ErrInvalid = errors.New("gossipdb: invalid input")
	// ErrSchemaConflict reports a collection defined again with different fields.
	ErrSchemaConflict = errors.New("gossipdb: collection exists with different fields")
	// ErrTooLarge reports a document or change whose block would be larger than
	// crdt.MaxBlockSize (1 MiB) encoded: a value too large to store. It wraps
	// ErrInvalid, since the input is at fault.
	ErrTooLarge = fmt.Errorf("%w: too large", ErrInvalid)
	// ErrNoSpace reports a write refused because the disk of the node's data
	// directory is nearly full (see Options.DiskReserve); nothing was written.
	// Reads still work, and the same write succeeds once space is freed. Open
	// fails with it when the disk lacks even the space needed to open the store,
	// or to write a new directory's identity key.
	ErrNoSpace = errors.New("gossipdb: disk full")
	// ErrDamaged reports damaged or missing data in a node's directory: a store
	// file that Open would otherwise "repair" by discarding data, a damaged or lost
	// identity key (both at Open), a table file Check finds damaged, or a read that
	// met a value its store cannot read back. errors.As finds a *DamageError naming
	// the file where the file is known.
	ErrDamaged = errors.New("gossipdb: damaged data directory")
	// ErrLocked reports an Open of a data directory that another open Node
	// holds, in another process (such as a running `gossipdb start`) or in this
	// one. The error names the directory and, where it can, the process.
	ErrLocked = errors.New("gossipdb: data directory in use")
	// ErrCompacted reports a read of the change feed from a position older than
	// what the feed keeps (see Options.ChangeRetention): the application must
	// rescan the collection and follow the feed from Node.ChangesPosition.
	ErrCompacted = errors.New("gossipdb: change feed compacted past that position")
	// ErrReadOnly reports a write in a transaction of Node.View.
	ErrReadOnly = errors.New("gossipdb: read-only transaction")
	// ErrIndexDropped reports a query whose index was dropped (by
	// Collection.DropIndex, or a Patch that removed its field) after the query
	// had passed on results read through it: it cannot go on in the same
	// order. Running the query again gives a whole answer. A query that had
	// passed on nothing yet plans again by itself and does not fail.
	ErrIndexDropped = errors.New("gossipdb: index dropped while a query read it")
	// ErrLayout reports an Open of a data directory whose store was written
	// with an on-disk layout this version does not read (an earlier release's,
	// or a later one's). The error names both layouts and what to do; the
	// directory is left as it was. (It is the store's own error: its text
	// reads "store: unsupported layout".)
	ErrLayout = store.ErrLayout
)

// noSpace returns err, from the store, made to match ErrNoSpace when the store
// refused for lack of disk space.
func noSpace(err error) error {
	if errors.Is(err, store.ErrNoSpace) {
		return fmt.Errorf("%w: %w", ErrNoSpace, err)
	}
	return err
}

// DamageError names a damaged or missing file of a node's directory and says what
// is wrong with it. Errors carrying one also match ErrDamaged.
type DamageError = store.DamageError

// damaged marks an error of the store that reports damage with ErrDamaged.
func damaged(err error) error {
	if errors.Is(err, store.ErrDamaged) {
		return fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	return err
}

// storeError returns err, from the store during op, with gossipdb's prefix: one
// matching ErrNoSpace when the store refused for lack of disk space.
func storeError(op string, err error) error {
	if errors.Is(err, store.ErrNoSpace) {
		return fmt.Errorf("%w: %s: %w", ErrNoSpace, op, err)
	}
	return fmt.Errorf("gossipdb: %s: %w", op, err)
}

// FieldError says which field of a document input was wrong and why
// (`field "age": want Int, got "abc"`). Errors carrying one also match ErrInvalid.
type FieldError = crdt.FieldError

// SchemaError says where an SDL definition is wrong: type, field, line and column.
// Errors carrying one also match ErrInvalid.
type SchemaError = schema.Error
