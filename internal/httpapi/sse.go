package httpapi

import (
	"bufio"
	"context"
	"net/http"
	"sync"
	"time"
)

// KeepAliveInterval is how long a stream of Server-Sent Events (GET
// /api/v0/events, a change feed, a GraphQL subscription) stays silent before
// the handler writes a comment line to it, ": keep-alive", and again after
// each such interval as long as nothing else is sent: a proxy with an idle
// timeout (nginx's proxy_read_timeout is 60 s by default) then does not cut a
// quiet stream, and a client can tell a quiet stream from a dead connection.
// Readers ignore lines that start with ':', as the Server-Sent Events
// specification says. A keep-alive that cannot be written ends the stream,
// as a failed event does.
const KeepAliveInterval = 15 * time.Second

// keepAliveComment is what a stream is sent while it is idle: a comment line,
// and the blank line that ends it as it would an event (a reader dispatches
// nothing for it, having no data).
const keepAliveComment = ": keep-alive\n\n"

// sseWriter writes one stream of Server-Sent Events through a buffer of
// streamBufferBytes, each write to be taken within streamWriteTimeout, and a
// keep-alive comment whenever nothing was sent for its interval. Its methods
// are safe for concurrent use: its keep-alive goroutine writes between the
// stream's events.
type sseWriter struct {
	rc       *http.ResponseController
	interval time.Duration
	idle     *time.Timer   // fires when nothing was sent for interval
	done     chan struct{} // closed, with mu held, when the stream closes
	wg       sync.WaitGroup

	mu sync.Mutex
	bw *bufio.Writer
}

// newSSEWriter starts writing the stream of w, whose headers are written,
// with a keep-alive comment after every interval of silence; when one cannot
// be written, it calls cancel, which must end the stream. The stream calls
// close before it returns.
func newSSEWriter(w http.ResponseWriter, interval time.Duration, cancel context.CancelFunc) *sseWriter {
	if aw, ok := w.(*answerWriter); ok {
		// The stream bounds each of its writes by streamWriteTimeout, not by
		// the deadline answerWriter would set in its place.
		w = aw.ResponseWriter
	}
	rc := http.NewResponseController(w)
	s := &sseWriter{rc: rc, interval: interval, idle: time.NewTimer(interval), done: make(chan struct{}),
		bw: bufio.NewWriterSize(deadlineWriter{w, rc}, streamBufferBytes)}
	s.wg.Go(func() {
		for {
			select {
			case <-s.done:
				return
			case <-s.idle.C:
				if !s.keepAlive() {
					cancel()
					return
				}
			}
		}
	})
	return s
}

// event buffers an event: its name and id lines unless empty, then data on
// one line. It flushes the buffer once it is half full; false if that
// failed.
func (s *sseWriter) event(name, id string, data []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name != "" {
		s.bw.WriteString("event: " + name + "\n")
	}
	if id != "" {
		s.bw.WriteString("id: " + id + "\n")
	}
	s.bw.WriteString("data: ")
	s.bw.Write(data)
	s.bw.WriteString("\n\n")
	return s.bw.Buffered() < streamBufferBytes/2 || s.flushLocked()
}

// keepAlive writes a keep-alive comment and flushes, unless the stream is
// closing; false if that failed.
func (s *sseWriter) keepAlive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		return true
	default:
	}
	s.bw.WriteString(keepAliveComment)
	return s.flushLocked()
}

// flush sends what is buffered (the headers, if nothing is); false if that
// failed.
func (s *sseWriter) flush() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLocked()
}

// flushLocked is flush with s.mu held. What it sends restarts the wait for
// the next keep-alive.
func (s *sseWriter) flushLocked() bool {
	s.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	if s.bw.Flush() != nil || s.rc.Flush() != nil {
		return false
	}
	s.idle.Reset(s.interval)
	return true
}

// close stops the keep-alives and waits for them, and clears the write
// deadline: the connection may serve further requests. Nothing is written
// after it.
func (s *sseWriter) close() {
	s.mu.Lock()
	close(s.done)
	s.mu.Unlock()
	s.wg.Wait()
	s.idle.Stop()
	s.rc.SetWriteDeadline(time.Time{})
}

// deadlineWriter is a stream's response: each write to it must be taken
// within streamWriteTimeout. The buffer writes an event larger than itself
// straight through, between flushes, so the deadline of the last flush, which
// may be long past when a followed stream was quiet, must not apply.
type deadlineWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	d.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	return d.w.Write(p)
}
