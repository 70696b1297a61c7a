package file

import (
	"testing"

	"github.com/dirconn/dirconn/internal/directory"
)

func TestCSV(t *testing.T) {
	runParseCases(t, FormatCSV, []parseCase{
		{
			name: "every column",
			in: "id,email,disabled,deleted,username,name,groups\n" +
				"u1,Ann@Example.com,false,no,ann,Ann Lee,Engineering;Sales\n" +
				"u2,,,,bob,Bob,Sales\n" +
				"u3,cy@example.com,1,0,,,\n",
			users: []directory.User{
				{ID: "u1", Email: "Ann@Example.com", EmailPrefix: "ann", DisplayName: "Ann Lee"},
				{ID: "u2", EmailPrefix: "bob", DisplayName: "Bob"},
				{ID: "u3", Email: "cy@example.com", Disabled: true},
			},
			groups: []directory.Group{
				{ID: "Engineering", Name: "Engineering", Users: []string{"u1"}},
				{ID: "Sales", Name: "Sales", Users: []string{"u1", "u2"}},
			},
		},
		{
			name:  "only the id column",
			in:    "ID\nu1\n",
			users: []directory.User{{ID: "u1"}},
		},
		{
			name: "BOM, CRLF, header case and order, extra and unnamed columns",
			in: "\uFEFF Email ,Cost Center,ID,,GROUPS\r\n" +
				"ann@example.com,42,u1,,Sales\r\n" +
				"bob@example.com,43,u2,x,\r\n",
			users:  []directory.User{{ID: "u1", Email: "ann@example.com"}, {ID: "u2", Email: "bob@example.com"}},
			groups: []directory.Group{{ID: "Sales", Name: "Sales", Users: []string{"u1"}}},
		},
		{
			name: "quoted fields: separators, quotes, line breaks, spaces",
			in: "id,email,name,groups\n" +
				"u1,\"  Ann@Example.com \",\"Lee, Ann \"\"The Boss\"\"\",\"Sales; R&D, Europe\"\n" +
				"\"u2\",b@example.com,\"Two\nLines\",\n",
			users: []directory.User{
				{ID: "u1", Email: "  Ann@Example.com ", DisplayName: `Lee, Ann "The Boss"`},
				{ID: "u2", Email: "b@example.com", DisplayName: "Two\nLines"},
			},
			groups: []directory.Group{
				{ID: "Sales", Name: "Sales", Users: []string{"u1"}},
				{ID: "R&D, Europe", Name: "R&D, Europe", Users: []string{"u1"}},
			},
		},
		{
			name: "boolean spellings",
			in: "id,disabled,deleted\n" +
				"a,true,false\nb,TRUE,FALSE\nc,yes,no\nd,Yes,No\ne,1,0\nf,,\ng, 1 , 0 \n",
			users: []directory.User{
				{ID: "a", Disabled: true}, {ID: "b", Disabled: true}, {ID: "c", Disabled: true},
				{ID: "d", Disabled: true}, {ID: "e", Disabled: true}, {ID: "f"}, {ID: "g", Disabled: true},
			},
		},
		{
			name: "group names: trimmed, empty ones dropped, case kept apart, repeats once",
			in: "id,groups\n" +
				"u1, Sales ;;Support;\n" +
				"u2,sales;Sales;Sales\n",
			users: []directory.User{{ID: "u1"}, {ID: "u2"}},
			groups: []directory.Group{
				{ID: "Sales", Name: "Sales", Users: []string{"u1", "u2"}},
				{ID: "Support", Name: "Support", Users: []string{"u1"}},
				{ID: "sales", Name: "sales", Users: []string{"u2"}},
			},
		},
		{
			name:  "blank lines and rows of empty fields are skipped",
			in:    "id,email\n\nu1,a@example.com\n,\n \t, \n\nu2,b@example.com\n",
			users: []directory.User{{ID: "u1", Email: "a@example.com"}, {ID: "u2", Email: "b@example.com"}},
		},
		{
			name: "header only",
			in:   "id,email,groups\r\n",
		},
		{
			name: "broken lines",
			in: "id,email,disabled,deleted,groups\n" +
				"u1,a@example.com,false,false,Sales\n" + // line 2: fine
				"u2,b@example.com,false\n" + // line 3: too few fields
				"u3,c@example.com,false,false,Sales,extra\n" + // line 4: too many
				",d@example.com,false,false,Sales\n" + // line 5: no id
				"u6,e@example.com,maybe,false,Sales\n" + // line 6: bad boolean
				"u7,f@example.com,yes,nope,Support\n" + // line 7: bad boolean
				"u8,\"g\n@example.com\",2,false,Sales\n" + // line 8-9: bad boolean in a two-line record
				"u9,h@example.com,,,Sales\n", // line 10: fine
			users: []directory.User{{ID: "u1", Email: "a@example.com"}, {ID: "u9", Email: "h@example.com"}},
			groups: []directory.Group{
				{ID: "Sales", Name: "Sales", Users: []string{"u1", "u9"}},
			},
			issues: []directory.Issue{
				{Kind: "user", ID: "u2", Source: "line 3", Reason: "it has 3 fields, the header has 5"},
				{Kind: "user", ID: "u3", Source: "line 4", Reason: "it has 6 fields, the header has 5"},
				{Kind: "user", Name: "d@example.com", Source: "line 5", Reason: "it has no id"},
				{Kind: "user", ID: "u6", Name: "e@example.com", Source: "line 6", Reason: `column disabled: "maybe" is not true or false`},
				{Kind: "user", ID: "u7", Name: "f@example.com", Source: "line 7", Reason: `column deleted: "nope" is not true or false`},
				{Kind: "user", ID: "u8", Name: "g\n@example.com", Source: "line 8", Reason: `column disabled: "2" is not true or false`},
			},
		},
		{
			name: "short line without its id column",
			in:   "email,name,id\na@example.com,Ann\n",
			issues: []directory.Issue{
				{Kind: "user", Source: "line 2", Reason: "it has 2 fields, the header has 3"},
			},
		},
		{
			name: "duplicate ids",
			in:   "id,email,groups\nu1,a@example.com,G\nu2,b@example.com,G\nu1,c@example.com,G\nu2,b@example.com,G\n",
			users: []directory.User{
				{ID: "u2", Email: "b@example.com"},
			},
			groups: []directory.Group{{ID: "G", Name: "G", Users: []string{"u1", "u2"}}},
			issues: []directory.Issue{
				{Kind: "user", ID: "u1", Name: "a@example.com", Source: "line 2", Reason: "another record has the same id (line 2, line 4)"},
				{Kind: "user", ID: "u1", Name: "c@example.com", Source: "line 4", Reason: "another record has the same id (line 2, line 4)"},
			},
		},
	})
}

func TestCSVErrors(t *testing.T) {
	runErrorCases(t, FormatCSV, []errorCase{
		{"empty file", "", "the file is empty"},
		{"BOM only", "\uFEFF\r\n", "the file is empty"},
		{"no id column", "email,name\na@example.com,Ann\n", `the header has no "id" column (columns: email, name)`},
		{"semicolon separated", "id;email\nu1;a@example.com\n", "separated by semicolons or tabs, but columns must be separated by commas"},
		{"duplicate column", "id,Email,email\n", `the header names the column "email" twice`},
		{"bare quote", "id,name\nu1,Ann \"the boss\" Lee\n", `line 2, column 8: bare " in non-quoted-field`},
		{"unterminated quote swallows the rest", "id,name\nu1,\"Ann\nu2,Bob\nu3,Cy\n", `extraneous or missing " in quoted-field`},
		{"quote error in the header", "\"id,email\n", `line 1`},
	})
}
