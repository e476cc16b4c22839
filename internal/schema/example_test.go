package schema_test

import (
	"fmt"

	"github.com/gossipdb/gossipdb/internal/schema"
)

func ExampleParse() {
	ss, err := schema.Parse(`
		type User {
			name: String!
			age: Int
			visits: Int @crdt(type: pncounter)
		}`)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range ss {
		fmt.Println(s.Name, s.ID)
		for _, f := range s.Fields {
			fmt.Printf("  %s %s required=%v counter=%v\n", f.Name, f.Kind, f.Required, f.Counter)
		}
	}
	// Output:
	// User bafyreiawttxcrfx5r2j2qjsbznpbv7anoegd6cmqpngia37b5gulzszexe
	//   age Int required=false counter=false
	//   name String required=true counter=false
	//   visits Int required=false counter=true
}

func ExampleParse_error() {
	_, err := schema.Parse("type User {\n  name: String\n  friend: Person\n}")
	fmt.Println(err)
	// Output:
	// schema: line 3, column 3: type User, field "friend": unknown type "Person" (want String, Int, Float, Boolean, DateTime, JSON or a collection)
}

func ExampleDiff() {
	existing, _ := schema.Parse(`type User { name: String age: Int }`)
	updated, _ := schema.Parse(`type User { name: String! age: Float email: String }`)
	for _, d := range schema.Diff(existing[0], updated[0]) {
		fmt.Println(d)
	}
	// Output:
	// field "age": Int in existing, Float in new
	// field "email": only in new
	// field "name": required in new
}
