package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
)

// txOp is a client.TxOp as read from a request: its fields are decoded once
// their strings are checked (see decodeDocuments).
type txOp struct {
	Op         string          `json:"op"`
	Collection string          `json:"collection"`
	DocID      string          `json:"docID"`
	Fields     json.RawMessage `json:"fields"`
}

// tx applies the operations of a client.TxRequest in one transaction
// (gossipdb.Node.Update) and answers the document ID of each. The first
// operation at fault fails the request, named by its index, and nothing is
// written.
func (s *server) tx(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Ops []txOp `json:"ops"`
	}
	if err := decodeStrict(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if len(req.Ops) > client.MaxTxOps {
		s.fail(w, r, badRequest("a transaction takes at most %d operations, got %d", client.MaxTxOps, len(req.Ops)))
		return
	}
	fields := make([]map[string]any, len(req.Ops))
	for i, op := range req.Ops {
		f, err := txFields(op)
		if err != nil {
			s.fail(w, r, fmt.Errorf("op %d: %w", i, err))
			return
		}
		fields[i] = f
	}
	out := client.TxResult{Results: make([]client.DocIDResult, len(req.Ops))}
	err := s.n.Update(r.Context(), func(tx *gossipdb.Txn) error {
		for i, op := range req.Ops {
			id := gossipdb.DocID(op.DocID)
			var err error
			switch op.Op {
			case client.OpCreate:
				id, err = tx.Create(op.Collection, fields[i])
			case client.OpUpdate:
				err = tx.Update(op.Collection, id, fields[i])
			case client.OpDelete:
				err = tx.Delete(op.Collection, id)
			}
			if err != nil {
				return fmt.Errorf("op %d: %w", i, err)
			}
			out.Results[i] = client.DocIDResult{DocID: string(id)}
		}
		return nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// txFields checks op's shape and decodes its fields.
func txFields(op txOp) (map[string]any, error) {
	switch op.Op {
	case client.OpCreate, client.OpUpdate:
		if op.Op == client.OpCreate && op.DocID != "" {
			return nil, badRequest("a create takes no docID")
		}
		if op.Op == client.OpUpdate && op.DocID == "" {
			return nil, badRequest("an update needs a docID")
		}
		if len(op.Fields) == 0 {
			return nil, badRequest("%s needs fields", op.Op)
		}
		if err := checkFields(op.Fields); err != nil {
			return nil, err
		}
		dec := json.NewDecoder(bytes.NewReader(op.Fields))
		dec.UseNumber()
		var f map[string]any
		if err := dec.Decode(&f); err != nil || f == nil {
			return nil, badRequest("fields: %s", msgWantDocumentObject)
		}
		return f, nil
	case client.OpDelete:
		if op.DocID == "" {
			return nil, badRequest("a delete needs a docID")
		}
		if len(op.Fields) != 0 {
			return nil, badRequest("a delete takes no fields")
		}
		return nil, nil
	}
	return nil, badRequest("unknown op %.32q (want create, update or delete)", op.Op)
}
