// Package bitwarden is the client for the parts of the Bitwarden server API that directory sync uses: the
// organization API key login (POST {identity}/connect/token), the directory import
// (POST {api}/public/organization/import) and the public read endpoints (GET {api}/public/members and
// /public/groups). See specs/bitwarden-api.md section 9 for the rules it follows.
package bitwarden

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ImportRequest is the body of POST /public/organization/import. Groups and Members are always sent as
// arrays (never null: the server answers null with a 500).
type ImportRequest struct {
	Groups                       []ImportGroup  `json:"groups"`
	Members                      []ImportMember `json:"members"`
	OverwriteExisting            bool           `json:"overwriteExisting"`
	LargeImport                  bool           `json:"largeImport"`
	InviteUsersAfterProvisioning bool           `json:"inviteUsersAfterProvisioning"`
}

// ImportGroup is one group of an import request: the group becomes exactly this member set.
type ImportGroup struct {
	Name              string   `json:"name"`
	ExternalID        string   `json:"externalId"`
	MemberExternalIDs []string `json:"memberExternalIds"`
}

// ImportMember is one member of an import request. Deleted removes the member with that externalId.
type ImportMember struct {
	Email      string `json:"email"`
	ExternalID string `json:"externalId"`
	Deleted    bool   `json:"deleted"`
}

// Member status values of the public API.
const (
	StatusRevoked   = -1
	StatusInvited   = 0
	StatusAccepted  = 1
	StatusConfirmed = 2
	StatusStaged    = 3
)

// Member type values of the public API.
const (
	TypeOwner  = 0
	TypeAdmin  = 1
	TypeUser   = 2
	TypeCustom = 4
)

// Member is one item of GET /public/members.
type Member struct {
	ID         string `json:"id"`
	UserID     string `json:"userId,omitempty"`
	Name       string `json:"name,omitempty"`
	Email      string `json:"email"`
	Status     int    `json:"status"`
	Type       int    `json:"type"`
	ExternalID string `json:"externalId,omitempty"`
}

// Group is one item of GET /public/groups.
type Group struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	ExternalID string `json:"externalId,omitempty"`
}

// ErrNotSupported means the server has no such endpoint (404 or 405 on a read endpoint); sync still works,
// the plan then relies on local state only.
var ErrNotSupported = errors.New("the server does not offer this endpoint")

// ErrUnauthorized means the server refused the credentials or the token.
var ErrUnauthorized = errors.New("not authorized")

// HTTPError is a non-200 answer from the server. Message is the server's own message.
type HTTPError struct {
	Method     string
	URL        string
	Status     int
	Message    string              // server's "message" (or OAuth "error"/"error_description")
	Details    map[string][]string // server's "errors" / "validationErrors"
	RetryAfter time.Duration       // parsed Retry-After, when present
	Code       string              // OAuth "error" code of a token answer ("invalid_client"), else empty

	// credentials is set by the client for a token answer that refuses the API key itself (Bitwarden's
	// invalid_client, Vaultwarden's client_id/client_secret messages): such a 400 is an ErrUnauthorized.
	credentials bool
}

func (e *HTTPError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: HTTP %d", e.Method, e.URL, e.Status)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	// Details in a stable order, at most a few, so a model-state error says which field is wrong.
	keys := make([]string, 0, len(e.Details))
	for k := range e.Details {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i == 5 {
			fmt.Fprintf(&b, " (and %d more)", len(keys)-5)
			break
		}
		label := k
		if label == "" {
			label = "request"
		}
		fmt.Fprintf(&b, "; %s: %s", label, strings.Join(e.Details[k], " "))
	}
	return b.String()
}

// Unwrap lets errors.Is(err, ErrUnauthorized) match 401 and 403 answers, and token answers that refuse
// the client id or secret.
func (e *HTTPError) Unwrap() error {
	if e.Status == 401 || e.Status == 403 || e.credentials {
		return ErrUnauthorized
	}
	return nil
}
