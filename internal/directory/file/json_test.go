package file

import (
	"testing"

	"github.com/dirconn/dirconn/internal/directory"
)

func TestJSON(t *testing.T) {
	runParseCases(t, FormatJSON, []parseCase{
		{
			name: "the documented shape",
			in: `{"users":[{"id":"u1","email":"Ann@Example.com","disabled":false,"deleted":false},
			               {"id":"u2","email":"bob@example.com","username":"bob","name":"Bob B","disabled":true,"deleted":true}],
			      "groups":[{"id":"g1","name":"Engineering","members":["u1"],"groups":["g2"]},
			                {"id":"g2","name":"Backend","members":["u2","nobody"]}]}`,
			users: []directory.User{
				{ID: "u1", Email: "Ann@Example.com"},
				{ID: "u2", Email: "bob@example.com", EmailPrefix: "bob", DisplayName: "Bob B", Disabled: true, Deleted: true},
			},
			groups: []directory.Group{
				{ID: "g1", Name: "Engineering", Users: []string{"u1"}, Groups: []string{"g2"}},
				{ID: "g2", Name: "Backend", Users: []string{"u2", "nobody"}},
			},
		},
		{
			name:  "unknown fields, nulls and a BOM are accepted",
			in:    "\uFEFF" + `{"version":3,"users":[{"id":"u1","email":null,"title":"CEO","manager":{"id":"x"}}],"groups":null}`,
			users: []directory.User{{ID: "u1"}},
		},
		{
			name:   "only groups",
			in:     `{"groups":[{"id":"g1","name":"  Sales  ","members":[" u1 ","u1",""]}]}`,
			groups: []directory.Group{{ID: "g1", Name: "Sales", Users: []string{"u1"}}},
		},
		{
			name:  "user without id",
			in:    `{"users":[{"id":"u1"},{"email":"ann@example.com"},{"id":"   ","email":"bob@example.com"}]}`,
			users: []directory.User{{ID: "u1"}},
			issues: []directory.Issue{
				{Kind: "user", Name: "ann@example.com", Source: "users[1]", Reason: "it has no id"},
				{Kind: "user", Name: "bob@example.com", Source: "users[2]", Reason: "it has no id"},
			},
		},
		{
			name: "wrong types in user fields",
			in: `{"users":[{"id":"u1","disabled":"yes"},{"id":42,"email":"n@example.com"},{"id":"u3","email":["a","b"]},
			               "u4",null,{"id":"u6","deleted":1},{"id":"ok"}]}`,
			users: []directory.User{{ID: "ok"}},
			issues: []directory.Issue{
				{Kind: "user", ID: "u1", Source: "users[0]", Reason: `field "disabled" is a string, want true or false`},
				{Kind: "user", Name: "n@example.com", Source: "users[1]", Reason: `field "id" is a number, want a string`},
				{Kind: "user", ID: "u3", Source: "users[2]", Reason: `field "email" is a list, want a string`},
				{Kind: "user", Source: "users[3]", Reason: "the record is a string, want an object"},
				{Kind: "user", Source: "users[4]", Reason: "it has no id"},
				{Kind: "user", ID: "u6", Source: "users[5]", Reason: `field "deleted" is a number, want true or false`},
			},
		},
		{
			name: "broken groups",
			in: `{"groups":[{"name":"No Id","members":["u1"]},{"id":"g2"},{"id":"g3","name":"  "},
			                {"id":"g4","name":"Bad","members":"u1"},{"id":"g5","name":"Bad too","groups":[7]},
			                {"id":"g6","name":"Fine"}]}`,
			groups: []directory.Group{{ID: "g6", Name: "Fine"}},
			issues: []directory.Issue{
				{Kind: "group", Name: "No Id", Source: "groups[0]", Reason: "it has no id"},
				{Kind: "group", ID: "g2", Source: "groups[1]", Reason: "it has no name"},
				{Kind: "group", ID: "g3", Source: "groups[2]", Reason: "it has no name"},
				{Kind: "group", ID: "g4", Name: "Bad", Source: "groups[3]", Reason: `field "members" is a string, want a list of strings`},
				{Kind: "group", ID: "g5", Name: "Bad too", Source: "groups[4]", Reason: `field "groups" is a number, want a string`},
			},
		},
		{
			name: "duplicate ids",
			in: `{"users":[{"id":"a","email":"a1@example.com"},{"id":"b"},{"id":"a","email":"a2@example.com"},{"id":"b"}],
			      "groups":[{"id":"g","name":"One"},{"id":"g","name":"Two"},{"id":"h","name":"H"},{"id":"h","name":"H"}]}`,
			users:  []directory.User{{ID: "b"}},
			groups: []directory.Group{{ID: "h", Name: "H"}},
			issues: []directory.Issue{
				{Kind: "user", ID: "a", Name: "a1@example.com", Source: "users[0]", Reason: "another record has the same id (users[0], users[2])"},
				{Kind: "user", ID: "a", Name: "a2@example.com", Source: "users[2]", Reason: "another record has the same id (users[0], users[2])"},
				{Kind: "group", ID: "g", Name: "One", Source: "groups[0]", Reason: "another record has the same id (groups[0], groups[1])"},
				{Kind: "group", ID: "g", Name: "Two", Source: "groups[1]", Reason: "another record has the same id (groups[0], groups[1])"},
			},
		},
		{
			name:  "ids are case-sensitive",
			in:    `{"users":[{"id":"a"},{"id":"A"}]}`,
			users: []directory.User{{ID: "a"}, {ID: "A"}},
		},
		{
			name: "empty lists",
			in:   `{"users":[],"groups":[]}`,
		},
	})
}

func TestJSONErrors(t *testing.T) {
	runErrorCases(t, FormatJSON, []errorCase{
		{"empty file", "", "the file is empty"},
		{"only whitespace", " \n\t ", "the file is empty"},
		{"not JSON", "users: []", "line 1, column 1: invalid character 'u'"},
		{"syntax error on line 3", "{\"users\": [\n  {\"id\": \"a\"},\n  {\"id\" \"b\"}\n]}", "line 3, column 9: invalid character '\"' after object key"},
		{"truncated", `{"users":[{"id":"a"},{"id":`, "unexpected end of JSON input"},
		{"trailing data", `{"users":[]} {"users":[]}`, "invalid character '{' after top-level value"},
		{"top level is a list", `[{"id":"a"}]`, `the document is a list, want an object with "users" and "groups" lists`},
		{"top level is a string", `"users"`, "the document is a string"},
		{"top level is null", `null`, "the document is null"},
		{"no lists", `{"Users ":[{"id":"a"}]}`, `the document has neither a "users" nor a "groups" list`},
		{"users is an object", `{"users":{"id":"a"}}`, `"users" is an object, want a list`},
		{"groups is a string", `{"users":[],"groups":"g1"}`, `"groups" is a string, want a list`},
	})
}
