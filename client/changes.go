package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// MaxChangeEvent is the largest event of a change stream Changes reads, its
// data lines together: a document, as large as Get reads one (64 MiB, see
// maxAnswer), and the change's other members (some 300 bytes), so that a
// document Get can read never stops a stream. A larger event fails with an
// error matching ErrAnswerTooLarge.
const MaxChangeEvent = 64<<20 + 64<<10

// maxFieldName is the room a line of a change stream has beside
// MaxChangeEvent for its field's name and its end ("data: ", "\r\n").
const maxFieldName = 64

// Changes reads the collection's change feed after position since (see
// gossipdb.Collection.Changes) and calls fn with each change, in position
// order. With follow it then waits for new changes until ctx ends (its error
// is returned) or the node ends the stream (an error too: resume from the
// position returned); without, it stops at the node's current position. It
// returns the position to resume from, the since of the next call: that of
// the last change fn took, or the stream's end. An error of fn stops the
// stream and is returned. A since the node has compacted fails with an error
// matching gossipdb.ErrCompacted (rescan: see ChangesPosition), one beyond
// its feed with gossipdb.ErrInvalid. A change of more than MaxChangeEvent
// bytes, which no node sends, fails with an error matching
// ErrAnswerTooLarge.
func (c *Client) Changes(ctx context.Context, collection string, since uint64, follow bool, fn func(Change) error) (uint64, error) {
	return c.changes(ctx, collection, strconv.FormatUint(since, 10), since, follow, fn)
}

// ChangesPosition returns the node's change-feed position: the since to pass
// to Changes to read only the changes applied from now on (see
// gossipdb.Node.ChangesPosition). Call it before a rescan of the collection
// (DocIDs and Get, or a query), as after ErrCompacted, and then follow the
// feed from it: no change is missed. It fails with gossipdb.ErrNotFound for
// an unknown collection.
func (c *Client) ChangesPosition(ctx context.Context, collection string) (uint64, error) {
	return c.changes(ctx, collection, "now", 0, false, func(ch Change) error {
		return fmt.Errorf("the stream of changes from %s%s/changes?since=now sent change %d: want none", c.base, collectionPath(collection), ch.Position)
	})
}

// changes is Changes with the query parameter sinceParam (since as a number,
// or now): since is what it returns when no change or end came.
func (c *Client) changes(ctx context.Context, collection, sinceParam string, since uint64, follow bool, fn func(Change) error) (uint64, error) {
	path := collectionPath(collection) + "/changes?since=" + sinceParam
	if follow {
		path += "&follow=true"
	}
	k := c.start(ctx, c.timeout)
	defer k.end()
	resp, err := c.send(k, http.MethodGet, path, "text/event-stream", nil, true)
	if err != nil {
		return since, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), MaxChangeEvent+maxFieldName)
	var event string
	var data []byte
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case len(line) > 0:
			field, value, _ := bytes.Cut(line, []byte(":"))
			value = bytes.TrimPrefix(value, []byte(" "))
			switch string(field) {
			case "event":
				event = string(value)
			case "data":
				if len(data)+len(value) > MaxChangeEvent {
					return since, fmt.Errorf("bad change from %s: %w", c.base+path, tooLarge(MaxChangeEvent))
				}
				data = append(data, value...)
			}
			continue
		case event == "change":
			var ch Change
			if err := decodeEvent(data, &ch); err != nil {
				return since, fmt.Errorf("bad change from %s: %w", c.base+path, err)
			}
			if err := fn(ch); err != nil {
				return since, err
			}
			since = ch.Position
		case event == "end":
			var end ChangesEnd
			if err := decodeEvent(data, &end); err != nil {
				return since, fmt.Errorf("bad end of changes from %s: %w", c.base+path, err)
			}
			return end.Position, nil
		}
		event, data = "", data[:0]
	}
	if ctx.Err() != nil {
		return since, ctx.Err()
	}
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		return since, fmt.Errorf("bad change from %s: %w", c.base+path, tooLarge(MaxChangeEvent))
	} else if err != nil {
		return since, fmt.Errorf("reading changes from %s: %w", c.base+path, err)
	}
	// A following stream ends this way when the node shuts down.
	return since, fmt.Errorf("the stream of changes from %s ended early", c.base+path)
}

// decodeEvent decodes an event's data, keeping numbers exact.
func decodeEvent(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}
