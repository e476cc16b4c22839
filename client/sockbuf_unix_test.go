//go:build unix

package client_test

import "syscall"

// slack is how much more than a bound a hostile server may write before the
// client gives up: the socket buffers (which the kernel doubles), net/http's
// buffers at both ends and the last read of the client.
const slack = 256 << 10

// setSockBuffers makes the socket's buffers sockBuffer bytes; set before the
// connection is made, so that the window TCP negotiates fits them.
func setSockBuffers(_, _ string, rc syscall.RawConn) error {
	var err error
	cerr := rc.Control(func(fd uintptr) {
		for _, opt := range []int{syscall.SO_RCVBUF, syscall.SO_SNDBUF} {
			if e := syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, opt, sockBuffer); e != nil {
				err = e
			}
		}
	})
	if cerr != nil {
		return cerr
	}
	return err
}
