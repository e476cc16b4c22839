package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/libp2p/go-libp2p/gologshim"
)

// Log formats of --log-format.
const (
	logFormatText = "text"
	logFormatJSON = "json"
)

// consoleTimeFormat is how the text format shows a record's time, as in
// "Apr 30 11:42:01.717".
const consoleTimeFormat = "Jan 02 15:04:05.000"

// parseLevel parses --log-level; its errors leave the flag for the caller to name.
func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q: want debug, info, warn or error", s)
}

// newLogger returns the logger of `gossipdb start`: format text or json, writing
// records of at least level to w. Its errors leave --log-format for the caller
// to name.
func newLogger(w io.Writer, format string, level slog.Level) (*slog.Logger, error) {
	switch format {
	case logFormatText:
		return slog.New(newConsoleHandler(w, level)), nil
	case logFormatJSON:
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})), nil
	}
	return nil, fmt.Errorf("%q: want text or json", format)
}

// consoleHandler writes one line per record for people reading a terminal:
//
//	Apr 30 11:42:01.717 INF Adding pubsub topic PeerID=12D3KooW… Topic=bafyrei…
//
// time, a three-letter level, the message, then the attributes as Key=Value
// (quoted where needed). The attributes are rendered by an slog.TextHandler
// that leaves out time, level and message.
type consoleHandler struct {
	attrs slog.Handler // a TextHandler writing into out.buf
	out   *consoleOutput
}

// consoleOutput is shared by a handler and those derived from it.
type consoleOutput struct {
	mu  sync.Mutex
	w   io.Writer
	buf bytes.Buffer
}

func newConsoleHandler(w io.Writer, level slog.Leveler) *consoleHandler {
	out := &consoleOutput{w: w}
	attrs := slog.NewTextHandler(&out.buf, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey) {
				return slog.Attr{}
			}
			return a
		},
	})
	return &consoleHandler{attrs: attrs, out: out}
}

func (h *consoleHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.attrs.Enabled(ctx, l)
}

func (h *consoleHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &consoleHandler{attrs: h.attrs.WithAttrs(as), out: h.out}
}

func (h *consoleHandler) WithGroup(name string) slog.Handler {
	return &consoleHandler{attrs: h.attrs.WithGroup(name), out: h.out}
}

func (h *consoleHandler) Handle(ctx context.Context, r slog.Record) error {
	var line bytes.Buffer
	if !r.Time.IsZero() {
		line.WriteString(r.Time.Format(consoleTimeFormat))
		line.WriteByte(' ')
	}
	line.WriteString(levelAbbrev(r.Level))
	line.WriteByte(' ')
	line.WriteString(r.Message)

	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	h.out.buf.Reset()
	if err := h.attrs.Handle(ctx, r); err != nil {
		return err
	}
	if attrs := bytes.TrimRight(h.out.buf.Bytes(), "\n"); len(attrs) > 0 {
		line.WriteByte(' ')
		line.Write(attrs)
	}
	line.WriteByte('\n')
	_, err := h.out.w.Write(line.Bytes())
	return err
}

// levelAbbrev names a level in three letters: DBG, INF, WRN, ERR.
func levelAbbrev(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "DBG"
	case l < slog.LevelWarn:
		return "INF"
	case l < slog.LevelError:
		return "WRN"
	}
	return "ERR"
}

// Attributes go-libp2p's loggers (gologshim) add to their records.
const (
	libp2pKeyLogger = "logger" // the subsystem, "swarm2"
	libp2pKeySystem = "system" // "fx" for the records of fx, which builds the host
	libp2pSystemFx  = "fx"
)

// libp2pHandler takes the logs of go-libp2p into the node's log, through
// next, rather than the handler libp2p otherwise makes by itself, which
// writes to stderr in a format of its own, whatever --log-level and
// --log-format say. It keeps libp2p's levels, errors only unless
// $GOLOG_LOG_LEVEL says otherwise (per subsystem too, "error,swarm2=debug"),
// and leaves out the records of fx: they narrate a host that failed to start
// (it could not listen, for one), whose error Open returns and the command
// reports as its own.
type libp2pHandler struct {
	next  slog.Handler
	level slog.Level // libp2p's, for the subsystem
	fx    bool
}

func newLibp2pHandler(next slog.Handler) *libp2pHandler {
	return &libp2pHandler{next: next, level: gologshim.ConfigFromEnv().LevelForSystem("")}
}

func (h *libp2pHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return !h.fx && l >= h.level && h.next.Enabled(ctx, l)
}

func (h *libp2pHandler) Handle(ctx context.Context, r slog.Record) error {
	if !h.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h *libp2pHandler) WithAttrs(as []slog.Attr) slog.Handler {
	d := *h
	d.next = h.next.WithAttrs(as)
	for _, a := range as {
		switch {
		case a.Key == libp2pKeyLogger:
			d.level = gologshim.ConfigFromEnv().LevelForSystem(a.Value.String())
		case a.Key == libp2pKeySystem && a.Value.String() == libp2pSystemFx:
			d.fx = true
		}
	}
	return &d
}

func (h *libp2pHandler) WithGroup(name string) slog.Handler {
	d := *h
	d.next = h.next.WithGroup(name)
	return &d
}
