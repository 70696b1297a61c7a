package emulator

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf16"
)

// importRequest is OrganizationImportRequestModel as ASP.NET binds it: nil slices are JSON null or omitted.
type importRequest struct {
	Groups                       []*importGroup
	Members                      []*importMember
	OverwriteExisting            *bool
	LargeImport                  bool
	InviteUsersAfterProvisioning bool
}

type importGroup struct {
	Name, ExternalID  *string
	MemberExternalIDs []string
	hasMemberIDs      bool // false when memberExternalIds is null or omitted
}

type importMember struct {
	Email, ExternalID *string
	Deleted           bool
}

// .NET type names, as System.Text.Json prints them in conversion errors.
const (
	tnModel        = "Bit.Api.AdminConsole.Public.Models.Request.OrganizationImportRequestModel"
	tnGroup        = tnModel + "+OrganizationImportGroupRequestModel"
	tnMember       = tnModel + "+OrganizationImportMemberRequestModel"
	tnBool         = "System.Boolean"
	tnNullableBool = "System.Nullable`1[System.Boolean]"
	tnString       = "System.String"
)

// modelError is one model-state entry produced by the JSON input formatter.
type modelError struct{ key, msg string }

// stjDecoder reads an import body with the rules of System.Text.Json under ASP.NET's web defaults:
// case-insensitive property names, unknown properties skipped, last duplicate wins, the first error stops.
type stjDecoder struct{ lx lexer }

// decodeImport binds a non-empty body. A JSON null body gives (nil, nil).
func decodeImport(body []byte) (*importRequest, *modelError) {
	body = trimBOM(body)
	d := &stjDecoder{lx: lexer{data: body, maxDepth: 64}}
	d.lx.skipWS()
	if d.lx.eof() {
		return nil, d.syntax(d.lx.fail(d.lx.pos, "The input does not contain any JSON tokens. Expected the input to start with a valid JSON token, while reading."), "$")
	}
	tok, serr := d.lx.value()
	if serr != nil {
		return nil, d.syntax(serr, "$")
	}
	var req *importRequest
	if tok.kind != tokNull {
		req = &importRequest{InviteUsersAfterProvisioning: true}
		if err := d.object(tok, "$", tnModel, req.field(d)); err != nil {
			return nil, err
		}
	}
	if serr := d.lx.end(); serr != nil {
		return nil, d.syntax(serr, "$")
	}
	return req, nil
}

func trimBOM(b []byte) []byte {
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		return b[3:]
	}
	return b
}

func (d *stjDecoder) at(msg, path string, pos int) *modelError {
	line, col := d.lx.lineAndColumn(pos)
	return &modelError{key: path, msg: fmt.Sprintf("%s Path: %s | LineNumber: %d | BytePositionInLine: %d.", msg, path, line, col)}
}

func (d *stjDecoder) syntax(e *syntaxError, path string) *modelError { return d.at(e.msg, path, e.pos) }

func (d *stjDecoder) mismatch(tok token, path, typeName string) *modelError {
	return d.at("The JSON value could not be converted to "+typeName+".", path, tok.end)
}

// next reads the first token of the value at path.
func (d *stjDecoder) next(path string) (token, *modelError) {
	tok, serr := d.lx.value()
	if serr != nil {
		return tok, d.syntax(serr, path)
	}
	return tok, nil
}

// propPath appends a property name to a JSON path the way System.Text.Json does.
func propPath(path, name string) string {
	if strings.ContainsAny(name, ".'[]()/\\\" \t\n\r\f\b") {
		return path + "['" + strings.ReplaceAll(name, "'", "\\'") + "']"
	}
	return path + "." + name
}

func (d *stjDecoder) object(tok token, path, typeName string, field func(name, path string) *modelError) *modelError {
	if tok.kind != tokObject {
		return d.mismatch(tok, path, typeName)
	}
	for first := true; ; first = false {
		name, done, serr := d.lx.member(first)
		if serr != nil {
			return d.syntax(serr, path)
		}
		if done {
			return nil
		}
		if err := field(name, propPath(path, name)); err != nil {
			return err
		}
	}
}

func (d *stjDecoder) array(tok token, path, typeName string, elem func(path string) *modelError) *modelError {
	if tok.kind != tokArray {
		return d.mismatch(tok, path, typeName)
	}
	for i := 0; ; i++ {
		done, serr := d.lx.element(i == 0)
		if serr != nil {
			return d.syntax(serr, path)
		}
		if done {
			return nil
		}
		if err := elem(fmt.Sprintf("%s[%d]", path, i)); err != nil {
			return err
		}
	}
}

func (d *stjDecoder) skip(path string) *modelError {
	tok, err := d.next(path)
	if err != nil {
		return err
	}
	if serr := d.lx.skip(tok, 1); serr != nil {
		return d.syntax(serr, path)
	}
	return nil
}

// scalar reads a value whose first token must be one of kinds; set is false for null.
func (d *stjDecoder) scalar(path, typeName string, kinds ...tokKind) (tok token, set bool, err *modelError) {
	if tok, err = d.next(path); err != nil {
		return tok, false, err
	}
	if !slices.Contains(kinds, tok.kind) {
		return tok, false, d.mismatch(tok, path, typeName)
	}
	return tok, tok.kind != tokNull, nil
}

func (d *stjDecoder) boolean(path string) (bool, *modelError) {
	tok, _, err := d.scalar(path, tnBool, tokTrue, tokFalse)
	return tok.kind == tokTrue && err == nil, err
}

func (d *stjDecoder) nullableBool(path string) (*bool, *modelError) {
	tok, set, err := d.scalar(path, tnNullableBool, tokNull, tokTrue, tokFalse)
	if !set {
		return nil, err
	}
	v := tok.kind == tokTrue
	return &v, nil
}

func (d *stjDecoder) str(path string) (*string, *modelError) {
	tok, set, err := d.scalar(path, tnString, tokNull, tokString)
	if !set {
		return nil, err
	}
	return &tok.str, nil
}

// permissiveScalar is Bitwarden's PermissiveStringConverter.Read for a token it is handed.
func (d *stjDecoder) permissiveScalar(tok token, path string) (string, *modelError) {
	switch tok.kind {
	case tokString:
		return tok.str, nil
	case tokNumber:
		if s, ok := decimalText(tok.str); ok {
			return s, nil
		}
		return "", d.mismatch(tok, path, tnString)
	case tokTrue:
		return "True", nil
	case tokFalse:
		return "False", nil
	}
	return "", &modelError{key: path, msg: "Unsupported TokenType: " + tokenTypeName(tok.kind)}
}

func tokenTypeName(k tokKind) string {
	switch k {
	case tokObject:
		return "StartObject"
	case tokArray:
		return "StartArray"
	case tokNull:
		return "Null"
	}
	return "None"
}

// permissive reads an externalId: null stays null (the converter is not called for null).
func (d *stjDecoder) permissive(path string) (*string, *modelError) {
	tok, err := d.next(path)
	if err != nil || tok.kind == tokNull {
		return nil, err
	}
	s, err := d.permissiveScalar(tok, path)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// permissiveList is PermissiveStringEnumerableConverter: an array of scalars, or one scalar; present is false for null.
func (d *stjDecoder) permissiveList(path string) (list []string, present bool, err *modelError) {
	tok, err := d.next(path)
	if err != nil || tok.kind == tokNull {
		return nil, false, err
	}
	switch tok.kind {
	case tokObject:
		return nil, false, &modelError{key: path, msg: "Cannot read JSON Object to an IEnumerable<string>."}
	case tokArray:
	default:
		s, err := d.permissiveScalar(tok, path)
		return []string{s}, err == nil, err
	}
	list = []string{}
	for i := 0; ; i++ {
		done, serr := d.lx.element(i == 0)
		if serr != nil {
			return nil, false, d.syntax(serr, path)
		}
		if done {
			return list, true, nil
		}
		el, err := d.next(path)
		if err != nil {
			return nil, false, err
		}
		s, err := d.permissiveScalar(el, path)
		if err != nil {
			return nil, false, err
		}
		list = append(list, s)
	}
}

func (req *importRequest) field(d *stjDecoder) func(name, path string) *modelError {
	return func(name, path string) (err *modelError) {
		switch {
		case strings.EqualFold(name, "groups"):
			req.Groups, err = decodeList(d, path, tnGroup, decodeGroup)
		case strings.EqualFold(name, "members"):
			req.Members, err = decodeList(d, path, tnMember, decodeMember)
		case strings.EqualFold(name, "overwriteExisting"):
			req.OverwriteExisting, err = d.nullableBool(path)
		case strings.EqualFold(name, "largeImport"):
			req.LargeImport, err = d.boolean(path)
		case strings.EqualFold(name, "inviteUsersAfterProvisioning"):
			req.InviteUsersAfterProvisioning, err = d.boolean(path)
		default:
			err = d.skip(path)
		}
		return err
	}
}

// decodeList reads a nullable array of nullable objects; an empty array gives a non-nil empty slice.
func decodeList[T any](d *stjDecoder, path, elemType string, decodeElem func(*stjDecoder, token, string) (*T, *modelError)) ([]*T, *modelError) {
	tok, err := d.next(path)
	if err != nil || tok.kind == tokNull {
		return nil, err
	}
	list := []*T{}
	err = d.array(tok, path, elemType+"[]", func(path string) *modelError {
		el, err := d.next(path)
		if err != nil {
			return err
		}
		var v *T
		if el.kind != tokNull {
			if v, err = decodeElem(d, el, path); err != nil {
				return err
			}
		}
		list = append(list, v)
		return nil
	})
	return list, err
}

func decodeGroup(d *stjDecoder, tok token, path string) (*importGroup, *modelError) {
	g := &importGroup{}
	return g, d.object(tok, path, tnGroup, func(name, path string) (err *modelError) {
		switch {
		case strings.EqualFold(name, "name"):
			g.Name, err = d.str(path)
		case strings.EqualFold(name, "externalId"):
			g.ExternalID, err = d.permissive(path)
		case strings.EqualFold(name, "memberExternalIds"):
			g.MemberExternalIDs, g.hasMemberIDs, err = d.permissiveList(path)
		default:
			err = d.skip(path)
		}
		return err
	})
}

func decodeMember(d *stjDecoder, tok token, path string) (*importMember, *modelError) {
	m := &importMember{}
	return m, d.object(tok, path, tnMember, func(name, path string) (err *modelError) {
		switch {
		case strings.EqualFold(name, "email"):
			m.Email, err = d.str(path)
		case strings.EqualFold(name, "externalId"):
			m.ExternalID, err = d.permissive(path)
		case strings.EqualFold(name, "deleted"):
			m.Deleted, err = d.boolean(path)
		default:
			err = d.skip(path)
		}
		return err
	})
}

// modelState collects validation errors like ASP.NET's ModelStateDictionary, including its cap of 200.
type modelState struct {
	errs       map[string][]string
	count      int
	maxReached bool
}

const maxModelErrors = 200

func (m *modelState) add(key, msg string) {
	if m.errs == nil {
		m.errs = map[string][]string{}
	}
	if m.count >= maxModelErrors-1 {
		if !m.maxReached {
			// TooManyModelErrorsException is recorded as an exception, so its ErrorMessage is empty.
			m.errs[""] = append(m.errs[""], "")
			m.maxReached = true
			m.count++
		}
		return
	}
	m.count++
	m.errs[key] = append(m.errs[key], msg)
}

func (m *modelState) valid() bool { return m.count == 0 }

// keys lists the entries in the order ModelStateDictionary enumerates them: a depth-first walk of its prefix
// tree whose children are sorted by length, then case-insensitively.
func (m *modelState) keys() []string {
	keys := make([]string, 0, len(m.errs))
	for k := range m.errs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		sa, sb := modelKeySegments(a), modelKeySegments(b)
		for i := 0; i < len(sa) && i < len(sb); i++ {
			if c := compareSegment(sa[i], sb[i]); c != 0 {
				return c
			}
		}
		return len(sa) - len(sb)
	})
	return keys
}

// modelKeySegments splits "Members[0].Email" into "Members", "[0]", "Email".
func modelKeySegments(key string) []string {
	var segs []string
	start := 0
	for i := 0; i < len(key); i++ {
		switch key[i] {
		case '.':
			segs = append(segs, key[start:i])
			start = i + 1
		case '[':
			if i > start {
				segs = append(segs, key[start:i])
			}
			start = i
		}
	}
	if start < len(key) {
		segs = append(segs, key[start:])
	}
	return segs
}

func compareSegment(a, b string) int {
	if la, lb := utf16Len(a), utf16Len(b); la != lb {
		return la - lb
	}
	return strings.Compare(strings.ToUpper(a), strings.ToUpper(b))
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

func isBlank(s *string) bool { return s == nil || strings.TrimFunc(*s, unicode.IsSpace) == "" }

// validEmail is .NET's EmailAddressAttribute: exactly one '@', neither first nor last, and no CR or LF.
func validEmail(s string) bool {
	if strings.ContainsAny(s, "\r\n") {
		return false
	}
	i := strings.IndexByte(s, '@')
	return i > 0 && i != len(s)-1 && i == strings.LastIndexByte(s, '@')
}

// requiredString applies [Required] and [StringLength(max)] to the property at key.
func requiredString(ms *modelState, key, field string, v *string, max int) {
	if isBlank(v) {
		ms.add(key, fmt.Sprintf("The %s field is required.", field))
	}
	maxLength(ms, key, field, v, max)
}

func maxLength(ms *modelState, key, field string, v *string, max int) {
	if v != nil && utf16Len(*v) > max {
		ms.add(key, fmt.Sprintf("The field %s must be a string with a maximum length of %d.", field, max))
	}
}

// validate runs the data annotations of OrganizationImportRequestModel in MVC's visiting order.
func (req *importRequest) validate() *modelState {
	ms := &modelState{}
	for i, g := range req.Groups {
		if g == nil {
			continue
		}
		p := fmt.Sprintf("Groups[%d]", i)
		requiredString(ms, p+".Name", "Name", g.Name, 100)
		requiredString(ms, p+".ExternalId", "ExternalId", g.ExternalID, 300)
	}
	for i, m := range req.Members {
		if m == nil {
			continue
		}
		p := fmt.Sprintf("Members[%d]", i)
		if m.Email != nil && !validEmail(*m.Email) {
			ms.add(p+".Email", "The Email field is not a valid e-mail address.")
		}
		maxLength(ms, p+".Email", "Email", m.Email, 256)
		requiredString(ms, p+".ExternalId", "ExternalId", m.ExternalID, 300)
		if isBlank(m.Email) && !m.Deleted {
			ms.add(p+".Email", "Email is required for enabled members.")
		}
	}
	if req.OverwriteExisting == nil {
		ms.add("OverwriteExisting", "The OverwriteExisting field is required.")
	}
	return ms
}
