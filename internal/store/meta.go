package store

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/go-cid"
)

// PutCollection stores the canonical definition of collection name.
func (tx *Tx) PutCollection(name string, def []byte) error {
	return tx.set(key(prefixCollection, []byte(name)), def)
}

// Collections calls fn for every stored collection definition, in name order.
func (tx *Tx) Collections(fn func(name string, def []byte) error) error {
	return tx.each(prefixCollection, fn)
}

// PutVersion stores def, the definition of a later version of a collection,
// under its version ID. Storing it again is harmless.
func (tx *Tx) PutVersion(id cid.Cid, def []byte) error {
	return tx.set(key(prefixVersion, id.Bytes()), def)
}

// Version returns the stored definition of the version with the given ID, or
// ErrNotFound. The slice is the caller's.
func (tx *Tx) Version(id cid.Cid) ([]byte, error) {
	return tx.get(key(prefixVersion, id.Bytes()))
}

// Versions calls fn for every stored version definition, in ID order.
func (tx *Tx) Versions(fn func(def []byte) error) error {
	return tx.each(prefixVersion, func(_ string, def []byte) error { return fn(def) })
}

// PutActive records that collection name reads and writes through the version
// with the given ID.
func (tx *Tx) PutActive(name string, version cid.Cid) error {
	return tx.set(key(prefixActive, []byte(name)), version.Bytes())
}

// Active returns the version collection name reads and writes through, as
// recorded by PutActive, or ErrNotFound: the collection then uses its root.
func (tx *Tx) Active(name string) (cid.Cid, error) {
	v, err := tx.get(key(prefixActive, []byte(name)))
	if err != nil {
		return cid.Undef, err
	}
	c, err := cid.Cast(v)
	if err != nil {
		return cid.Undef, fmt.Errorf("store: active version of %s: %w", name, err)
	}
	return c, nil
}

// PutSubscription records that the node is subscribed to collection name.
func (tx *Tx) PutSubscription(name string) error {
	return tx.set(key(prefixSubscription, []byte(name)), nil)
}

// DeleteSubscription removes the subscription to collection name, if any.
func (tx *Tx) DeleteSubscription(name string) error {
	tx.closeLogIterator()
	k := key(prefixSubscription, []byte(name))
	tx.wrote(k, nil)
	return tx.txn.Delete(k)
}

// Subscriptions returns the names of the subscribed collections, sorted.
func (tx *Tx) Subscriptions() ([]string, error) {
	var names []string
	err := tx.each(prefixSubscription, func(name string, _ []byte) error {
		names = append(names, name)
		return nil
	})
	return names, err
}

// Meta returns the metadata value stored under k, or ErrNotFound.
func (tx *Tx) Meta(k string) ([]byte, error) {
	return tx.get(key(prefixMeta, []byte(k)))
}

// PutMeta stores a metadata value under k.
func (tx *Tx) PutMeta(k string, v []byte) error {
	return tx.set(key(prefixMeta, []byte(k)), v)
}

func (tx *Tx) each(prefix byte, fn func(name string, v []byte) error) error {
	p := []byte{prefix}
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: p})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		v, err := valueCopy(item)
		if err != nil {
			return err
		}
		if err := fn(string(item.Key()[1:]), v); err != nil {
			return err
		}
	}
	return nil
}
