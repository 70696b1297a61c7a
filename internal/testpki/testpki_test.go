package testpki

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
)

func TestServerCertificateVerifies(t *testing.T) {
	for _, o := range []Options{{}, {RSA: true}} {
		ca, err := NewCA("test CA", o)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := ca.Server(o, "ldap.example.test")
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(leaf.TLS.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"127.0.0.1", "localhost", "ldap.example.test"} {
			if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: name}); err != nil {
				t.Errorf("rsa=%v: certificate does not verify for %s: %v", o.RSA, name, err)
			}
		}
		other, _ := NewCA("other CA", o)
		if _, err := cert.Verify(x509.VerifyOptions{Roots: other.Pool(), DNSName: "localhost"}); err == nil {
			t.Error("a certificate verified against another CA")
		}
		dir := t.TempDir()
		cp, kp, err := leaf.Write(dir, "server", 0o600)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tls.LoadX509KeyPair(cp, kp); err != nil {
			t.Errorf("written pair does not load: %v", err)
		}
		if fi, _ := os.Stat(kp); fi.Mode().Perm() != 0o600 {
			t.Errorf("key mode %v", fi.Mode().Perm())
		}
	}
}
