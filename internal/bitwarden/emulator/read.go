package emulator

import (
	"crypto/sha256"
	"fmt"
	"net/http"
)

// listBody is the public API's ListResponseModel.
type listBody struct {
	Object            string  `json:"object"`
	Data              any     `json:"data"`
	ContinuationToken *string `json:"continuationToken"`
}

type memberItem struct {
	Object                string   `json:"object"`
	ID                    string   `json:"id"`
	UserID                *string  `json:"userId"`
	Name                  *string  `json:"name"`
	Email                 string   `json:"email"`
	TwoFactorEnabled      bool     `json:"twoFactorEnabled"`
	Status                int      `json:"status"`
	Type                  int      `json:"type"`
	ExternalID            *string  `json:"externalId"`
	ResetPasswordEnrolled bool     `json:"resetPasswordEnrolled"`
	Collections           []string `json:"collections"`
}

type groupItem struct {
	Object      string   `json:"object"`
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	ExternalID  *string  `json:"externalId"`
	Collections []string `json:"collections"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// userID is the id of the account behind a member: none for Invited and Staged members (and revoked ones
// without a master password), else a stable id derived from the member id.
func userID(m Member) *string {
	switch {
	case m.Status == StatusAccepted, m.Status == StatusConfirmed, m.Status == StatusRevoked && m.HasMasterPassword:
		sum := sha256.Sum256([]byte("user:" + m.ID))
		id := fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
		return &id
	}
	return nil
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request, route string) {
	rp, ok := s.fault(r, route)
	if !ok {
		rp = s.listReply(r, route)
	}
	rp.write(w)
}

// listReply answers GET /public/members or /public/groups. Vaultwarden has neither endpoint.
func (s *Server) listReply(r *http.Request, route string) reply {
	if s.opts.NoReadEndpoints || s.profile == Vaultwarden {
		return s.notFound(r)
	}
	if r.Method != http.MethodGet {
		return s.methodNotAllowed(r, http.MethodGet)
	}
	if rp := s.authorize(r); rp != nil {
		return *rp
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var data any
	if route == "members" {
		items := []memberItem{}
		for _, m := range s.st.members {
			items = append(items, memberItem{
				Object: "member", ID: m.ID, UserID: userID(m), Email: m.Email, Status: m.Status, Type: m.Type,
				ExternalID: optional(m.ExternalID), Collections: []string{},
			})
		}
		data = items
	} else {
		items := []groupItem{}
		for _, g := range s.st.groups {
			items = append(items, groupItem{Object: "group", ID: g.ID, Name: g.Name, ExternalID: optional(g.ExternalID), Collections: []string{}})
		}
		data = items
	}
	return jsonReply(http.StatusOK, dotnetJSON(listBody{Object: "list", Data: data}))
}
