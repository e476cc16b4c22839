package graphql

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/graphql-go/graphql/language/lexer"
	"github.com/graphql-go/graphql/language/source"
)

// Default limits of a request (see Limits).
const (
	DefaultMaxDepth      = 16
	DefaultMaxFields     = 1000
	DefaultMaxResultSize = 4 << 20
	DefaultMaxDuration   = 30 * time.Second
)

// Ceilings of Limits: the largest value each field may take; a larger one is
// refused (New's error names the field). A request's settings beyond them
// would either have no effect or let one request take the node.
const (
	// CeilingMaxDepth is the deepest Limits.MaxDepth: a request's brackets
	// nest at most 128 deep, and each selection nests one pair of braces
	// more, so a deeper limit would never be reached.
	CeilingMaxDepth = maxNesting

	// CeilingMaxFields is the most Limits.MaxFields: graphql-go's validator
	// costs some 4 KiB and 16 µs a field (10,000 fields selected through a
	// fragment, 40 MiB and 0.17 s), so 100,000 cost one request 400 MiB.
	CeilingMaxFields = 100_000

	// CeilingMaxResultSize is the most Limits.MaxResultSize, 1 GiB: a
	// request holds several times its answer in memory while it runs.
	CeilingMaxResultSize = 1 << 30

	// CeilingMaxDuration is the longest Limits.MaxDuration: a request that
	// runs longer keeps a core busy for longer than any client waits for an
	// answer.
	CeilingMaxDuration = time.Hour
)

// MaxQuerySize is the longest request text, in bytes, the executor parses: its
// parsed form takes about 33 times as much memory. Large values travel as
// variables, which cost no more than their JSON.
const MaxQuerySize = 256 << 10

// MaxValues is the most values a request's text may write: each argument's
// value counts, and each element of a list and field of an object in it, at
// each place a fragment is used. graphql-go's validator costs some 2.6 KiB of
// garbage and 4 µs a value, so MaxQuerySize alone let a list of 80,000 strings
// cost 212 MB; it is checked with MaxFields, before the request is
// validated. Large values travel as variables, which cost some 80 bytes a
// value.
const MaxValues = 10_000

// maxNesting bounds how deeply brackets nest in a request: (, [ and { together.
// It is checked before the request is parsed, so that no request makes the
// parser, which recurses once per level, use an unbounded stack.
const maxNesting = 128

// Limits bound what one request may cost. A zero field means its default;
// each field is at most its ceiling (CeilingMaxDepth and the others).
type Limits struct {
	// MaxDepth is how deeply selections may nest: { User { name } } has depth
	// 2. Default DefaultMaxDepth (16), enough for the introspection query of
	// GraphiQL; a deeper request is refused before it runs.
	MaxDepth int

	// MaxFields is how many fields a request may select, counting a
	// fragment's fields (those of the fragments it spreads included) where it
	// is defined and again at each place it is used. Default DefaultMaxFields
	// (1,000). It bounds the work of validating a request.
	MaxFields int

	// MaxResultSize bounds, in bytes, the documents one request reads into its
	// answer: each counts the length of its ID and of the values the request
	// selects (8 bytes for a number) or a field it selects reads (the ID a
	// relation holds, for _authorID; a list, for an aggregate over it), a
	// value once more for each further response key that selects it
	// (aliases, fragments), and those keys; a value it does not select
	// counts nothing, even if its filter or order tests it, and the answer
	// does not hold it (a query that sorts holds the documents it sorts
	// whole, within the Go API's bound, gossipdb.MaxSortedBytes); each value of an aggregate
	// within a document counts 8 bytes; a commit (_commits, _version) counts
	// what the request selects of it, its delta the length of its base64.
	// Default DefaultMaxResultSize (4 MiB, some 30,000 small documents). A
	// request that reaches it fails with an error that says to ask for fewer
	// documents (limit) or fields.
	// It bounds the answer to introspection (__schema, __type) too, a
	// product of the schema's lists that aliases multiply: a request whose
	// introspection answer, measured on the schema before it runs, would be
	// larger is refused. While it runs, a request holds several
	// times this much memory: the documents as Go maps, then graphql-go's
	// answer (not on the fast path) and its JSON. A query that reaches the
	// limit on the fast path is run again by graphql-go, which reads up to the
	// limit again to answer the error.
	MaxResultSize int

	// MaxDuration bounds how long a request runs, from when the executor
	// receives it (parsing and validating, which the other limits bound,
	// count but are not interrupted): then the field being resolved stops
	// within the document it is testing against its filter, and fails with an error that names the limit, as does each field after
	// it, at once (a mutation's transaction is then undone). Default
	// DefaultMaxDuration (30 s). It bounds the requests that read much and
	// answer little, which the other limits do not: 1,000 aliases of a _count
	// whose filter no index answers each scan the whole collection. A longer
	// limit lets such a request keep a core busy longer.
	MaxDuration time.Duration
}

// withDefaults returns l with its zero fields set to their defaults.
func (l Limits) withDefaults() Limits {
	if l.MaxDepth == 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxFields == 0 {
		l.MaxFields = DefaultMaxFields
	}
	if l.MaxResultSize == 0 {
		l.MaxResultSize = DefaultMaxResultSize
	}
	if l.MaxDuration == 0 {
		l.MaxDuration = DefaultMaxDuration
	}
	return l
}

// validate refuses negative limits and limits over their ceilings, naming
// the field.
func (l Limits) validate() error {
	switch {
	case l.MaxDepth < 0 || l.MaxDepth > CeilingMaxDepth:
		return fmt.Errorf("graphql: Limits.MaxDepth is %d: want 0 (the default) to %d", l.MaxDepth, CeilingMaxDepth)
	case l.MaxFields < 0 || l.MaxFields > CeilingMaxFields:
		return fmt.Errorf("graphql: Limits.MaxFields is %d: want 0 (the default) to %d", l.MaxFields, CeilingMaxFields)
	case l.MaxResultSize < 0 || l.MaxResultSize > CeilingMaxResultSize:
		return fmt.Errorf("graphql: Limits.MaxResultSize is %d: want 0 (the default) to %d", l.MaxResultSize, CeilingMaxResultSize)
	case l.MaxDuration < 0 || l.MaxDuration > CeilingMaxDuration:
		return fmt.Errorf("graphql: Limits.MaxDuration is %v: want 0 (the default) to %v", l.MaxDuration, CeilingMaxDuration)
	}
	return nil
}

// withTimeLimit returns a context that ends after lim.MaxDuration, its cause
// the error that a request which ran that long gets.
func withTimeLimit(ctx context.Context, lim Limits) (context.Context, context.CancelFunc) {
	err := fmt.Errorf("the request ran longer than the limit of %v: make it read fewer documents (a filter an index answers, a limit) or send fewer fields at once", lim.MaxDuration)
	return context.WithTimeoutCause(ctx, lim.MaxDuration, err)
}

// cause returns err, unless it is the end of ctx: then what ended ctx, such as
// the time limit's error rather than "context deadline exceeded".
func cause(ctx context.Context, err error) error {
	if end := ctx.Err(); end != nil && errors.Is(err, end) {
		return context.Cause(ctx)
	}
	return err
}

// checkNesting refuses a request whose brackets nest deeper than maxNesting.
// A lexical error is left for the parser to report.
func checkNesting(src *source.Source) error {
	lex := lexer.Lex(src)
	depth := 0
	for {
		tok, err := lex(0)
		if err != nil || tok.Kind == lexer.EOF {
			return nil
		}
		switch tok.Kind {
		case lexer.BRACE_L, lexer.BRACKET_L, lexer.PAREN_L:
			if depth++; depth > maxNesting {
				return locatedError(src, tok.Start, fmt.Sprintf("brackets nest deeper than the limit of %d", maxNesting))
			}
		case lexer.BRACE_R, lexer.BRACKET_R, lexer.PAREN_R:
			depth--
		}
	}
}

// locatedError is an error of the request at byte offset pos of src.
func locatedError(src *source.Source, pos int, msg string) error {
	return gqlerrors.NewError(msg, nil, "", src, []int{pos}, nil)
}

// sizer walks a parsed request to measure its depth and the number of fields it
// selects, expanding fragments where they are used.
type sizer struct {
	src       *source.Source
	lim       Limits
	fragments map[string]*ast.FragmentDefinition
	active    map[string]bool // fragments being expanded, to find a cycle
	fields    int
	values    int
}

// checkSize refuses a request that selects more than lim.MaxFields fields,
// nests deeper than lim.MaxDepth or writes more than MaxValues values, naming
// the first field or value past the limit, and the
// shapes graphql-go's validator does not survive: fragments that spread
// themselves (it would not end) and variables without a type. It runs before
// the validator, whose work grows with the fields.
func checkSize(src *source.Source, doc *ast.Document, lim Limits) error {
	s := &sizer{src: src, lim: lim, fragments: map[string]*ast.FragmentDefinition{}, active: map[string]bool{}}
	for _, d := range doc.Definitions {
		if f, ok := d.(*ast.FragmentDefinition); ok && f.Name != nil {
			s.fragments[f.Name.Value] = f
		}
	}
	for _, d := range doc.Definitions {
		var err error
		switch d := d.(type) {
		case *ast.OperationDefinition:
			for _, vd := range d.VariableDefinitions {
				if vd.Type == nil { // the parser lets "($v:)" through; the validator would crash
					return s.refuse(vd.Loc, "a variable has no type")
				}
				if err := s.value(vd.DefaultValue); err != nil {
					return err
				}
			}
			if err = s.directives(d.Directives); err == nil {
				err = s.selections(d.SelectionSet, 1)
			}
		case *ast.FragmentDefinition:
			s.active[d.Name.Value] = true
			if err = s.directives(d.Directives); err == nil {
				err = s.selections(d.SelectionSet, 1)
			}
			delete(s.active, d.Name.Value)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// selections measures set, whose fields are at depth, expanding the fragments it
// spreads.
func (s *sizer) selections(set *ast.SelectionSet, depth int) error {
	if set == nil {
		return nil
	}
	for _, sel := range set.Selections {
		switch sel := sel.(type) {
		case *ast.Field:
			if s.fields++; s.fields > s.lim.MaxFields {
				return s.refuse(sel.Loc, fmt.Sprintf("the request selects more than the limit of %d fields", s.lim.MaxFields))
			}
			if depth > s.lim.MaxDepth {
				return s.refuse(sel.Loc, fmt.Sprintf("selections nest deeper than the limit of %d", s.lim.MaxDepth))
			}
			if err := s.arguments(sel.Arguments); err != nil {
				return err
			}
			if err := s.directives(sel.Directives); err != nil {
				return err
			}
			if err := s.selections(sel.SelectionSet, depth+1); err != nil {
				return err
			}
		case *ast.InlineFragment:
			if err := s.directives(sel.Directives); err != nil {
				return err
			}
			if err := s.selections(sel.SelectionSet, depth); err != nil {
				return err
			}
		case *ast.FragmentSpread:
			if err := s.directives(sel.Directives); err != nil {
				return err
			}
			f := s.fragments[sel.Name.Value]
			if f == nil {
				continue // the validator names it
			}
			if s.active[f.Name.Value] {
				// graphql-go's validator would recurse without end.
				return s.refuse(sel.Loc, fmt.Sprintf("fragment %q spreads itself", f.Name.Value))
			}
			s.active[f.Name.Value] = true
			err := s.selections(f.SelectionSet, depth)
			delete(s.active, f.Name.Value)
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// directives counts the values of the arguments of ds.
func (s *sizer) directives(ds []*ast.Directive) error {
	for _, d := range ds {
		if d == nil {
			continue
		}
		if err := s.arguments(d.Arguments); err != nil {
			return err
		}
	}
	return nil
}

// arguments counts the values of args.
func (s *sizer) arguments(args []*ast.Argument) error {
	for _, a := range args {
		if a == nil {
			continue
		}
		if err := s.value(a.Value); err != nil {
			return err
		}
	}
	return nil
}

// value counts v, if any, and the values it holds, refusing the first past
// MaxValues. Brackets nest at most maxNesting deep, and so does the recursion.
func (s *sizer) value(v ast.Value) error {
	if v == nil {
		return nil
	}
	if s.values++; s.values > MaxValues {
		return s.refuse(v.GetLoc(), fmt.Sprintf("the request writes more than the limit of %d values: send large lists as variables", MaxValues))
	}
	switch v := v.(type) {
	case *ast.ListValue:
		for _, e := range v.Values {
			if err := s.value(e); err != nil {
				return err
			}
		}
	case *ast.ObjectValue:
		for _, f := range v.Fields {
			if f == nil {
				continue
			}
			if err := s.value(f.Value); err != nil {
				return err
			}
		}
	}
	return nil
}

// refuse is the error of the request at loc.
func (s *sizer) refuse(loc *ast.Location, msg string) error {
	pos := 0
	if loc != nil {
		pos = loc.Start
	}
	return locatedError(s.src, pos, msg)
}
