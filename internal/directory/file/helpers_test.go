package file

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/dirconn/dirconn/internal/directory"
)

var all = directory.FetchRequest{Users: true, Groups: true}

// read parses data as format through a FromBytes source and returns what a full Fetch gives.
func read(t *testing.T, format, data string) (*directory.Snapshot, error) {
	t.Helper()
	src, err := FromBytes("test-input", format, []byte(data))
	if err != nil {
		t.Fatalf("FromBytes = %v", err)
	}
	return src.Fetch(t.Context(), all)
}

// parseCase is one input of a format and what a full read must make of it.
type parseCase struct {
	name   string
	in     string
	users  []directory.User
	groups []directory.Group
	issues []directory.Issue
}

func runParseCases(t *testing.T, format string, tests []parseCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := read(t, format, tt.in)
			if err != nil {
				t.Fatalf("Fetch = %v, want a snapshot", err)
			}
			opt := cmpopts.EquateEmpty()
			if diff := cmp.Diff(tt.users, s.Users, opt); diff != "" {
				t.Errorf("users differ (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.groups, s.Groups, opt); diff != "" {
				t.Errorf("groups differ (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.issues, s.Issues, opt); diff != "" {
				t.Errorf("issues differ (-want +got):\n%s", diff)
			}
			if !s.Completeness.Complete() {
				t.Errorf("Complete() = false, want true: %q", s.Completeness.Incomplete())
			}
		})
	}
}

// errorCase is an input that must fail the whole read with an error containing want.
type errorCase struct {
	name string
	in   string
	want string
}

func runErrorCases(t *testing.T, format string, tests []errorCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := read(t, format, tt.in)
			if err == nil {
				t.Fatalf("Fetch = %d users, %d groups, %d issues; want an error containing %q", len(s.Users), len(s.Groups), len(s.Issues), tt.want)
			}
			if s != nil {
				t.Errorf("Fetch returned a snapshot with its error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Fetch error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}
