package schema_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/schema"
	"github.com/zclconf/go-cty/cty"
)

func TestSecretsRedact(t *testing.T) {
	var s schema.Secrets
	if got := s.Redact("nothing to hide"); got != "nothing to hide" {
		t.Errorf("an empty set changed the text: %q", got)
	}
	s.Add("Tok3nX")
	s.Add("ab") // too short to redact
	s.Add("3nXtra")
	tests := []struct{ in, want string }{
		{"token Tok3nX here", "token (sensitive value) here"},
		{"dns: tok3nx.example.test.", "dns: (sensitive value).example.test."}, // another case
		{"path /p/Tok3nXtra", "path /p/(sensitive value)"},                    // overlapping secrets: one replacement
		{"b64 " + "VG9rM25Y", "b64 (sensitive value)"},                        // base64 of the secret
		{"ab ab", "ab ab"},
		{"Tok3nXTok3nX", "(sensitive value)"},
	}
	for _, tt := range tests {
		if got := s.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	v := cty.ObjectVal(map[string]cty.Value{
		"body":    cty.StringVal("echo Tok3nX"),
		"headers": cty.MapVal(map[string]cty.Value{"x-tok3nx": cty.StringVal("Basic Tok3nX")}),
		"answers": cty.ListVal([]cty.Value{cty.StringVal("TOK3NX.")}),
		"n":       cty.NumberIntVal(3),
	})
	got := s.RedactValue(v)
	want := cty.ObjectVal(map[string]cty.Value{
		"body":    cty.StringVal("echo (sensitive value)"),
		"headers": cty.MapVal(map[string]cty.Value{"x-(sensitive value)": cty.StringVal("Basic (sensitive value)")}),
		"answers": cty.ListVal([]cty.Value{cty.StringVal("(sensitive value).")}),
		"n":       cty.NumberIntVal(3),
	})
	if !got.RawEquals(want) {
		t.Errorf("RedactValue:\n got %#v\nwant %#v", got, want)
	}
}

// TestSensitiveMessages: an error_message, a description and a validation
// message built from a secret are shown with the secret redacted, not as a
// panic (the error_message did) nor as the secret.
func TestSensitiveMessages(t *testing.T) {
	dir := t.TempDir()
	suite := filepath.Join(dir, "s.nettest.hcl")
	write(t, suite, `
variable "token" {
  type      = string
  sensitive = true
  validation {
    condition     = length(var.token) > 3
    error_message = "The token ${var.token} is too short."
  }
}
tcp "x" {
  host        = "127.0.0.1"
  port        = 1
  description = "Token ${var.token} works"
  expect {
    open = false
  }
  assert {
    condition     = self.open
    error_message = "rejected ${var.token}"
  }
}
`)
	s, diags := schema.Load([]string{suite}, schema.Options{Vars: []schema.VarArg{{Name: "token", Value: "hunter2"}}})
	if diags.HasErrors() {
		t.Fatal(text(diags))
	}
	inst := s.Instances[0]
	if inst.Description != "Token (sensitive value) works" {
		t.Errorf("description %q", inst.Description)
	}
	result := cty.ObjectVal(map[string]cty.Value{"open": cty.False, "state": cty.StringVal("closed"), "host": cty.StringVal("127.0.0.1"),
		"port": cty.NumberIntVal(1), "address": cty.StringVal("127.0.0.1:1"), "error": cty.StringVal(""), "duration_ms": cty.NumberIntVal(1)})
	v := inst.Bind(nil).Judge(checks.ResultOf(result))
	messages, d := v.Messages, v.Diags
	if d.HasErrors() {
		t.Fatal(text(d))
	}
	if len(messages) != 1 || messages[0] != "rejected (sensitive value)" {
		t.Errorf("messages %q, want the error_message with the secret redacted", messages)
	}

	_, diags = schema.Load([]string{suite}, schema.Options{Vars: []schema.VarArg{{Name: "token", Value: "abc"}}})
	if got := text(diags); !strings.Contains(got, "The token (sensitive value) is too short.") || strings.Contains(got, "abc") {
		t.Errorf("validation message:\n%s", got)
	}
}

// TestUnknownVariables: with Options.UnknownVariables (validate), a
// variable without a value is unknown and everything else is still
// checked; a value that is given is still checked.
func TestUnknownVariables(t *testing.T) {
	dir := t.TempDir()
	suite := filepath.Join(dir, "s.nettest.hcl")
	write(t, suite, `
variable "host" {
  type = string
}
variable "port" {
  type = number
  validation {
    condition     = var.port > 1000
    error_message = "Use a high port."
  }
}
variable "ports" {
  type = set(number)
}
tcp "x" {
  host = var.host
  port = var.port
  expect {
    open = true
  }
}
tcp "each" {
  for_each = var.ports
  host     = var.host
  port     = each.value
  expect {
    open = true
  }
}
`)
	_, diags := schema.Load([]string{suite}, schema.Options{UnknownVariables: true})
	if diags.HasErrors() {
		t.Errorf("variables without values are unknown for validate, not errors:\n%s", text(diags))
	}
	_, diags = schema.Load([]string{suite}, schema.Options{})
	if !strings.Contains(text(diags), "No value for required variable") {
		t.Errorf("plan and test still need values:\n%s", text(diags))
	}
	for _, tt := range []struct{ value, want string }{
		{"eighty", "Invalid value for variable"},
		{"80", "Use a high port."},
		{"70000", `Invalid value for argument "port"`},
	} {
		_, diags = schema.Load([]string{suite}, schema.Options{UnknownVariables: true, Vars: []schema.VarArg{{Name: "port", Value: tt.value}}})
		if got := text(diags); !strings.Contains(got, tt.want) {
			t.Errorf("port=%s: want %q in:\n%s", tt.value, tt.want, got)
		}
	}
	write(t, suite, `
variable "host" {
  type = string
}
tcp "x" {
  host = var.host
  port = 1
  expect {
    opn = true
  }
}
`)
	_, diags = schema.Load([]string{suite}, schema.Options{UnknownVariables: true})
	if !strings.Contains(text(diags), "opn") {
		t.Errorf("an unknown variable hid another error:\n%s", text(diags))
	}
}

// TestVariableValueErrorsOnce: a value that is not valid is one error, not
// also "no value"; a --var-file that cannot be read says why.
func TestVariableValueErrorsOnce(t *testing.T) {
	dir := t.TempDir()
	suite := filepath.Join(dir, "s.nettest.hcl")
	write(t, suite, `
variable "port" {
  type = number
}
variable "ports" {
  type = list(number)
}
`)
	varFile := filepath.Join(dir, "v.tfvars")
	write(t, varFile, "port = \"x\"\nports = [1, 2]\n")
	for name, vars := range map[string][]schema.VarArg{
		"--var":      {{Name: "port", Value: "x"}, {Name: "ports", Value: "[1,"}},
		"--var-file": {{File: varFile}, {Name: "ports", Value: "[1,"}},
	} {
		_, diags := schema.Load([]string{suite}, schema.Options{Vars: vars})
		if len(diags.Errs()) != 2 || strings.Contains(text(diags), "No value") {
			t.Errorf("%s: want one error per bad value:\n%s", name, text(diags))
		}
	}
	_, diags := schema.Load([]string{suite}, schema.Options{Vars: []schema.VarArg{{File: filepath.Join(dir, "missing.tfvars")}}})
	if got := text(diags); !strings.Contains(got, "no such file or directory") {
		t.Errorf("a missing --var-file does not say why:\n%s", got)
	}
}

// TestSecretNumbersRedacted: a sensitive number (a port) comes back in a
// probe's result as a number, not a string; it is redacted too, also
// inside a list, which then holds values of two types.
func TestSecretNumbersRedacted(t *testing.T) {
	var s schema.Secrets
	s.Add("18080")
	v := cty.ObjectVal(map[string]cty.Value{
		"port":  cty.NumberIntVal(18080),
		"other": cty.NumberIntVal(443),
		"ports": cty.ListVal([]cty.Value{cty.NumberIntVal(18080), cty.NumberIntVal(80)}),
		"byKey": cty.MapVal(map[string]cty.Value{"a": cty.NumberIntVal(18080), "b": cty.NumberIntVal(1)}),
	})
	got := s.RedactValue(v)
	want := cty.ObjectVal(map[string]cty.Value{
		"port":  cty.StringVal(schema.Redacted),
		"other": cty.NumberIntVal(443),
		"ports": cty.TupleVal([]cty.Value{cty.StringVal(schema.Redacted), cty.NumberIntVal(80)}),
		"byKey": cty.ObjectVal(map[string]cty.Value{"a": cty.StringVal(schema.Redacted), "b": cty.NumberIntVal(1)}),
	})
	if !got.RawEquals(want) {
		t.Errorf("RedactValue:\n got %#v\nwant %#v", got, want)
	}
}

// TestSensitiveInvalidArgument: an argument that is invalid because of a
// sensitive value says so without the value, in one sentence.
func TestSensitiveInvalidArgument(t *testing.T) {
	suite := filepath.Join(t.TempDir(), "s.nettest.hcl")
	write(t, suite, `
variable "pin" {
  type      = number
  sensitive = true
}
tcp "x" {
  host = "127.0.0.1"
  port = var.pin
  expect {
    open = true
  }
}
`)
	_, diags := schema.Load([]string{suite}, schema.Options{Vars: []schema.VarArg{{Name: "pin", Value: "99999"}}})
	got := text(diags)
	if !strings.Contains(got, "The value, which is sensitive, is not valid.") || strings.Contains(got, "valid..") || strings.Contains(got, "99999") {
		t.Errorf("diagnostic:\n%s", got)
	}
}
