package emulator

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The import bodies are read by two hand-written streaming decoders (request.go for Bitwarden's
// System.Text.Json rules, vwrequest.go for Vaultwarden's serde rules). Both stop at the first problem in
// document order, as the real servers do, so they share this tokenizer.

type tokKind int

const (
	tokObject tokKind = iota // '{' (only the opener was read)
	tokArray                 // '[' (only the opener was read)
	tokString
	tokNumber
	tokTrue
	tokFalse
	tokNull
)

// token is the first token of a JSON value. str is the decoded string or the number's text.
type token struct {
	kind       tokKind
	str        string
	start, end int
}

// syntaxError is malformed JSON at byte offset pos, with System.Text.Json's wording.
type syntaxError struct {
	msg string
	pos int
}

type lexer struct {
	data     []byte
	pos      int
	maxDepth int
}

func (l *lexer) fail(pos int, format string, args ...any) *syntaxError {
	return &syntaxError{msg: fmt.Sprintf(format, args...), pos: pos}
}

func (l *lexer) skipWS() {
	for i, c := range l.data[l.pos:] {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			l.pos += i
			return
		}
	}
	l.pos = len(l.data)
}

func (l *lexer) eof() bool { return l.pos >= len(l.data) }

// printable renders a byte the way System.Text.Json quotes it in messages.
func printable(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return string(rune(c))
	}
	return fmt.Sprintf("0x%02X", c)
}

func (l *lexer) errOpenAtEnd() *syntaxError {
	return l.fail(l.pos, "Expected depth to be zero at the end of the JSON payload. There is an open JSON object or array that should be closed.")
}

// value reads the first token of the next value.
func (l *lexer) value() (token, *syntaxError) {
	l.skipWS()
	if l.eof() {
		return token{}, l.fail(l.pos, "Expected a value, but instead reached end of data.")
	}
	start := l.pos
	c := l.data[l.pos]
	switch {
	case c == '{':
		l.pos++
		return token{kind: tokObject, start: start, end: l.pos}, nil
	case c == '[':
		l.pos++
		return token{kind: tokArray, start: start, end: l.pos}, nil
	case c == '"':
		s, err := l.readString()
		return token{kind: tokString, str: s, start: start, end: l.pos}, err
	case c == '-' || (c >= '0' && c <= '9'):
		n, err := l.readNumber()
		return token{kind: tokNumber, str: n, start: start, end: l.pos}, err
	case c == 't':
		return l.literal("true", tokTrue)
	case c == 'f':
		return l.literal("false", tokFalse)
	case c == 'n':
		return l.literal("null", tokNull)
	}
	return token{}, l.fail(start, "'%s' is an invalid start of a value.", printable(c))
}

func (l *lexer) literal(word string, kind tokKind) (token, *syntaxError) {
	start := l.pos
	for i := 0; i < len(word); i++ {
		if l.pos >= len(l.data) || l.data[l.pos] != word[i] {
			end := min(l.pos+1, len(l.data))
			return token{}, l.fail(l.pos, "'%s' is an invalid JSON literal. Expected the literal '%s'.", l.data[start:end], word)
		}
		l.pos++
	}
	return token{kind: kind, start: start, end: l.pos}, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (l *lexer) digits() int {
	n := 0
	for l.pos < len(l.data) && isDigit(l.data[l.pos]) {
		l.pos++
		n++
	}
	return n
}

func (l *lexer) readNumber() (string, *syntaxError) {
	start := l.pos
	if l.data[l.pos] == '-' {
		l.pos++
		if l.eof() {
			return "", l.fail(l.pos, "Expected a digit ('0'-'9'), but instead reached end of data.")
		}
		if !isDigit(l.data[l.pos]) {
			return "", l.fail(l.pos, "'%s' is invalid within a number, immediately after a sign character ('-'). Expected a digit ('0'-'9').", printable(l.data[l.pos]))
		}
	}
	if l.data[l.pos] == '0' {
		l.pos++
	} else {
		l.digits()
	}
	if !l.eof() && l.data[l.pos] == '.' {
		l.pos++
		if l.eof() {
			return "", l.fail(l.pos, "Expected a digit ('0'-'9'), but instead reached end of data.")
		}
		if l.digits() == 0 {
			return "", l.fail(l.pos, "'%s' is invalid within a number, immediately after a decimal point ('.'). Expected a digit ('0'-'9').", printable(l.data[l.pos]))
		}
	}
	if !l.eof() && (l.data[l.pos] == 'e' || l.data[l.pos] == 'E') {
		l.pos++
		if !l.eof() && (l.data[l.pos] == '+' || l.data[l.pos] == '-') {
			l.pos++
		}
		if l.eof() {
			return "", l.fail(l.pos, "Expected a digit ('0'-'9'), but instead reached end of data.")
		}
		if l.digits() == 0 {
			return "", l.fail(l.pos, "'%s' is invalid within a number, immediately after a sign character ('+' or '-') or the exponent ('e' or 'E'). Expected a digit ('0'-'9').", printable(l.data[l.pos]))
		}
	}
	if !l.eof() {
		switch l.data[l.pos] {
		case ' ', '\t', '\n', '\r', ',', '}', ']':
		default:
			return "", l.fail(l.pos, "'%s' is an invalid end of a number. Expected a delimiter.", printable(l.data[l.pos]))
		}
	}
	return string(l.data[start:l.pos]), nil
}

func hexVal(c byte) (rune, bool) {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0'), true
	case c >= 'a' && c <= 'f':
		return rune(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return rune(c-'A') + 10, true
	}
	return 0, false
}

func (l *lexer) hex4() (rune, *syntaxError) {
	var r rune
	for i := 0; i < 4; i++ {
		if l.eof() {
			return 0, l.fail(l.pos, "Expected end of string, but instead reached end of data.")
		}
		v, ok := hexVal(l.data[l.pos])
		if !ok {
			return 0, l.fail(l.pos, "'%s' is not a hex digit following '\\u' within a JSON string. The string should be correctly escaped.", printable(l.data[l.pos]))
		}
		r = r<<4 | v
		l.pos++
	}
	return r, nil
}

// readString reads a string token starting at the opening quote and returns it unescaped.
func (l *lexer) readString() (string, *syntaxError) {
	l.pos++ // opening quote
	var b strings.Builder
	for {
		if l.eof() {
			return "", l.fail(l.pos, "Expected end of string, but instead reached end of data.")
		}
		c := l.data[l.pos]
		switch {
		case c == '"':
			l.pos++
			return b.String(), nil
		case c < 0x20:
			return "", l.fail(l.pos, "'%s' is invalid within a JSON string. The string should be correctly escaped.", printable(c))
		case c == '\\':
			l.pos++
			if l.eof() {
				return "", l.fail(l.pos, "Expected end of string, but instead reached end of data.")
			}
			e := l.data[l.pos]
			l.pos++
			switch e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				r, err := l.hex4()
				if err != nil {
					return "", err
				}
				if utf16.IsSurrogate(r) && l.pos+1 < len(l.data) && l.data[l.pos] == '\\' && l.data[l.pos+1] == 'u' {
					save := l.pos
					l.pos += 2
					r2, err := l.hex4()
					if err != nil {
						return "", err
					}
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
					} else {
						l.pos = save
					}
				}
				b.WriteRune(r)
			default:
				return "", l.fail(l.pos-1, "'%s' is not a valid escapable character within a JSON string. The string should be correctly escaped.", printable(e))
			}
		default:
			// Copy the run of plain bytes up to the next quote, backslash or control character.
			run := l.data[l.pos:]
			n := len(run)
			for i, c := range run {
				if c == '"' || c == '\\' || c < 0x20 {
					n = i
					break
				}
			}
			b.Write(run[:n])
			l.pos += n
		}
	}
}

// member reads the next property name of an object whose '{' was read (done at '}').
func (l *lexer) member(first bool) (name string, done bool, err *syntaxError) {
	l.skipWS()
	if l.eof() {
		return "", false, l.errOpenAtEnd()
	}
	c := l.data[l.pos]
	if c == '}' && first {
		l.pos++
		return "", true, nil
	}
	if !first {
		if c == '}' {
			l.pos++
			return "", true, nil
		}
		if c != ',' {
			return "", false, l.fail(l.pos, "'%s' is invalid after a value. Expected either ',', '}', or ']'.", printable(c))
		}
		l.pos++
		l.skipWS()
		if l.eof() {
			return "", false, l.errOpenAtEnd()
		}
		c = l.data[l.pos]
		if c == '}' {
			return "", false, l.fail(l.pos, "The JSON object contains a trailing comma at the end which is not supported in this mode. Change the reader options.")
		}
	}
	if c != '"' {
		return "", false, l.fail(l.pos, "'%s' is an invalid start of a property name. Expected a '\"'.", printable(c))
	}
	if name, err = l.readString(); err != nil {
		return "", false, err
	}
	l.skipWS()
	if l.eof() {
		return "", false, l.errOpenAtEnd()
	}
	if l.data[l.pos] != ':' {
		return "", false, l.fail(l.pos, "'%s' is invalid after a property name. Expected a ':'.", printable(l.data[l.pos]))
	}
	l.pos++
	return name, false, nil
}

// element moves to the next element of an array whose '[' was read (done at ']').
func (l *lexer) element(first bool) (done bool, err *syntaxError) {
	l.skipWS()
	if l.eof() {
		return false, l.errOpenAtEnd()
	}
	c := l.data[l.pos]
	if c == ']' {
		l.pos++
		return true, nil
	}
	if first {
		return false, nil
	}
	if c != ',' {
		return false, l.fail(l.pos, "'%s' is invalid after a value. Expected either ',', '}', or ']'.", printable(c))
	}
	l.pos++
	l.skipWS()
	if !l.eof() && l.data[l.pos] == ']' {
		return false, l.fail(l.pos, "The JSON array contains a trailing comma at the end which is not supported in this mode. Change the reader options.")
	}
	return false, nil
}

// skip consumes the rest of a value whose first token is tok.
func (l *lexer) skip(tok token, depth int) *syntaxError {
	if tok.kind != tokObject && tok.kind != tokArray {
		return nil
	}
	if depth >= l.maxDepth {
		return l.fail(tok.start, "The maximum configured depth of %d has been exceeded. Cannot read next JSON object.", l.maxDepth)
	}
	for first := true; ; first = false {
		var done bool
		var err *syntaxError
		if tok.kind == tokObject {
			_, done, err = l.member(first)
		} else {
			done, err = l.element(first)
		}
		if err != nil || done {
			return err
		}
		next, err := l.value()
		if err != nil {
			return err
		}
		if err := l.skip(next, depth+1); err != nil {
			return err
		}
	}
}

// end checks that nothing but whitespace follows the top-level value.
func (l *lexer) end() *syntaxError {
	l.skipWS()
	if !l.eof() {
		return l.fail(l.pos, "'%s' is invalid after a single JSON value. Expected end of data.", printable(l.data[l.pos]))
	}
	return nil
}

// lineAndColumn gives System.Text.Json's LineNumber and BytePositionInLine (both 0-based) of offset pos.
func (l *lexer) lineAndColumn(pos int) (line, col int) {
	pos = min(pos, len(l.data))
	lastNL := -1
	for i := 0; i < pos; i++ {
		if l.data[i] == '\n' {
			line++
			lastNL = i
		}
	}
	return line, pos - lastNL - 1
}

// decimalText renders a JSON number as .NET's decimal.ToString(en-US) does: the scale of the literal is kept
// ("1.50" stays "1.50"), exponents are applied ("1e2" is "100"). ok is false outside decimal's range.
func decimalText(num string) (string, bool) {
	neg := strings.HasPrefix(num, "-")
	num = strings.TrimPrefix(num, "-")
	mant, exp := num, 0
	if i := strings.IndexAny(num, "eE"); i >= 0 {
		e, err := strconv.Atoi(num[i+1:])
		if err != nil {
			return "", false
		}
		mant, exp = num[:i], e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	scale := len(frac) - exp
	if scale < 0 {
		if digits != "" {
			digits += strings.Repeat("0", -scale)
		}
		scale = 0
	}
	if scale > 28 || len(digits) > 29 {
		return "", false
	}
	if len(digits) == 29 && digits > "79228162514264337593543950335" {
		return "", false
	}
	if len(digits) <= scale {
		digits = strings.Repeat("0", scale-len(digits)+1) + digits
	}
	out := digits
	if scale > 0 {
		out = digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
	}
	if neg && strings.Trim(out, "0.") != "" {
		out = "-" + out
	}
	return out, true
}
