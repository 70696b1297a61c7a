package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// reply is a complete HTTP answer; handlers compute one and write it once.
type reply struct {
	status int
	body   []byte
	header http.Header
}

func (rp reply) write(w http.ResponseWriter) {
	for k, v := range rp.header {
		w.Header()[k] = v
	}
	if len(rp.body) > 0 && w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(rp.body)))
	w.WriteHeader(rp.status)
	_, _ = w.Write(rp.body)
}

func (rp reply) with(key, value string) reply {
	h := rp.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set(key, value)
	rp.header = h
	return rp
}

func empty(status int) reply { return reply{status: status} }

func jsonReply(status int, body []byte) reply { return reply{status: status, body: body} }

// marshal encodes v without Go's HTML escaping; the profile-specific escaping is applied by the callers.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("emulator: encoding %T: %v", v, err))
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// dotnetJSON encodes v as ASP.NET Core does with System.Text.Json's default encoder: HTML-sensitive
// characters (< > & ' + `) and everything outside ASCII become \uXXXX escapes with upper-case hex.
func dotnetJSON(v any) []byte {
	in := marshal(v)
	var out bytes.Buffer
	inString := false
	for i := 0; i < len(in); {
		c := in[i]
		switch {
		case !inString:
			inString = c == '"'
			out.WriteByte(c)
			i++
		case c == '"':
			inString = false
			out.WriteByte(c)
			i++
		case c == '\\' && in[i+1] == 'u':
			out.WriteString(`\u` + strings.ToUpper(string(in[i+2:i+6])))
			i += 6
		case c == '\\':
			out.Write(in[i : i+2])
			i += 2
		case c == '<' || c == '>' || c == '&' || c == '\'' || c == '+' || c == '`':
			fmt.Fprintf(&out, `\u%04X`, c)
			i++
		case c < utf8.RuneSelf:
			out.WriteByte(c)
			i++
		default:
			r, size := utf8.DecodeRune(in[i:])
			if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
				fmt.Fprintf(&out, `\u%04X\u%04X`, r1, r2)
			} else {
				fmt.Fprintf(&out, `\u%04X`, r)
			}
			i += size
		}
	}
	return out.Bytes()
}

// orderedErrors is the public API's "errors" dictionary in model-state order.
type orderedErrors struct {
	keys []string
	errs map[string][]string
}

func (o orderedErrors) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(marshal(k))
		b.WriteByte(':')
		b.Write(marshal(o.errs[k]))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// publicErrorBody is Bit.Api.Models.Public.Response.ErrorResponseModel.
type publicErrorBody struct {
	Object  string `json:"object"`
	Message string `json:"message"`
	Errors  any    `json:"errors"`
}

func publicError(status int, msg string) reply {
	return jsonReply(status, dotnetJSON(publicErrorBody{Object: "error", Message: msg}))
}

func badRequest(msg string) reply { return publicError(http.StatusBadRequest, msg) }

func serverError() reply {
	return publicError(http.StatusInternalServerError, "An unhandled server error has occurred.")
}

func modelStateError(ms *modelState) reply {
	errs := orderedErrors{keys: ms.keys(), errs: ms.errs}
	return jsonReply(http.StatusBadRequest, dotnetJSON(publicErrorBody{Object: "error", Message: "The request's model state is invalid.", Errors: errs}))
}

// exceptionFields are the always-null debugging fields of the internal error model.
type exceptionFields struct {
	ExceptionMessage      *string `json:"exceptionMessage"`
	ExceptionStackTrace   *string `json:"exceptionStackTrace"`
	InnerExceptionMessage *string `json:"innerExceptionMessage"`
}

// internalErrorBody is Bit.Core.Models.Api.ErrorResponseModel (used by the rate limiter).
type internalErrorBody struct {
	Message          string `json:"message"`
	ValidationErrors any    `json:"validationErrors"`
	exceptionFields
	Object string `json:"object"`
}

func internalError(status int, msg string) reply {
	return jsonReply(status, dotnetJSON(internalErrorBody{Message: msg, Object: "error"}))
}

const rateLimitMessage = "Slow down! Too many requests. Try again in 1m."

// vaultwardenErrorBody is the JSON of Vaultwarden's err!() (src/error.rs).
type vaultwardenErrorBody struct {
	Message          string              `json:"message"`
	ValidationErrors map[string][]string `json:"validationErrors"`
	ErrorModel       struct {
		Message string `json:"message"`
		Object  string `json:"object"`
	} `json:"errorModel"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	exceptionFields
	Object string `json:"object"`
}

func vaultwardenError(status int, msg string) reply {
	b := vaultwardenErrorBody{Message: msg, ValidationErrors: map[string][]string{"": {msg}}, Object: "error"}
	b.ErrorModel.Message = msg
	b.ErrorModel.Object = "error"
	return jsonReply(status, marshal(b))
}

// catcherDescriptions are the texts of Rocket's default error catcher.
var catcherDescriptions = map[int]string{
	400: "The request could not be understood by the server due to malformed syntax.",
	401: "The request requires user authentication.",
	403: "The server refused to authorize the request.",
	404: "The requested resource could not be found.",
	405: "The request method is not supported for the requested resource.",
	413: "The request is larger than the server is willing or able to process.",
	415: "The request entity has a media type which the server or resource does not support.",
	422: "The request was well-formed but was unable to be followed due to semantic errors.",
	429: "The user has sent too many requests in a given amount of time.",
	500: "The server encountered an internal error while processing this request.",
	503: "The server is currently unavailable.",
}

// rocketCatcher is Rocket's default catcher: JSON when the client prefers JSON, HTML otherwise.
func rocketCatcher(r *http.Request, status int) reply {
	reason := http.StatusText(status)
	desc := catcherDescriptions[status]
	if desc == "" {
		desc = "An unknown error has occurred."
	}
	if prefersJSON(r.Header.Get("Accept")) {
		body := fmt.Sprintf("{\n  \"error\": {\n    \"code\": %d,\n    \"reason\": %q,\n    \"description\": %q\n  }\n}", status, reason, desc)
		return jsonReply(status, []byte(body))
	}
	body := fmt.Sprintf(`<!DOCTYPE html>
<html lang="en">
<head>
    <meta charset="utf-8">
    <title>%[1]d %[2]s</title>
</head>
<body align="center">
    <div role="main" align="center">
        <h1>%[1]d: %[2]s</h1>
        <p>%[3]s</p>
        <hr />
    </div>
    <div role="contentinfo" align="center">
        <small>Rocket</small>
    </div>
</body>
</html>`, status, reason, desc)
	return reply{status: status, body: []byte(body), header: http.Header{"Content-Type": {"text/html; charset=utf-8"}}}
}

// vaultwardenNotFound is Vaultwarden's catcher for unknown /api routes.
func vaultwardenNotFound() reply {
	return jsonReply(http.StatusNotFound, []byte(`{"error":{"code":404,"description":"The requested resource could not be found.","reason":"Not Found"}}`))
}

// prefersJSON tells whether the highest-ranked media type of an Accept header is application/json.
func prefersJSON(accept string) bool {
	best, bestQ := "", -1.0
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if q > bestQ {
			best, bestQ = mt, q
		}
	}
	return best == "application/json"
}
