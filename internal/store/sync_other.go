//go:build !linux

package store

import "os"

// syncData writes f's data to disk.
func syncData(f *os.File) error { return f.Sync() }
