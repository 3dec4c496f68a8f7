package http

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// TestValidation: mistakes in arguments and expectations are found at load
// time, before anything runs, with a message that names the fix.
func TestValidation(t *testing.T) {
	k := kind(t)
	tests := []struct {
		name    string
		expect  bool // an expect attribute rather than an argument
		attr    string
		value   cty.Value
		wantErr string // "" means valid
	}{
		{"url", false, "url", str("https://127.0.0.1:8443/healthz"), ""},
		{"url without scheme", false, "url", str("127.0.0.1:8080/healthz"), "is not an absolute URL with scheme http or https"},
		{"url with another scheme", false, "url", str("ftp://127.0.0.1/"), "is not an absolute URL with scheme http or https"},
		{"method", false, "method", str("OPTIONS"), ""},
		{"method with a space", false, "method", str("GET /"), `"GET /" is not an HTTP method`},
		{"request headers", false, "headers", strMap("X-Request-Id", "abc", "Host", "a.test"), ""},
		{"header name with a colon", false, "headers", strMap("X-Id:", "abc"), `"X-Id:": not a header name`},
		{"header value with a line break", false, "headers", strMap("X-Id", "a\r\nInjected: 1"), `the value of header "X-Id" contains a line break`},
		{"host_header", false, "host_header", str("www.example.test:8080"), ""},
		{"host_header with a path", false, "host_header", str("www.example.test/x"), "is not a Host header"},
		{"server_name", false, "server_name", str("www.example.test"), ""},
		{"server_name with a port", false, "server_name", str("www.example.test:443"), "write a host name without a port"},
		{"body_limit", false, "body_limit", num(1 << 20), ""},
		{"body_limit negative", false, "body_limit", num(-1), "must be a whole number from 0 to 67108864"},
		{"body_limit too big", false, "body_limit", num(1 << 30), "must be a whole number from 0 to 67108864"},

		{"status", true, "status", num(204), ""},
		{"status list", true, "status", cty.TupleVal([]cty.Value{num(200), num(301)}), ""},
		{"status set", true, "status", cty.SetVal([]cty.Value{num(200), num(301)}), ""},
		{"status out of range", true, "status", num(42), "a status code must be a whole number from 100 to 599, got 42"},
		{"status out of range in a list", true, "status", cty.TupleVal([]cty.Value{num(200), num(1000)}), "from 100 to 599, got 1000"},
		{"status as a string", true, "status", str("200"), "status must be a number such as 200 or a list of numbers such as [200, 204], got string"},
		{"status list of strings", true, "status", cty.TupleVal([]cty.Value{str("2xx")}), `got ["2xx"]`},
		{"status empty list", true, "status", cty.EmptyTupleVal, "an empty list matches no status"},
		{"body_matches", true, "body_matches", str(`"status":\s*"ok"`), ""},
		{"body_matches invalid", true, "body_matches", str(`(unclosed`), "invalid regular expression"},
		{"headers", true, "headers", strMap("x-frame-options", "DENY"), ""},
		{"headers with a bad name", true, "headers", strMap("x frame options", "DENY"), `"x frame options": not a header name`},
		{"headers_match", true, "headers_match", strMap("strict-transport-security", `max-age=\d+`), ""},
		{"headers_match invalid", true, "headers_match", strMap("location", `^https://[`), `the regular expression for header "location" is invalid`},
		{"headers_absent", true, "headers_absent", cty.ListVal([]cty.Value{str("X-Powered-By")}), ""},
		{"headers_absent bad name", true, "headers_absent", cty.ListVal([]cty.Value{str("X-Powered-By:")}), `"X-Powered-By:" is not a header name`},
		{"cert_days_left_min", true, "cert_days_left_min", num(14), ""},
		{"cert_days_left_min negative", true, "cert_days_left_min", num(-1), "must be a whole number from 0"},
		{"cert_days_left_min fraction", true, "cert_days_left_min", cty.NumberFloatVal(1.5), "must be a whole number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var validate func(cty.Value) error
			if tt.expect {
				e, ok := k.Expectation(tt.attr)
				if !ok {
					t.Fatalf("no expectation %q", tt.attr)
				}
				validate = e.Validate
			} else {
				a, ok := k.Arg(tt.attr)
				if !ok {
					t.Fatalf("no argument %q", tt.attr)
				}
				validate = a.Validate
			}
			var err error
			if validate != nil {
				err = validate(tt.value)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("error = %v, want valid", err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("valid, want an error containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
