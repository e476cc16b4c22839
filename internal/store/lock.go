package store

// lockDir takes a shared lock on directory dir (LockDir), the one Badger takes
// exclusively while a process has the store open, so that checkDir does not
// read the files of a store another process is changing (and take a table
// being compacted away for damage). It fails with ErrLocked while another
// store, in this process or another, has dir open.
func lockDir(dir string) (unlock func(), err error) { return LockDir(dir, false) }
