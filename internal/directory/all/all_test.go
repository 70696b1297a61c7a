package all

import "testing"

func TestRegistry(t *testing.T) {
	r := Registry()
	for _, name := range []string{"file", "ldap", "0", "okta", "3", "entra", "azure", "1", "google", "gsuite", "2", "onelogin", "4"} {
		a, ok := r.Lookup(name)
		if !ok {
			t.Errorf("adapter %q is not registered", name)
			continue
		}
		if len(a.Options) == 0 {
			t.Errorf("adapter %q declares no options", name)
		}
		for _, o := range a.Options {
			if o.Name == "" || o.Help == "" {
				t.Errorf("adapter %q option %+v lacks a name or help text (forms and the CLI show it)", name, o)
			}
		}
	}
}
