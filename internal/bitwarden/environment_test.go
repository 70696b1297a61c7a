package bitwarden

import (
	"strings"
	"testing"
)

func TestEnvironmentResolve(t *testing.T) {
	type urls struct{ api, identity, vault string }
	us := urls{"https://api.bitwarden.com", "https://identity.bitwarden.com", "https://vault.bitwarden.com"}
	eu := urls{"https://api.bitwarden.eu", "https://identity.bitwarden.eu", "https://vault.bitwarden.eu"}
	self := urls{"https://vault.example.com/api", "https://vault.example.com/identity", "https://vault.example.com"}
	tests := []struct {
		name string
		env  Environment
		want urls
	}{
		{"empty is US cloud", Environment{}, us},
		{"blank is US cloud", Environment{Server: "   "}, us},
		{"bitwarden.com", Environment{Server: "bitwarden.com"}, us},
		{"https://bitwarden.com", Environment{Server: "https://bitwarden.com"}, us},
		{"https://vault.bitwarden.com/", Environment{Server: "https://vault.bitwarden.com/"}, us},
		{"vault.bitwarden.com upper case", Environment{Server: "HTTPS://Vault.Bitwarden.COM"}, us},
		{"bitwarden.eu", Environment{Server: "bitwarden.eu"}, eu},
		{"https://vault.bitwarden.eu", Environment{Server: "https://vault.bitwarden.eu"}, eu},
		{"https://bitwarden.eu/", Environment{Server: " https://bitwarden.eu/ "}, eu},
		{"self-hosted", Environment{Server: "https://vault.example.com"}, self},
		{"self-hosted trailing slashes and spaces", Environment{Server: "  https://vault.example.com// "}, self},
		{"self-hosted without scheme", Environment{Server: "vault.example.com"}, self},
		{"self-hosted with path", Environment{Server: "https://example.com/bitwarden/"},
			urls{"https://example.com/bitwarden/api", "https://example.com/bitwarden/identity", "https://example.com/bitwarden"}},
		{"self-hosted http with port", Environment{Server: "http://10.0.0.5:8080"},
			urls{"http://10.0.0.5:8080/api", "http://10.0.0.5:8080/identity", "http://10.0.0.5:8080"}},
		{"cloud host with a path is self-hosted", Environment{Server: "https://bitwarden.com/x"},
			urls{"https://bitwarden.com/x/api", "https://bitwarden.com/x/identity", "https://bitwarden.com/x"}},
		{"explicit URLs win over server", Environment{Server: "https://vault.example.com", APIURL: "api.example.com/",
			IdentityURL: "https://id.example.com", WebVaultURL: "https://web.example.com"},
			urls{"https://api.example.com", "https://id.example.com", "https://web.example.com"}},
		{"explicit API only, no server: rest is US cloud", Environment{APIURL: "https://api.example.com"},
			urls{"https://api.example.com", us.identity, us.vault}},
		{"explicit identity only with self-hosted server", Environment{Server: "https://vault.example.com", IdentityURL: "https://sso.example.com/identity/"},
			urls{self.api, "https://sso.example.com/identity", self.vault}},
		{"explicit identity with EU server", Environment{Server: "bitwarden.eu", IdentityURL: "https://id.example.com"},
			urls{eu.api, "https://id.example.com", eu.vault}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api, identity, vault, err := tt.env.Resolve()
			if err != nil {
				t.Fatalf("Resolve(%+v) = %v", tt.env, err)
			}
			if got := (urls{api, identity, vault}); got != tt.want {
				t.Errorf("Resolve(%+v) =\n %+v, want\n %+v", tt.env, got, tt.want)
			}
		})
	}
}

func TestEnvironmentResolveErrors(t *testing.T) {
	tests := []struct {
		env  Environment
		want []string // substrings of the error
	}{
		{Environment{Server: "ftp://vault.example.com"}, []string{"server URL", "scheme"}},
		{Environment{APIURL: "https://"}, []string{"API URL", "no host"}},
		{Environment{IdentityURL: "https://user:hunter2@id.example.com"}, []string{"identity URL", "user name or password"}},
		{Environment{WebVaultURL: "https://web.example.com/?x=1"}, []string{"web vault URL", "query"}},
		{Environment{Server: "https://vault example.com"}, []string{"server URL"}},
		{Environment{Server: "https://vault.example.com:port"}, []string{"server URL"}},
	}
	for _, tt := range tests {
		_, _, _, err := tt.env.Resolve()
		if err == nil {
			t.Errorf("Resolve(%+v) = nil error, want one", tt.env)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Resolve(%+v) = %q, want it to contain %q", tt.env, err, w)
			}
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Resolve error %q reveals a password", err)
		}
	}
}

func TestDevice(t *testing.T) {
	tests := []struct {
		goos     string
		wantType int
		wantName string
	}{
		{"linux", 8, "linux"},
		{"windows", 6, "windows"},
		{"darwin", 7, "macos"},
		{"freebsd", 8, "linux"},
	}
	for _, tt := range tests {
		if typ, name := device(tt.goos); typ != tt.wantType || name != tt.wantName {
			t.Errorf("device(%q) = %d, %q; want %d, %q", tt.goos, typ, name, tt.wantType, tt.wantName)
		}
	}
}

func TestJWTExpiry(t *testing.T) {
	tests := []struct {
		tok    string
		want   int64
		wantOK bool
	}{
		{"eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjE3ODcyMzM2MDB9.sig", 1787233600, true},    // {"exp":1787233600}
		{"eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjE3ODcyMzM2MDB9.", 1787233600, true},       // empty signature
		{"eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjE3ODcyMzM2MDAuNX0.sig", 1787233600, true}, // {"exp":1787233600.5}
		{"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig", 0, false},                     // no exp
		{"eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjE3ODcyMzM2MDB9", 0, false},                // two parts
		{"opaque-token", 0, false},
		{"a.!!!.c", 0, false},
		{"a.bm90IGpzb24.c", 0, false}, // "not json"
	}
	for _, tt := range tests {
		got, ok := jwtExpiry(tt.tok)
		if ok != tt.wantOK || (ok && got.Unix() != tt.want) {
			t.Errorf("jwtExpiry(%q) = %v, %v; want %d, %v", tt.tok, got.Unix(), ok, tt.want, tt.wantOK)
		}
	}
}
