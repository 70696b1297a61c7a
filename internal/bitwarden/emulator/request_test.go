package emulator

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecimalText(t *testing.T) {
	for in, want := range map[string]string{
		"123": "123", "-7": "-7", "0": "0", "-0": "0", "1.50": "1.50", "1e2": "100", "1.5E+1": "15",
		"1.50e1": "15.0", "25e-1": "2.5", "0.00": "0.00", "12345678901234567890": "12345678901234567890",
	} {
		if got, ok := decimalText(in); !ok || got != want {
			t.Errorf("decimalText(%s) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"1e40", "79228162514264337593543950336", "1e-40"} {
		if got, ok := decimalText(in); ok {
			t.Errorf("decimalText(%s) = %q, want out of range", in, got)
		}
	}
}

// The permissive reading shows in what the server stores.
func TestPermissiveRequest(t *testing.T) {
	h := newHarness(t, Options{})
	body := `{"GROUPS":[{"Name":"G","ExternalID":42,"MemberExternalIds":7},{"name":"H","externalId":true,"memberExternalIds":[1.50,"x",false]}],` +
		`"Members":[{"EMAIL":"Seven@Example.com","externalid":7,"deleted":false,"unknown":{"deep":[1,2,{"x":null}]}},` +
		`{"email":"x@example.com","externalId":"x"},{"email":"f@example.com","externalId":false},{"email":"d@example.com","externalId":1.50}],` +
		`"overwriteExisting":true,"overwriteexisting":false,"extra":"ignored"}`
	res := h.importBody(body)
	if res.status != http.StatusOK {
		t.Fatalf("HTTP %d %s", res.status, res.body)
	}
	want := view{
		Members: lines(ownerLine,
			"seven@example.com ext=7 type=2 status=0 mp=false", "x@example.com ext=x type=2 status=0 mp=false",
			"f@example.com ext=False type=2 status=0 mp=false", "d@example.com ext=1.50 type=2 status=0 mp=false"),
		Groups: lines("G ext=42 members=[seven@example.com]", "H ext=True members=[d@example.com f@example.com x@example.com]"),
		Events: lines("1500 seven@example.com", "1500 x@example.com", "1500 f@example.com", "1500 d@example.com", "1400 group G", "1400 group H"),
		Outbox: lines("invite seven@example.com", "invite x@example.com", "invite f@example.com", "invite d@example.com"),
	}
	if diff := cmp.Diff(want, viewOf(h.s.Snapshot())); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
	imp := h.s.Imports()[0]
	if !imp.Parsed || imp.Members != 4 || imp.ActiveMembers != 4 || imp.Groups != 2 || imp.OverwriteExisting || !imp.InviteUsersAfterProvisioning {
		t.Errorf("import summary %+v", imp)
	}
}

func TestRequestErrors(t *testing.T) {
	modelState := func(errs string) string {
		return `{"object":"error","message":"The request\u0027s model state is invalid.","errors":{` + errs + `}}`
	}
	at := func(body, token string, after int) string {
		i := strings.Index(body, token)
		return fmt.Sprint(i + after)
	}
	member := `{"email":"a@example.com","externalId":"a","deleted":false}`
	nullElem := `{"groups":[{"name":"G","externalId":"g","memberExternalIds":["a",null]}],"members":[],"overwriteExisting":false}`
	boolStr := `{"overwriteExisting":"yes"}`
	twoLines := "{\n  \"groups\": [],\n  \"members\": [" + member + "],\n  \"largeImport\": 1\n}"
	for _, c := range []struct {
		name, contentType, body string
		status                  int
		resp                    string
	}{
		{"empty body", "", "", 400, modelState(`"":["Body is empty."]`)},
		{"null body", "", "null", 400, modelState(`"":["Body is empty."]`)},
		{"whitespace", "", "  ", 400, modelState(`"$":["The input does not contain any JSON tokens. Expected the input to start with a valid JSON token, while reading. Path: $ | LineNumber: 0 | BytePositionInLine: 2."]`)},
		{"not JSON", "", "x", 400, modelState(`"$":["\u0027x\u0027 is an invalid start of a value. Path: $ | LineNumber: 0 | BytePositionInLine: 0."]`)},
		{"array body", "", "[]", 400, modelState(`"$":["The JSON value could not be converted to Bit.Api.AdminConsole.Public.Models.Request.OrganizationImportRequestModel. Path: $ | LineNumber: 0 | BytePositionInLine: 1."]`)},
		{"trailing data", "", `{"groups":[],"members":[],"overwriteExisting":false}}`, 400, modelState(`"$":["\u0027}\u0027 is invalid after a single JSON value. Expected end of data. Path: $ | LineNumber: 0 | BytePositionInLine: 52."]`)},
		{"nullable bool", "", boolStr, 400, modelState(`"$.overwriteExisting":["The JSON value could not be converted to System.Nullable\u00601[System.Boolean]. Path: $.overwriteExisting | LineNumber: 0 | BytePositionInLine: ` + at(boolStr, `"yes"`, 5) + `."]`)},
		{"second line", "", twoLines, 400, modelState(`"$.largeImport":["The JSON value could not be converted to System.Boolean. Path: $.largeImport | LineNumber: 3 | BytePositionInLine: 18."]`)},
		{"null in memberExternalIds", "", nullElem, 400, modelState(`"$.groups[0].memberExternalIds":["Unsupported TokenType: Null"]`)},
		{"object memberExternalIds", "", `{"groups":[{"name":"G","externalId":"g","memberExternalIds":{}}]}`, 400, modelState(`"$.groups[0].memberExternalIds":["Cannot read JSON Object to an IEnumerable\u003Cstring\u003E."]`)},
		{"object externalId", "", `{"members":[{"email":"a@example.com","externalId":{"id":1}}]}`, 400, modelState(`"$.members[0].externalId":["Unsupported TokenType: StartObject"]`)},
		{"email must be a string", "", `{"members":[{"email":5}]}`, 400, modelState(`"$.members[0].email":["The JSON value could not be converted to System.String. Path: $.members[0].email | LineNumber: 0 | BytePositionInLine: 22."]`)},
		{"first error wins", "", `{"members":[{"deleted":null}],"groups":{}}`, 400, modelState(`"$.members[0].deleted":["The JSON value could not be converted to System.Boolean. Path: $.members[0].deleted | LineNumber: 0 | BytePositionInLine: 27."]`)},
		{"trailing comma", "", `{"groups":[],}`, 400, modelState(`"$":["The JSON object contains a trailing comma at the end which is not supported in this mode. Change the reader options. Path: $ | LineNumber: 0 | BytePositionInLine: 13."]`)},
		{"unclosed", "", `{"groups":[`, 400, modelState(`"$.groups":["Expected depth to be zero at the end of the JSON payload. There is an open JSON object or array that should be closed. Path: $.groups | LineNumber: 0 | BytePositionInLine: 11."]`)},
		{"wrong media type", "text/plain", `{"groups":[],"members":[],"overwriteExisting":false}`, 415, ""},
		{"model-state order", "", `{"members":[` + strings.Repeat(member+",", 10) + `{"email":"x","externalId":""}],"groups":[{"externalId":"g","memberExternalIds":[]}]}`, 400,
			modelState(`"Groups[0].Name":["The Name field is required."],"Members[10].Email":["The Email field is not a valid e-mail address."],` +
				`"Members[10].ExternalId":["The ExternalId field is required."],"OverwriteExisting":["The OverwriteExisting field is required."]`)},
		{"whitespace email", "", `{"members":[{"email":"  ","externalId":"a"}],"groups":[],"overwriteExisting":false}`, 400,
			modelState(`"Members[0].Email":["The Email field is not a valid e-mail address.","Email is required for enabled members."]`)},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			before := h.s.Snapshot()
			req := h.importRequest("/public/organization/import", h.token(), c.body)
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			check(t, h.do(req), c.status, c.resp, viewOf(h.s.Snapshot()), viewOf(before))
		})
	}
}

func TestModelErrorCap(t *testing.T) {
	h := newHarness(t, Options{})
	var members []string
	for range 150 {
		members = append(members, `{"email":"bad","externalId":""}`)
	}
	res := h.importBody(`{"groups":[],"members":[` + strings.Join(members, ",") + `],"overwriteExisting":false}`)
	ms := &modelState{}
	for i := range 150 {
		ms.add(fmt.Sprintf("Members[%d].Email", i), "The Email field is not a valid e-mail address.")
		ms.add(fmt.Sprintf("Members[%d].ExternalId", i), "The ExternalId field is required.")
	}
	if ms.count != maxModelErrors || len(ms.errs[""]) != 1 {
		t.Fatalf("cap: %d errors, %v at the root", ms.count, ms.errs[""])
	}
	if !strings.HasPrefix(res.body, `{"object":"error","message":"The request\u0027s model state is invalid.","errors":{"":[""],"Members[0].Email":`) ||
		!strings.Contains(res.body, `"Members[99].Email"`) || strings.Contains(res.body, `"Members[99].ExternalId"`) ||
		string(modelStateError(ms).body) != res.body {
		t.Errorf("HTTP %d %.300s", res.status, res.body)
	}
}
