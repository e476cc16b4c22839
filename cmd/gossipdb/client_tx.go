package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/jsonerr"
	"github.com/gossipdb/gossipdb/internal/jsonkeys"
)

// maxInput is the most bytes `client tx` and `client collection create` and
// `update` read from a file or stdin: the largest request body the HTTP API
// takes.
const maxInput = 4 << 20

// readInput reads the JSON text what from name, or from stdin for "-": at
// most maxInput bytes.
func readInput(stdin io.Reader, what, name string) (string, error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return "", fmt.Errorf("reading the %s: %w", what, err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return "", fmt.Errorf("reading the %s from %s: %w", what, name, err)
	}
	if len(data) > maxInput {
		return "", fmt.Errorf("the %s in %s: more than %d bytes", what, name, maxInput)
	}
	return string(data), nil
}

// jsonInput returns the JSON text what given as arg: arg itself when it is
// JSON or starts with { or [ (after spaces), else what readInput reads from
// the file arg names, or stdin for "-". A text over the system's limit on the
// length of an argument (some 128 KiB) can come only from a file or stdin.
func jsonInput(stdin io.Reader, what, arg string) (string, error) {
	if t := strings.TrimLeft(arg, " \t\r\n"); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") || json.Valid([]byte(arg)) {
		return arg, nil
	}
	text, err := readInput(stdin, what, arg)
	if errors.Is(err, fs.ErrNotExist) {
		err = fmt.Errorf("%w (the argument is the JSON %s, a file to read it from, or - for stdin)", err, what)
	}
	return text, err
}

func newTxCmd(cc *clientConfig) *cobra.Command {
	return &cobra.Command{
		Use:   "tx FILE|-",
		Short: "Apply a list of operations in one transaction",
		Long: `Read a JSON list of operations from FILE (- for stdin) and apply them on the node
in one transaction: all of them or, if one fails, none. Each operation is an object:

  {"op": "create", "collection": NAME, "fields": {…}}
  {"op": "update", "collection": NAME, "docID": ID, "fields": {…}}
  {"op": "delete", "collection": NAME, "docID": ID}

The list may also come as the body of POST /api/v0/tx: {"ops": [ … ]}.

Prints {"results": [{"_docID": …}, …]}, one per operation in order (for a create,
the new document's ID). An operation at fault is named by its index ("op 2: …").
At most 10000 operations and 4 MiB.`,
		Example: `  echo '[{"op": "update", "collection": "Item", "docID": "bafy…", "fields": {"stock": -1}},
        {"op": "create", "collection": "Order", "fields": {"item": "bafy…", "qty": 1}}]' |
    gossipdb client tx -`,
		Args: exactArgs("FILE|-"),
		RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
			ops, err := readTxOps(cmd.InOrStdin(), args[0])
			if err != nil {
				return err
			}
			ids, err := cl.Tx(cmd.Context(), ops)
			if err != nil {
				return err
			}
			out := client.TxResult{Results: make([]client.DocIDResult, len(ids))}
			for i, id := range ids {
				out.Results[i] = client.DocIDResult{DocID: id}
			}
			return printJSON(cmd.OutOrStdout(), out)
		}),
	}
}

// readTxOps reads the operations of `client tx` from name, or stdin for "-".
func readTxOps(stdin io.Reader, name string) ([]client.TxOp, error) {
	text, err := readInput(stdin, "operations", name)
	if err != nil {
		return nil, err
	}
	data := []byte(text)
	v, err := parseJSONArg("operations", text)
	if err != nil {
		return nil, err
	}
	// The list alone, or the body of POST /api/v0/tx that holds it.
	var body struct {
		Ops []client.TxOp `json:"ops"`
	}
	var into any = &body.Ops
	if _, ok := v.(map[string]any); ok {
		into = &body
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		if msg, ok := jsonerr.TypeMismatch(err); ok {
			err = errors.New(msg)
		}
		return nil, fmt.Errorf("operations: want a JSON list of {\"op\", \"collection\", \"docID\", \"fields\"} objects, "+
			"or {\"ops\": [...]}: %v", strings.TrimPrefix(err.Error(), "json: "))
	}
	// Keys in other case ("op", "Op") are taken for one field.
	if err := jsonkeys.CheckFor(data, reflect.TypeOf(into)); err != nil {
		return nil, fmt.Errorf("invalid JSON operations: %v", err)
	}
	return body.Ops, nil
}
