package crdt

import (
	"fmt"
	"slices"

	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/datamodel"
)

// Removal names an element of an add-wins set field and the tags it removes: the
// CIDs of the blocks that added the element, as the writer saw them.
type Removal struct {
	Value any       // the element, canonical
	Tags  []cid.Cid // sorted by bytes, each once
}

// validateSetOps checks the structure of b.SAdd and b.SRem: field names, lists
// that are not empty and at most MaxListLen long, elements that are non-null
// scalars in strictly ascending order (CompareValues), tags that are sorted,
// distinct links; no field both in them and in set or add, no element both added
// and removed, no removal in genesis.
func (b *Block) validateSetOps() error {
	if len(b.SRem) > 0 && b.IsGenesis() {
		return invalid("genesis block has srem")
	}
	for _, m := range []struct {
		key    string
		fields []string
	}{{keySAdd, sortedKeys(b.SAdd)}, {keySRem, sortedKeys(b.SRem)}} {
		if len(m.fields) > MaxFields {
			return invalid("%s has %d fields, more than %d", m.key, len(m.fields), MaxFields)
		}
		for _, k := range m.fields {
			if err := checkFieldName(m.key, k); err != nil {
				return err
			}
			if _, ok := b.Set[k]; ok {
				return invalid("field %q in both set and %s", k, m.key)
			}
			if _, ok := b.Add[k]; ok {
				return invalid("field %q in both add and %s", k, m.key)
			}
		}
	}
	for _, k := range sortedKeys(b.SAdd) {
		if err := checkElements(keySAdd, k, b.SAdd[k], func(v any) any { return v }); err != nil {
			return err
		}
	}
	for _, k := range sortedKeys(b.SRem) {
		rems := b.SRem[k]
		if err := checkElements(keySRem, k, rems, func(r Removal) any { return r.Value }); err != nil {
			return err
		}
		for _, r := range rems {
			if _, added := slices.BinarySearchFunc(b.SAdd[k], r.Value, CompareValues); added {
				return invalid("%s %q: element %s both added and removed", keySRem, k, describe(r.Value))
			}
			if err := checkTags(r.Tags); err != nil {
				return invalid("%s %q: element %s: %v", keySRem, k, describe(r.Value), err)
			}
		}
	}
	return nil
}

// checkElements checks one field's list of sadd or srem.
func checkElements[E any](key, field string, list []E, value func(E) any) error {
	if len(list) == 0 {
		return invalid("%s %q is empty (omit it instead)", key, field)
	}
	if len(list) > MaxListLen {
		return invalid("%s %q has %d elements, more than %d", key, field, len(list), MaxListLen)
	}
	for i, e := range list {
		v := value(e)
		if v == nil {
			return invalid("%s %q: element %d is null", key, field, i)
		}
		if _, ok := v.([]any); ok {
			return invalid("%s %q: element %d is a list", key, field, i)
		}
		if err := checkScalar(v, true); err != nil {
			return invalid("%s %q: element %d: %v", key, field, i, err)
		}
		if i > 0 && CompareValues(value(list[i-1]), v) >= 0 {
			return invalid("%s %q: elements not sorted or repeated", key, field)
		}
	}
	return nil
}

// checkTags checks a list of tags: 1 to MaxListLen sorted, distinct links.
func checkTags(tags []cid.Cid) error {
	if len(tags) == 0 || len(tags) > MaxListLen {
		return fmt.Errorf("%d tags, want 1 to %d", len(tags), MaxListLen)
	}
	for i, t := range tags {
		if !checkLink(t) {
			return fmt.Errorf("tag %s is not a CIDv1 dag-cbor sha2-256", t)
		}
		if i > 0 && compareCIDs(tags[i-1], t) >= 0 {
			return fmt.Errorf("tags not sorted or repeated")
		}
	}
	return nil
}

// sortedKeys returns the keys of m in bytewise order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// setAddMap makes n the map of a validated SAdd.
func (n *treeNode) setAddMap(m map[string][]any) {
	keys := mapKeysInOrder(m)
	vals := n.setMap(keys)
	for i, k := range keys {
		vals[i].setList(m[k])
	}
}

// setRemMap makes n the map of a validated SRem: field → [[value, [tag, …]], …].
func (n *treeNode) setRemMap(m map[string][]Removal) {
	keys := mapKeysInOrder(m)
	vals := n.setMap(keys)
	for i, k := range keys {
		rems := m[k]
		vals[i].kind = datamodel.Kind_List
		vals[i].kids = make([]treeNode, len(rems))
		pairs := make([]treeNode, 2*len(rems))
		for j, r := range rems {
			pair := &vals[i].kids[j]
			pair.kind, pair.kids = datamodel.Kind_List, pairs[2*j:2*j+2]
			pair.kids[0].setScalar(r.Value)
			pair.kids[1].setLinks(r.Tags)
		}
	}
}

// setList makes n a list of validated scalars.
func (n *treeNode) setList(list []any) {
	n.kind = datamodel.Kind_List
	n.kids = make([]treeNode, len(list))
	for i, v := range list {
		n.kids[i].setScalar(v)
	}
}

// fieldMapFromNode reads the map of sadd or srem, checking its kinds and size; it
// calls read for each field's value.
func fieldMapFromNode[V any](key string, n *treeNode, read func(*treeNode) (V, error)) (map[string]V, error) {
	if n.kind != datamodel.Kind_Map {
		return nil, invalid("%s is a %s, want a map", key, n.kind)
	}
	if len(n.kids) == 0 {
		return nil, invalid("%s is empty (omit it instead)", key)
	}
	if len(n.kids) > MaxFields {
		return nil, invalid("%s has %d fields, more than %d", key, len(n.kids), MaxFields)
	}
	m := make(map[string]V, len(n.kids))
	for i, k := range n.keys {
		v, err := read(&n.kids[i])
		if err != nil {
			return nil, invalid("%s %.32q: %v", key, k, err)
		}
		m[k] = v
	}
	return m, nil
}

// elementsFromNode reads a list of scalars.
func elementsFromNode(n *treeNode) ([]any, error) {
	if n.kind != datamodel.Kind_List {
		return nil, fmt.Errorf("is a %s, want a list", n.kind)
	}
	if len(n.kids) > MaxListLen {
		return nil, fmt.Errorf("has %d elements, more than %d", len(n.kids), MaxListLen)
	}
	out := make([]any, len(n.kids))
	for i := range n.kids {
		v, err := scalarValue(&n.kids[i])
		if err != nil {
			return nil, fmt.Errorf("element %d %v", i, err)
		}
		out[i] = v
	}
	return out, nil
}

// removalsFromNode reads a list of [value, [tag, …]] pairs.
func removalsFromNode(n *treeNode) ([]Removal, error) {
	if n.kind != datamodel.Kind_List {
		return nil, fmt.Errorf("is a %s, want a list", n.kind)
	}
	if len(n.kids) > MaxListLen {
		return nil, fmt.Errorf("has %d elements, more than %d", len(n.kids), MaxListLen)
	}
	out := make([]Removal, len(n.kids))
	for i := range n.kids {
		p := &n.kids[i]
		if p.kind != datamodel.Kind_List || len(p.kids) != 2 {
			return nil, fmt.Errorf("element %d is not a [value, [tags]] pair", i)
		}
		v, err := scalarValue(&p.kids[0])
		if err != nil {
			return nil, fmt.Errorf("element %d %v", i, err)
		}
		tags, err := linksFromNode(&p.kids[1])
		if err != nil {
			return nil, fmt.Errorf("element %d: tags %v", i, err)
		}
		out[i] = Removal{Value: v, Tags: tags}
	}
	return out, nil
}

// linksFromNode reads a list of at most MaxListLen links.
func linksFromNode(n *treeNode) ([]cid.Cid, error) {
	if n.kind != datamodel.Kind_List {
		return nil, fmt.Errorf("is a %s, want a list", n.kind)
	}
	if len(n.kids) > MaxListLen {
		return nil, fmt.Errorf("has %d links, more than %d", len(n.kids), MaxListLen)
	}
	out := make([]cid.Cid, len(n.kids))
	for i := range n.kids {
		if n.kids[i].kind != datamodel.Kind_Link || !checkLink(n.kids[i].link) {
			return nil, fmt.Errorf("item %d is not a CIDv1 dag-cbor sha2-256 link", i)
		}
		out[i] = n.kids[i].link
	}
	return out, nil
}

// setItem is one element of an add-wins set's state: the tags of the merged
// blocks that added it and no merged block removed (live), and the tags merged
// blocks removed (removed). It is present while live is not empty.
type setItem struct {
	value         any
	live, removed []cid.Cid // sorted by bytes, disjoint
}

// mergeSetOps returns fs (a set field's state, or the zero FieldState) with the
// additions adds, tagged tag, and the removals rems applied. fs's items belong to
// one State (Clone copies them), so it changes them in place; a tag list it
// changes is copied, as FieldStates copied from fs may share it.
func mergeSetOps(fs FieldState, tag cid.Cid, adds []any, rems []Removal) FieldState {
	items := fs.items
	find := func(v any) int {
		i, found := slices.BinarySearchFunc(items, v, func(it setItem, v any) int { return CompareValues(it.value, v) })
		if !found {
			items = slices.Insert(items, i, setItem{value: v})
		}
		return i
	}
	for _, v := range adds {
		i := find(v)
		if _, removed := slices.BinarySearchFunc(items[i].removed, tag, compareCIDs); !removed {
			items[i].live = insertTag(items[i].live, tag)
		}
	}
	for _, r := range rems {
		i := find(r.Value)
		for _, t := range r.Tags {
			items[i].removed = insertTag(items[i].removed, t)
			if j, live := slices.BinarySearchFunc(items[i].live, t, compareCIDs); live {
				items[i].live = slices.Delete(slices.Clone(items[i].live), j, j+1)
			}
		}
	}
	return FieldState{AddWinsSet: true, items: items, Value: liveValues(items)}
}

// insertTag returns tags (sorted) with t, copied if t is new.
func insertTag(tags []cid.Cid, t cid.Cid) []cid.Cid {
	i, found := slices.BinarySearchFunc(tags, t, compareCIDs)
	if found {
		return tags
	}
	return slices.Insert(slices.Clone(tags), i, t)
}

// liveValues returns the elements of items that have a live tag, in order; never nil.
func liveValues(items []setItem) []any {
	out := make([]any, 0, len(items))
	for _, it := range items {
		if len(it.live) > 0 {
			out = append(out, it.value)
		}
	}
	return out
}

// SetTags returns the live tags of element v of the add-wins set field whose key
// (Field.ID) is key in st: the CIDs of the merged blocks that added v and that no merged block
// removed, sorted. The slice is the caller's; it is empty if v is not in the set.
func (st *State) SetTags(key string, v any) []cid.Cid {
	items := st.Fields[key].items
	i, found := slices.BinarySearchFunc(items, v, func(it setItem, v any) int { return CompareValues(it.value, v) })
	if !found {
		return nil
	}
	return slices.Clone(items[i].live)
}

// setDiff turns the whole new content of the add-wins set field whose key is key, elements
// sorted and distinct (nil: empty), into the additions and removals that make the
// set in st equal to it: the elements st lacks, and the elements st holds that
// content lacks, each with all its live tags.
func setDiff(st *State, key string, content []any) (adds []any, rems []Removal) {
	var items []setItem
	if st != nil {
		items = st.Fields[key].items
	}
	i := 0
	for _, it := range items {
		if len(it.live) == 0 {
			continue
		}
		for i < len(content) && CompareValues(content[i], it.value) < 0 {
			adds = append(adds, content[i])
			i++
		}
		if i < len(content) && CompareValues(content[i], it.value) == 0 {
			i++
			continue
		}
		rems = append(rems, Removal{Value: it.value, Tags: slices.Clone(it.live)})
	}
	adds = append(adds, content[i:]...)
	return adds, rems
}

// setFieldEntryOfSet sets n to the state entry of an add-wins set:
// {"s": [[value, [live tag, …], [removed tag, …]], …]}.
func setFieldEntryOfSet(n *treeNode, fs FieldState) {
	n.kind, n.keys = datamodel.Kind_Map, setEntryKeys
	n.kids = make([]treeNode, 1)
	list := &n.kids[0]
	list.kind = datamodel.Kind_List
	list.kids = make([]treeNode, len(fs.items))
	parts := make([]treeNode, 3*len(fs.items))
	for i, it := range fs.items {
		e := &list.kids[i]
		e.kind, e.kids = datamodel.Kind_List, parts[3*i:3*i+3]
		e.kids[0].setScalar(it.value)
		e.kids[1].setLinks(it.live)
		e.kids[2].setLinks(it.removed)
	}
}

// setFromNode reads the list of an add-wins set's state entry.
func setFromNode(n *treeNode) (FieldState, error) {
	fs := FieldState{AddWinsSet: true}
	if n.kind != datamodel.Kind_List {
		return fs, fmt.Errorf("set is a %s, want a list", n.kind)
	}
	fs.items = make([]setItem, len(n.kids))
	for i := range n.kids {
		e := &n.kids[i]
		if e.kind != datamodel.Kind_List || len(e.kids) != 3 {
			return fs, fmt.Errorf("element %d is not a [value, [live], [removed]] triple", i)
		}
		v, err := scalarValue(&e.kids[0])
		if err != nil {
			return fs, fmt.Errorf("element %d %v", i, err)
		}
		live, err := linksFromNode(&e.kids[1])
		if err != nil {
			return fs, fmt.Errorf("element %d: live tags %v", i, err)
		}
		removed, err := linksFromNode(&e.kids[2])
		if err != nil {
			return fs, fmt.Errorf("element %d: removed tags %v", i, err)
		}
		fs.items[i] = setItem{value: v, live: live, removed: removed}
	}
	fs.Value = liveValues(fs.items)
	return fs, nil
}

// validateSet checks a set field's state: elements non-null scalars in strictly
// ascending order, each with sorted, distinct, disjoint live and removed tags, not
// both empty, and Value their live elements.
func (fs FieldState) validateSet() error {
	if fs.Counter || fs.exact != nil || fs.Height != 0 || fs.Block.Defined() {
		return fmt.Errorf("set with a sum or a winning block")
	}
	for i, it := range fs.items {
		if it.value == nil {
			return fmt.Errorf("element %d is null", i)
		}
		if _, ok := it.value.([]any); ok {
			return fmt.Errorf("element %d is a list", i)
		}
		if err := checkScalar(it.value, true); err != nil {
			return fmt.Errorf("element %d: %v", i, err)
		}
		if i > 0 && CompareValues(fs.items[i-1].value, it.value) >= 0 {
			return fmt.Errorf("elements not sorted or repeated")
		}
		if len(it.live) == 0 && len(it.removed) == 0 {
			return fmt.Errorf("element %d has no tags", i)
		}
		for _, tags := range [][]cid.Cid{it.live, it.removed} {
			for j, t := range tags {
				if !checkLink(t) {
					return fmt.Errorf("element %d: tag %s is not a CIDv1 dag-cbor sha2-256", i, t)
				}
				if j > 0 && compareCIDs(tags[j-1], t) >= 0 {
					return fmt.Errorf("element %d: tags not sorted or repeated", i)
				}
			}
		}
		for _, t := range it.live {
			if _, both := slices.BinarySearchFunc(it.removed, t, compareCIDs); both {
				return fmt.Errorf("element %d: tag %s both live and removed", i, t)
			}
		}
	}
	if !slices.EqualFunc(liveValuesOrNil(fs.Value), liveValues(fs.items), func(a, b any) bool { return CompareValues(a, b) == 0 }) {
		return fmt.Errorf("value does not match the live elements")
	}
	return nil
}

// liveValuesOrNil returns v as a list, or nil.
func liveValuesOrNil(v any) []any {
	list, _ := v.([]any)
	return list
}
