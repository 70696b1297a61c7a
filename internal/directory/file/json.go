package file

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/dirconn/dirconn/internal/directory"
)

// jsonUser is one element of the "users" list.
type jsonUser struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	Username string `json:"username"`
	Name     string `json:"name"`
	Disabled bool   `json:"disabled"`
	Deleted  bool   `json:"deleted"`
}

// jsonGroup is one element of the "groups" list.
type jsonGroup struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Members []string `json:"members"` // user ids
	Groups  []string `json:"groups"`  // nested group ids
}

// parseJSON reads {"users":[...],"groups":[...]}. The document must be an object holding at least one of
// the two lists; each list element is decoded on its own, so a broken record becomes an issue.
func parseJSON(ctx context.Context, data []byte) (*parsed, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("the document is %s, want an object with \"users\" and \"groups\" lists", article(te.Value))
		}
		return nil, jsonSyntaxError(data, err)
	}
	if top == nil {
		return nil, errors.New("the document is null, want an object with \"users\" and \"groups\" lists")
	}
	rawUsers, hasUsers := top["users"]
	rawGroups, hasGroups := top["groups"]
	if !hasUsers && !hasGroups {
		return nil, errors.New("the document has neither a \"users\" nor a \"groups\" list")
	}
	var users, groups []json.RawMessage
	if hasUsers {
		if err := json.Unmarshal(rawUsers, &users); err != nil {
			return nil, fmt.Errorf("\"users\" is %s, want a list", jsonKind(rawUsers))
		}
	}
	if hasGroups {
		if err := json.Unmarshal(rawGroups, &groups); err != nil {
			return nil, fmt.Errorf("\"groups\" is %s, want a list", jsonKind(rawGroups))
		}
	}

	p := &parsed{entries: len(users) + len(groups)}
	for i, raw := range users {
		if i%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		src := fmt.Sprintf("users[%d]", i)
		var ju jsonUser
		err := json.Unmarshal(raw, &ju)
		id := strings.TrimSpace(ju.ID)
		switch {
		case err != nil:
			p.issue("user", id, ju.Email, src, recordError(err))
		case id == "":
			p.issue("user", "", ju.Email, src, "it has no id")
		default:
			p.addUser(directory.User{
				ID: id, Email: ju.Email, EmailPrefix: ju.Username, DisplayName: ju.Name,
				Disabled: ju.Disabled, Deleted: ju.Deleted,
			}, src)
		}
	}
	for i, raw := range groups {
		if i%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		src := fmt.Sprintf("groups[%d]", i)
		var jg jsonGroup
		err := json.Unmarshal(raw, &jg)
		id, name := strings.TrimSpace(jg.ID), strings.TrimSpace(jg.Name)
		switch {
		case err != nil:
			p.issue("group", id, name, src, recordError(err))
		case id == "":
			p.issue("group", "", name, src, "it has no id")
		case name == "":
			p.issue("group", id, "", src, "it has no name")
		default:
			p.addGroup(directory.Group{ID: id, Name: name, Users: trimAll(jg.Members), Groups: trimAll(jg.Groups)}, src)
		}
	}
	p.finish(func(id string) string { return id })
	return p, nil
}

// recordError says in plain words why a list element does not decode.
func recordError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return fmt.Sprintf("the record is %s, want an object", article(te.Value))
		}
		return fmt.Sprintf("field %q is %s, want %s", te.Field, article(te.Value), goTypeWord(te.Type))
	}
	return err.Error()
}

func goTypeWord(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "a list of strings"
	}
	return t.String()
}

// article turns a JSON kind from an UnmarshalTypeError ("string", "number", "array", "object", "bool")
// into words.
func article(kind string) string {
	switch kind {
	case "array":
		return "a list"
	case "object":
		return "an object"
	case "bool":
		return "a boolean"
	case "null":
		return "null"
	}
	if kind != "" && strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}

// jsonKind names the kind of a raw JSON value.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "empty"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// jsonSyntaxError adds the line and column (1-based, in bytes) of the offending byte to a syntax error.
func jsonSyntaxError(data []byte, err error) error {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return err
	}
	off := min(max(int(se.Offset)-1, 0), len(data)) // Offset counts the offending byte

	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}

func trimAll(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id = strings.TrimSpace(id); id != "" {
			out = append(out, id)
		}
	}
	return out
}
