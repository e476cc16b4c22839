// Package openfiles reads the process's limit on open files, which the node
// and the command share among the store's files, libp2p's connections and
// the HTTP API's connections: Badger ends the process when it cannot open a
// file it needs, so neither kind of connection may take them all.
package openfiles
