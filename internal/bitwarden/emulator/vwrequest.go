package emulator

import "net/http"

// vwRequest is Vaultwarden's OrgImportData: every field mandatory and non-null, names case-sensitive.
type vwRequest struct {
	Groups            []vwGroup
	Members           []vwMember
	OverwriteExisting bool
}

type vwGroup struct {
	Name, ExternalID  string
	MemberExternalIDs []string
}

type vwMember struct {
	Email, ExternalID string
	Deleted           bool
}

// serdeDecoder reads a body as serde_json does for #[derive(Deserialize)] structs behind Rocket's Json
// guard. Its only output besides the value is the status Rocket answers with: 422 for a data error (wrong
// type, null, missing or duplicate field), 400 for malformed JSON, both at the first problem in the document.
type serdeDecoder struct{ lx lexer }

// serdeField is one struct field: its JSON name and how to read its value.
type serdeField struct {
	name string
	read func(tok token) int
}

func decodeVaultwarden(body []byte) (*vwRequest, int) {
	d := &serdeDecoder{lx: lexer{data: body, maxDepth: 128}}
	req := &vwRequest{}
	tok, status := d.next()
	if status == 0 {
		status = d.structure(tok, []serdeField{
			{"groups", func(t token) int { return d.seq(t, func(t token) int { return d.group(t, req) }) }},
			{"members", func(t token) int { return d.seq(t, func(t token) int { return d.member(t, req) }) }},
			{"overwriteExisting", func(t token) int { return d.boolean(t, &req.OverwriteExisting) }},
		})
	}
	if status == 0 && d.lx.end() != nil {
		status = http.StatusBadRequest
	}
	if status != 0 {
		return nil, status
	}
	return req, 0
}

func (d *serdeDecoder) next() (token, int) {
	tok, err := d.lx.value()
	if err != nil {
		return tok, http.StatusBadRequest
	}
	return tok, 0
}

// structure reads a struct from a map (or, as serde allows, from a sequence of its fields in order).
func (d *serdeDecoder) structure(tok token, fields []serdeField) int {
	switch tok.kind {
	case tokObject:
		seen := make([]bool, len(fields))
		for first := true; ; first = false {
			name, done, err := d.lx.member(first)
			if err != nil {
				return http.StatusBadRequest
			}
			if done {
				break
			}
			val, status := d.next()
			if status != 0 {
				return status
			}
			i := fieldIndex(fields, name)
			if i < 0 {
				if d.lx.skip(val, 1) != nil {
					return http.StatusBadRequest
				}
				continue
			}
			if seen[i] {
				return http.StatusUnprocessableEntity // duplicate field
			}
			seen[i] = true
			if status := fields[i].read(val); status != 0 {
				return status
			}
		}
		for _, ok := range seen {
			if !ok {
				return http.StatusUnprocessableEntity // missing field
			}
		}
		return 0
	case tokArray:
		for i, f := range fields {
			done, err := d.lx.element(i == 0)
			if err != nil {
				return http.StatusBadRequest
			}
			if done {
				return http.StatusUnprocessableEntity // invalid length
			}
			val, status := d.next()
			if status == 0 {
				status = f.read(val)
			}
			if status != 0 {
				return status
			}
		}
		if done, err := d.lx.element(len(fields) == 0); err != nil || !done {
			return http.StatusBadRequest // trailing elements
		}
		return 0
	}
	return http.StatusUnprocessableEntity
}

func fieldIndex(fields []serdeField, name string) int {
	for i, f := range fields {
		if f.name == name {
			return i
		}
	}
	return -1
}

func (d *serdeDecoder) seq(tok token, elem func(token) int) int {
	if tok.kind != tokArray {
		return http.StatusUnprocessableEntity
	}
	for first := true; ; first = false {
		done, err := d.lx.element(first)
		if err != nil {
			return http.StatusBadRequest
		}
		if done {
			return 0
		}
		val, status := d.next()
		if status == 0 {
			status = elem(val)
		}
		if status != 0 {
			return status
		}
	}
}

func (d *serdeDecoder) str(tok token, dst *string) int {
	if tok.kind != tokString {
		return http.StatusUnprocessableEntity
	}
	*dst = tok.str
	return 0
}

func (d *serdeDecoder) boolean(tok token, dst *bool) int {
	if tok.kind != tokTrue && tok.kind != tokFalse {
		return http.StatusUnprocessableEntity
	}
	*dst = tok.kind == tokTrue
	return 0
}

func (d *serdeDecoder) group(tok token, req *vwRequest) int {
	var g vwGroup
	status := d.structure(tok, []serdeField{
		{"name", func(t token) int { return d.str(t, &g.Name) }},
		{"externalId", func(t token) int { return d.str(t, &g.ExternalID) }},
		{"memberExternalIds", func(t token) int {
			g.MemberExternalIDs = []string{}
			return d.seq(t, func(t token) int {
				var id string
				status := d.str(t, &id)
				g.MemberExternalIDs = append(g.MemberExternalIDs, id)
				return status
			})
		}},
	})
	req.Groups = append(req.Groups, g)
	return status
}

func (d *serdeDecoder) member(tok token, req *vwRequest) int {
	var m vwMember
	status := d.structure(tok, []serdeField{
		{"email", func(t token) int { return d.str(t, &m.Email) }},
		{"externalId", func(t token) int { return d.str(t, &m.ExternalID) }},
		{"deleted", func(t token) int { return d.boolean(t, &m.Deleted) }},
	})
	req.Members = append(req.Members, m)
	return status
}
