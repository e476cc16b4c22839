package store

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/fb"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/badger/v4/y"
	"github.com/klauspost/compress/snappy"
	"google.golang.org/protobuf/proto"
)

// ErrDamaged reports a store whose files are damaged or missing: opening or
// reading it would lose data. Errors matching it carry a *DamageError naming the file.
var ErrDamaged = errors.New("store: damaged")

// DamageError names a damaged or missing file of a store and says what is wrong
// with it. It matches ErrDamaged.
type DamageError struct {
	File string // path of the file
	Err  error  // what is wrong with it
}

func (e *DamageError) Error() string { return fmt.Sprintf("%s: %v", e.File, e.Err) }

// Unwrap returns ErrDamaged and the cause, for errors.Is and errors.As.
func (e *DamageError) Unwrap() []error { return []error{ErrDamaged, e.Err} }

// Suffixes of Badger's data files: tables, write-ahead logs of the memtables and
// value logs. A directory holding any of them holds data.
const (
	tableSuffix = ".sst"
	walSuffix   = ".mem"
	vlogSuffix  = ".vlog"
)

// Log attribute keys of the store.
const (
	logKeyFile      = "file"
	logKeyComponent = "component"
)

// checkDir refuses a Badger directory that badger.Open would "repair" by
// discarding data, before Open touches it. It reads the MANIFEST (Badger's
// commit record of which tables make up the store) and fails with a
// *DamageError when:
//
//   - the MANIFEST is missing but the directory holds data files: Badger would
//     start an empty store and delete the tables;
//   - the MANIFEST does not decode or its checksums do not match;
//   - a table the MANIFEST lists is missing, or its footer, index or any block
//     fails its checksum (Badger would panic on a truncated table and silently
//     skip the rest of a table from a damaged block on);
//   - a table the MANIFEST does not list holds writes nothing else holds (see
//     checkUnlisted);
//   - the key registry (KEYREGISTRY) does not read, or a log's header names a
//     data key: the store is not encrypted, so either is damage, which Badger
//     reports as a wrong encryption key (see checkLogHeaders).
//
// It allows, logging each file, tables the MANIFEST does not list: a flush or
// compaction that did not finish leaves them, their data is still in the
// write-ahead log or in the tables the MANIFEST lists, and Badger deletes them.
// Badger's own crash recovery of a log's torn tail (the write-ahead log and the
// value log are cut at their last whole entry, the MANIFEST at its last whole
// change) is allowed too: only writes never acknowledged can be there.
//
// It logs, at warn level, an Open after an unclean stop (findUncleanStop),
// which Badger's own recovery does not tell apart from any other Open.
//
// It returns the compression of each table the MANIFEST lists, which CheckFiles
// needs to read them again.
func checkDir(bo badger.Options, log *slog.Logger) (map[uint64]options.CompressionType, error) {
	if bo.InMemory {
		return nil, nil
	}
	unlock, err := lockDir(bo.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // a new store
	}
	if err != nil {
		return nil, err
	}
	defer unlock() // before badger.Open locks the directory for itself
	if u, ok := findUncleanStop(bo.Dir); ok {
		u.log(log, bo.Dir)
	}
	entries, err := os.ReadDir(bo.Dir)
	if err != nil {
		return nil, err
	}
	haveManifest, haveWAL := false, false
	var dataFiles, logs []string
	tables := map[uint64]string{} // table files by ID
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == badger.ManifestFilename:
			haveManifest = true
		case strings.HasSuffix(name, tableSuffix):
			if id, ok := table.ParseFileID(name); ok {
				tables[id] = filepath.Join(bo.Dir, name)
			}
			dataFiles = append(dataFiles, name)
		case strings.HasSuffix(name, walSuffix):
			haveWAL = true
			dataFiles = append(dataFiles, name)
			logs = append(logs, filepath.Join(bo.Dir, name))
		case strings.HasSuffix(name, vlogSuffix):
			dataFiles = append(dataFiles, name)
			logs = append(logs, filepath.Join(bo.Dir, name))
		}
	}
	manifestPath := filepath.Join(bo.Dir, badger.ManifestFilename)
	if !haveManifest {
		if len(dataFiles) == 0 {
			return nil, nil // a new store
		}
		return nil, &DamageError{File: manifestPath, Err: fmt.Errorf(
			"missing, but the directory holds %d data files (%s): opening it would lose them",
			len(dataFiles), strings.Join(dataFiles, ", "))}
	}
	f, err := os.Open(manifestPath)
	if err != nil {
		return nil, err
	}
	m, _, err := badger.ReplayManifestFile(f, bo.ExternalMagicVersion, bo)
	f.Close()
	if err != nil {
		return nil, &DamageError{File: manifestPath, Err: err}
	}
	if err := checkKeyRegistry(bo.Dir); err != nil {
		return nil, err
	}
	if err := checkLogHeaders(logs); err != nil {
		return nil, err
	}
	compression := make(map[uint64]options.CompressionType, len(m.Tables))
	ids := slices.Sorted(maps.Keys(m.Tables))
	for _, id := range ids {
		path := table.NewFilename(id, bo.Dir)
		tm := m.Tables[id]
		switch {
		case tables[id] == "":
			return nil, &DamageError{File: path, Err: errors.New("missing: the MANIFEST lists this table")}
		case tm.KeyID != 0:
			return nil, &DamageError{File: path, Err: fmt.Errorf("encrypted with data key %d, but the store is not encrypted", tm.KeyID)}
		}
		compression[id] = tm.Compression
	}
	// The tables are read on every CPU: checking their checksums is most of
	// what Open costs on a large store.
	errs := make([]error, len(ids))
	versions := make([]uint64, len(ids))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(ids)) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(ids); i = int(next.Add(1)) - 1 {
				versions[i], errs[i] = verifyTable(table.NewFilename(ids[i], bo.Dir), compression[ids[i]])
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err // the first table's, by ID
		}
	}
	if err := checkUnlisted(tables, m, slices.Max(append(versions, 0)), haveWAL, manifestPath, log); err != nil {
		return nil, err
	}
	return compression, nil
}

// checkKeyRegistry reads the key registry of the Badger directory dir, as
// Badger does when it opens the store, without writing it: a store that has
// none gets one from Badger. The store is not encrypted, so the registry holds
// no key, and one that does not read is damaged.
func checkKeyRegistry(dir string) error {
	kr, err := badger.OpenKeyRegistry(badger.KeyRegistryOptions{Dir: dir, ReadOnly: true})
	if err != nil {
		return &DamageError{File: filepath.Join(dir, badger.KeyRegistryFileName), Err: fmt.Errorf("does not read: %w", err)}
	}
	return kr.Close()
}

// logHeaderSize is the size of a Badger log's header (write-ahead log or
// value log): the ID of the data key its entries are encrypted with, 0 for
// none (8 bytes), and an IV (12 bytes).
const logHeaderSize = 20

// checkLogHeaders reads the header of each log file (write-ahead logs and value
// logs). The store is not encrypted, so a header that names a data key is
// damaged; Badger would refuse to open the store with "Invalid datakey id". A
// log too short for its header is a file a crash cut short, which Badger
// starts again.
func checkLogHeaders(paths []string) error {
	var header [logHeaderSize]byte
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		_, err = io.ReadFull(f, header[:])
		f.Close()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			continue
		}
		if err != nil {
			return err
		}
		if id := binary.BigEndian.Uint64(header[:8]); id != 0 {
			return &DamageError{File: path, Err: fmt.Errorf("its header names data key %d, but the store is not encrypted", id)}
		}
	}
	return nil
}

// checkUnlisted looks at the tables the MANIFEST does not list, which Badger
// deletes when it opens the store. A flush or a compaction that did not finish
// leaves such a table: its table file was written, but the MANIFEST's entry
// adding it was not (Badger appends an entry only once the table is on disk,
// and removes what the table replaces only once the entry is).
//
//   - A compaction's table holds writes that the tables it replaces, still
//     listed, hold too: none newer than those of the listed tables.
//   - A flush's table holds the writes of a memtable whose write-ahead log (a
//     .mem file) is still there, to be read again.
//
// An unlisted table with writes newer than any listed table's, while no
// write-ahead log is left, is neither: its entry was lost from the MANIFEST (a
// file cut short at an entry's end, or its tail cut off, which Badger takes for
// a write that a crash interrupted). Deleting it would lose those writes, so
// that is damage, reported as the MANIFEST's. maxListed is the newest version
// of the listed tables. An unlisted table that cannot be read is a table file
// that a crash interrupted.
func checkUnlisted(tables map[uint64]string, m badger.Manifest, maxListed uint64, haveWAL bool, manifestPath string, log *slog.Logger) error {
	for _, id := range slices.Sorted(maps.Keys(tables)) {
		if _, ok := m.Tables[id]; ok {
			continue
		}
		if !haveWAL {
			if v, err := tableMaxVersion(tables[id]); err == nil && v > maxListed {
				return &DamageError{File: manifestPath, Err: fmt.Errorf(
					"has lost entries: it does not list %s, which holds writes up to version %d, newer than the %d of the tables it lists, "+
						"and no write-ahead log holds them; opening the store would delete that table",
					filepath.Base(tables[id]), v, maxListed)}
			}
		}
		if log != nil {
			log.Warn("Deleting a table the MANIFEST does not list: left by an unfinished flush or compaction",
				logKeyComponent, "store", logKeyFile, tables[id])
		}
	}
	return nil
}

// verifyTable reads the Badger table file at path whole, checks the checksum
// of its index and of each of its blocks, compressed as given, and returns the
// newest version of the writes it holds. It fails with a *DamageError naming
// the file, or with the I/O error that kept it from reading the file.
//
// A table is its blocks, then its index (a flatbuffer listing each block's offset
// and length), the index's length (4 bytes), the index's checksum (a pb.Checksum)
// and that checksum's length (4 bytes). A block, once decompressed, ends in the
// same way: its entries and their offsets, the block's checksum and its length.
// The store writes tables uncompressed; Badger's default (Snappy) and ZSTD are
// read too, for stores written with them.
func verifyTable(path string, compression options.CompressionType) (maxVersion uint64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	ti, indexStart, err := readTableIndex(f, path)
	if err != nil {
		return 0, err
	}
	damaged := func(format string, a ...any) error {
		return &DamageError{File: path, Err: fmt.Errorf(format, a...)}
	}
	r := bufio.NewReaderSize(io.NewSectionReader(f, 0, indexStart), 1<<20)
	var (
		pos int64
		ko  fb.BlockOffset
		blk []byte
	)
	for i := range ti.OffsetsLength() {
		ti.Offsets(&ko, i)
		off, n := int64(ko.Offset()), int64(ko.Len())
		if off < pos || off+n > indexStart {
			return 0, damaged("block %d: offset %d and length %d out of order or past the blocks' end %d", i, off, n, indexStart)
		}
		if _, err := r.Discard(int(off - pos)); err != nil {
			return 0, err
		}
		blk = slices.Grow(blk[:0], int(n))[:n]
		if _, err := io.ReadFull(r, blk); err != nil {
			return 0, err
		}
		pos = off + n
		data, err := decompress(blk, compression)
		if err == nil {
			err = verifyBlock(data)
		}
		if err != nil {
			return 0, damaged("block %d at offset %d: %w", i, off, err)
		}
	}
	return ti.MaxVersion(), nil
}

// tableMaxVersion returns the newest version of the writes the Badger table
// file at path holds, read from its index.
func tableMaxVersion(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	ti, _, err := readTableIndex(f, path)
	if err != nil {
		return 0, err
	}
	return ti.MaxVersion(), nil
}

// readTableIndex reads the index of the table file f (at path, for errors),
// checks its checksum and returns it, with the offset where it starts: the end
// of the table's blocks.
func readTableIndex(f *os.File, path string) (*fb.TableIndex, int64, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	damaged := func(format string, a ...any) error {
		return &DamageError{File: path, Err: fmt.Errorf(format, a...)}
	}
	size := st.Size()
	var u32 [4]byte
	readU32 := func(off int64) (int64, error) {
		if _, err := f.ReadAt(u32[:], off); err != nil {
			return 0, err
		}
		return int64(binary.BigEndian.Uint32(u32[:])), nil
	}
	if size < 8 {
		return nil, 0, damaged("%d bytes, too short for a table", size)
	}
	chkLen, err := readU32(size - 4)
	if err != nil {
		return nil, 0, err
	}
	if chkLen > size-8 {
		return nil, 0, damaged("truncated or corrupt footer: index checksum of %d bytes in a file of %d", chkLen, size)
	}
	indexLen, err := readU32(size - 8 - chkLen)
	if err != nil {
		return nil, 0, err
	}
	indexStart := size - 8 - chkLen - indexLen
	if indexStart < 0 {
		return nil, 0, damaged("truncated or corrupt footer: index of %d bytes in a file of %d", indexLen, size)
	}
	tail := make([]byte, indexLen+4+chkLen)
	if _, err := f.ReadAt(tail, indexStart); err != nil {
		return nil, 0, err
	}
	index := tail[:indexLen]
	if err := verifyChecksum(index, tail[indexLen+4:]); err != nil {
		return nil, 0, damaged("index: %w", err)
	}
	ti := fb.GetRootAsTableIndex(index, 0)
	return ti, indexStart, nil
}

// decompress returns the content of a table block stored with the given
// compression.
func decompress(blk []byte, compression options.CompressionType) ([]byte, error) {
	switch compression {
	case options.None:
		return blk, nil
	case options.Snappy:
		return snappy.Decode(nil, blk)
	case options.ZSTD:
		return y.ZSTDDecompress(nil, blk)
	}
	return nil, fmt.Errorf("unknown compression %d", compression)
}

// verifyBlock checks the checksum that ends a table block.
func verifyBlock(blk []byte) error {
	n := int64(len(blk))
	if n < 4 {
		return fmt.Errorf("%d bytes, too short for a block", n)
	}
	chkLen := int64(binary.BigEndian.Uint32(blk[n-4:]))
	if chkLen > n-4 {
		return fmt.Errorf("checksum of %d bytes in a block of %d", chkLen, n)
	}
	return verifyChecksum(blk[:n-4-chkLen], blk[n-4-chkLen:n-4])
}

// verifyChecksum checks data against the encoded pb.Checksum sum.
func verifyChecksum(data, sum []byte) error {
	var chk pb.Checksum
	if err := proto.Unmarshal(sum, &chk); err != nil {
		return fmt.Errorf("checksum does not decode: %w", err)
	}
	if y.CalculateChecksum(data, chk.Algo) != chk.Sum {
		return errChecksum
	}
	return nil
}

// errChecksum reports data that does not match its checksum.
var errChecksum = errors.New("checksum mismatch")

// errValueLog reports a value Badger could not read from its value log.
var errValueLog = errors.New("cannot read the value from the value log (see Badger's log); " +
	"the value log is damaged or was cut short at Open")

// value calls fn with the value of item, as item.Value does, but fails with
// ErrDamaged where Badger could not read the value: Badger logs a failed read of
// its value log (a value of 1 MiB or more, whose checksum it verifies) and
// returns an empty value.
func value(item *badger.Item, fn func([]byte) error) error {
	return item.Value(func(v []byte) error {
		if len(v) == 0 && item.ValueSize() > 0 {
			return fmt.Errorf("%w: key %.40x: %w", ErrDamaged, item.Key(), errValueLog)
		}
		return fn(v)
	})
}

// valueCopy returns a copy of the value of item, as item.ValueCopy does, but fails
// with ErrDamaged where Badger could not read the value (see value).
func valueCopy(item *badger.Item) ([]byte, error) {
	var out []byte
	err := value(item, func(v []byte) error {
		out = slices.Clone(v)
		return nil
	})
	return out, err
}

// CheckFiles reads every table file of the store and checks the checksum of its
// index and of each of its blocks, as Open does. It fails with an error matching
// ErrDamaged, carrying a *DamageError that names the first damaged file. It reads
// the whole store from disk: use it after incidents and in tests, not on hot
// paths. An in-memory store has no files and passes.
//
// Badger reports no damage it meets while reading (a damaged block reads as the
// end of its table), so this check and Open's are what stand between damage and
// a silently shortened answer. It stops with ctx's error, between two files,
// once ctx ends.
func (s *Store) CheckFiles(ctx context.Context) error {
	if s.db.IsClosed() {
		return ErrClosed
	}
	if s.dir == "" {
		return nil
	}
	for _, ti := range s.db.Tables() {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("store: check: table files: %w", err)
		}
		// A table made since Open has the store's compression: none.
		_, err := verifyTable(table.NewFilename(ti.ID, s.dir), s.compression[ti.ID])
		if err != nil && s.liveTable(ti.ID) {
			return err
		}
	}
	return nil
}

// liveTable reports whether table id is still part of the store: a compaction may
// have replaced (and truncated and deleted) a table while CheckFiles read it.
func (s *Store) liveTable(id uint64) bool {
	return slices.ContainsFunc(s.db.Tables(), func(ti badger.TableInfo) bool { return ti.ID == id })
}
