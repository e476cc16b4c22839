package store

import (
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// lockFile is the file Badger writes, holding its process ID, when it opens a
// store in a directory, and deletes when it closes it (on unix; on Windows
// the system deletes it when the process ends, however it ends).
const lockFile = "LOCK"

// Log attribute keys of an unclean stop.
const (
	logKeyPID   = "pid"
	logKeySince = "since"
)

// uncleanStop is what the store's directory says of the last process that
// had the store open, when it did not close it.
type uncleanStop struct {
	pid   int       // its process ID; 0 if the file did not say
	since time.Time // when it opened the store
}

// findUncleanStop reports whether the Badger directory dir still holds the
// LOCK file of a process that opened the store and never closed it: one
// killed, crashed, or on a machine that stopped. The caller must hold the
// directory's lock (lockDir), so that no running process has the store open:
// Badger's LOCK file is then what an unclean stop left. Badger opens such a
// store as any other, reading its logs again; only this file tells the two
// apart.
func findUncleanStop(dir string) (uncleanStop, bool) {
	path := filepath.Join(dir, lockFile)
	fi, err := os.Stat(path)
	if err != nil {
		return uncleanStop{}, false // none, or none that says anything
	}
	u := uncleanStop{since: fi.ModTime()}
	if data, err := os.ReadFile(path); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid > 0 {
			u.pid = pid
		}
	}
	return u, true
}

// log says, once, at warn level, that the store opens after an unclean stop.
func (u uncleanStop) log(log *slog.Logger, dir string) {
	if log == nil {
		return
	}
	attrs := []any{logKeyComponent, "store", logKeyFile, filepath.Join(dir, lockFile)}
	if u.pid != 0 {
		attrs = append(attrs, logKeyPID, u.pid)
	}
	attrs = append(attrs, logKeySince, u.since.Format(time.RFC3339))
	log.Warn("The store was not closed at its last use: the process that had it open ended without closing it "+
		"(killed or crashed, or its machine stopped); recovering from the store's logs", attrs...)
}
