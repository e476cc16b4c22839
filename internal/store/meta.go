package store

import "github.com/dgraph-io/badger/v4"

// PutCollection stores the canonical definition of collection name.
func (tx *Tx) PutCollection(name string, def []byte) error {
	return tx.set(key(prefixCollection, []byte(name)), def)
}

// Collections calls fn for every stored collection definition, in name order.
func (tx *Tx) Collections(fn func(name string, def []byte) error) error {
	return tx.each(prefixCollection, fn)
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
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: true, PrefetchSize: 16})
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
