package directory

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		opt     Option
		in, out string
		errPart string
	}{
		{Option{Kind: KindInt}, " 42 ", "42", ""},
		{Option{Kind: KindInt, Min: 1, Max: 10}, "11", "", "out of range"},
		{Option{Kind: KindInt}, "x", "", "not a whole number"},
		{Option{Kind: KindBool}, "Yes", "true", ""},
		{Option{Kind: KindBool}, "maybe", "", "not true or false"},
		{Option{Kind: KindChoice, Choices: []string{"auto", "json"}}, "JSON", "json", ""},
		{Option{Kind: KindChoice, Choices: []string{"auto", "json"}}, "xml", "", "auto, json"},
		{Option{Kind: KindDuration}, "90s", "1m30s", ""},
		{Option{Kind: KindDuration}, "-5s", "", "negative"},
		{Option{Kind: KindList}, " a, ,b ", "a,b", ""},
		{Option{Kind: KindText}, "  (cn=x)\n", "  (cn=x)\n", ""},
		{Option{Kind: KindString, Check: func(string) error { return errors.New("nope") }}, "v", "", "nope"},
		{Option{Kind: KindInt, Secret: true}, "hunter2", "", "not a valid integer"},
	}
	for _, tt := range tests {
		got, err := tt.opt.Normalize(tt.in)
		if tt.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), tt.errPart) {
				t.Errorf("Normalize(%q) kind %v = %q, %v; want an error containing %q", tt.in, tt.opt.Kind, got, err, tt.errPart)
			}
			if tt.opt.Secret && err != nil && strings.Contains(err.Error(), tt.in) {
				t.Errorf("a secret option's error quotes the value: %v", err)
			}
			continue
		}
		if err != nil || got != tt.out {
			t.Errorf("Normalize(%q) kind %v = %q, %v; want %q", tt.in, tt.opt.Kind, got, err, tt.out)
		}
	}
}

func TestValidate(t *testing.T) {
	opts := []Option{
		{Name: "host", Required: true, Help: "the server"},
		{Name: "port", Kind: KindInt, Default: "389"},
		{Name: "tls", Kind: KindBool},
	}
	errs := Validate("ldap", opts, Values{"port": "x", "tls": "yes"})
	if len(errs) != 2 || errs[0].Key != "ldap.host" || errs[1].Key != "ldap.port" {
		t.Fatalf("Validate = %v, want ldap.host required and ldap.port malformed", errs)
	}
	if !errors.Is(errs, ErrConfig) {
		t.Error("ConfigErrors does not match ErrConfig")
	}
	if got := WithDefaults(opts, Values{"host": "h"}); got["port"] != "389" || got["host"] != "h" {
		t.Errorf("WithDefaults = %v", got)
	}
}

func TestRegistry(t *testing.T) {
	newSrc := func(Config) (Source, error) { return nil, nil }
	r := &Registry{}
	r.Register(Adapter{Name: "ldap", Number: 0, New: newSrc})
	r.Register(Adapter{Name: "entra", Number: 1, Aliases: []string{"azure"}, New: newSrc})
	r.Register(Adapter{Name: "file", Number: -1, New: newSrc})
	for in, want := range map[string]string{"0": "ldap", "AZURE": "entra", "file": "file", "1": "entra"} {
		if a, ok := r.Lookup(in); !ok || a.Name != want {
			t.Errorf("Lookup(%q) = %v, %v; want %s", in, a, ok, want)
		}
	}
	if _, ok := r.Lookup("7"); ok {
		t.Error("Lookup(7) found an adapter")
	}
	for _, dup := range []Adapter{{Name: "azure", Number: -1, New: newSrc}, {Name: "x", Number: 1, New: newSrc}, {Name: "y", Number: -1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%+v) did not panic", dup)
				}
			}()
			r.Register(dup)
		}()
	}
	if got := strings.Join(r.Names(), ","); got != "entra,file,ldap" {
		t.Errorf("Names = %s", got)
	}
}

func TestCompleteness(t *testing.T) {
	var c Completeness
	c.Add(Read{What: "users", Finished: true})
	if !c.Complete() {
		t.Fatal("one finished read is not complete")
	}
	c.Add(Read{What: "members of CN=All", Reason: "range 3000-* not returned"})
	if c.Complete() || len(c.Incomplete()) != 1 || !strings.Contains(c.Incomplete()[0], "CN=All: range") {
		t.Errorf("Incomplete = %v", c.Incomplete())
	}
}

func TestIssueString(t *testing.T) {
	is := Issue{Kind: "user", ID: "u7", Name: "a@x.io", Reason: "duplicate"}
	if got := is.String(); got != "user a@x.io, u7: duplicate" {
		t.Errorf("String = %q", got)
	}
	if got := (Issue{Kind: "user", Reason: "no id"}).String(); got != "user without id: no id" {
		t.Errorf("String = %q", got)
	}
}

func TestSharedChecks(t *testing.T) {
	for _, tt := range []struct {
		check func(string) error
		v     string
		ok    bool
	}{
		{CheckPositiveDuration, "30s", true}, {CheckPositiveDuration, "0s", false},
		{CheckProxyURL, "proxy.corp:3128", true}, {CheckProxyURL, "socks5://127.0.0.1:1080", true},
		{CheckProxyURL, "ftp://proxy.corp", false}, {CheckProxyURL, "http://", false},
	} {
		if err := tt.check(tt.v); (err == nil) != tt.ok {
			t.Errorf("check(%q) = %v, want ok=%v", tt.v, err, tt.ok)
		}
	}
}
