package dns

import "testing"

// An expected answer is compared in the form the probe writes answers of
// the asked type: addresses canonical, names absolute and in lower case,
// anything that does not parse as written (trimmed).
func TestNormalise(t *testing.T) {
	for _, c := range []struct{ qtype, in, want string }{
		{"A", "192.0.2.10", "192.0.2.10"},
		{"A", " 192.0.2.10\t", "192.0.2.10"},
		{"A", "192.0.2.010", "192.0.2.010"},
		{"A", "not an address", "not an address"},
		{"AAAA", "2001:DB8:0::10", "2001:db8::10"},
		{"CNAME", "Api.Example.Test", "api.example.test."},
		{"NS", " ns1.example.test. ", "ns1.example.test."},
		{"PTR", "Host.Example.Test", "host.example.test."},
		{"CNAME", "two Names", "two Names"},
		{"CNAME", "a\u00a0B", "a\u00a0B"},
		{"CNAME", "", ""},
		{"MX", "10  Mail.Example.Test", "10 mail.example.test."},
		{"MX", "10", "10"},
		{"SRV", "0 5 5060 SIP.Example.Test", "0 5 5060 sip.example.test."},
		{"SOA", "NS1.Example.Test Admin.Example.Test 1 2 3 4 5", "ns1.example.test. admin.example.test. 1 2 3 4 5"},
		{"TXT", "  v=spf1  -all ", "v=spf1  -all"},
		{"CAA", `0 issue "CA.example"`, `0 issue "CA.example"`},
	} {
		if got := normalise(c.qtype, c.in); got != c.want {
			t.Errorf("normalise(%s, %q) = %q, want %q", c.qtype, c.in, got, c.want)
		}
	}
}

func TestSameSet(t *testing.T) {
	for _, c := range []struct {
		a, b []string
		want bool
	}{
		{[]string{}, []string{}, true},
		{[]string{"192.0.2.1"}, []string{"192.0.2.1"}, true},
		{[]string{"192.0.2.1"}, []string{"192.0.2.2"}, false},
		{[]string{"192.0.2.1"}, []string{}, false},
		{[]string{"b", "a"}, []string{"a", "b"}, true},
		{[]string{"a", "a"}, []string{"a", "b"}, false},
	} {
		if got := sameSet(c.a, c.b); got != c.want {
			t.Errorf("sameSet(%q, %q) = %t, want %t", c.a, c.b, got, c.want)
		}
	}
}
