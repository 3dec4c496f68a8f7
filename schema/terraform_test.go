package schema_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/nettest/nettest/schema"
)

// terraformSuite declares variables as a suite fed by Terraform does: a
// string, a list and an object, one of them sensitive only in Terraform.
const terraformSuite = `
variable "host" {
  type = string
}
variable "ports" {
  type = list(number)
}
variable "db" {
  type = object({
    address = string
    port    = number
  })
}
variable "token" {
  type    = string
  default = "none"
}
tcp "x" {
  host = var.host
  port = var.ports[1]
  expect {
    open = true
  }
}
tcp "db" {
  host        = var.db.address
  port        = var.db.port
  description = "token ${var.token}"
  expect {
    open = true
  }
}
`

// outputs is what `terraform output -json` prints for those variables, and
// one output no variable takes.
const outputs = `{
  "host": {"sensitive": false, "type": "string", "value": "127.0.0.1"},
  "ports": {"sensitive": false, "type": ["tuple", ["number", "number"]], "value": [80, 443]},
  "db": {"sensitive": false, "type": ["object", {"address": "string", "port": "number"}], "value": {"address": "127.0.0.2", "port": 5432}},
  "token": {"sensitive": true, "type": "string", "value": "s3cr3t-token"},
  "vpc_id": {"sensitive": false, "type": "string", "value": "vpc-0a1b"}
}`

// TestTerraformOutputs gives each variable the output of its name, with
// the output's sensitivity, in command-line order with --var.
func TestTerraformOutputs(t *testing.T) {
	dir := t.TempDir()
	suite, file := filepath.Join(dir, "s.nettest.hcl"), filepath.Join(dir, "outputs.json")
	write(t, suite, terraformSuite)
	write(t, file, outputs)
	s, diags := schema.Load([]string{suite}, schema.Options{Vars: []schema.VarArg{{TerraformOutputs: file}}})
	if diags.HasErrors() {
		t.Fatal(text(diags))
	}
	x, db := s.Instances[0], s.Instances[1]
	if x.Arg("host").AsString() != "127.0.0.1" || x.Arg("port").AsBigFloat().String() != "443" {
		t.Errorf("tcp.x args %#v", x.Args())
	}
	if db.Arg("host").AsString() != "127.0.0.2" || db.Arg("port").AsBigFloat().String() != "5432" {
		t.Errorf("tcp.db args %#v", db.Args())
	}
	if !s.Variables["token"].Sensitive || strings.Contains(s.Secrets().Redact(db.Description), "s3cr3t-token") {
		t.Errorf("the sensitive output is not sensitive: %q", s.Secrets().Redact(db.Description))
	}
	if strings.Join(s.UnusedOutputs, ",") != "vpc_id" {
		t.Errorf("unused outputs %v, want vpc_id", s.UnusedOutputs)
	}

	// A --var after the file wins; one before it loses.
	for _, tt := range []struct {
		vars []schema.VarArg
		want string
	}{
		{[]schema.VarArg{{TerraformOutputs: file}, {Name: "host", Value: "127.0.0.9"}}, "127.0.0.9"},
		{[]schema.VarArg{{Name: "host", Value: "127.0.0.9"}, {TerraformOutputs: file}}, "127.0.0.1"},
	} {
		s, diags := schema.Load([]string{suite}, schema.Options{Vars: tt.vars})
		if diags.HasErrors() {
			t.Fatal(text(diags))
		}
		if got := s.Instances[0].Arg("host").AsString(); got != tt.want {
			t.Errorf("%+v: host %q, want %q", tt.vars, got, tt.want)
		}
	}
}

// TestTerraformOutputsErrors says what is wrong with the file, and where.
func TestTerraformOutputsErrors(t *testing.T) {
	dir := t.TempDir()
	suite := filepath.Join(dir, "s.nettest.hcl")
	write(t, suite, terraformSuite)
	for _, tt := range []struct{ name, content, want string }{
		{"not JSON", "{\n  \"host\": {\"value\": \"a\",\n  oops\n}", "outputs.json:3,3-3: Invalid --terraform-outputs file"},
		{"not outputs", `["host"]`, "is not the output of `terraform output -json`"},
		{"no type", `{"host": {"value": "a"}}`, `The output "host" in ` + filepath.Join(dir, "outputs.json") + ` lacks "type" or "value"`},
		{"not its own type", `{"host": {"type": "number", "value": "eighty"}}`, `The output "host" in ` + filepath.Join(dir, "outputs.json") + ` does not hold a value of its type`},
		{"not the variable's type", `{"host": {"type": "string", "value": "a"}, "ports": {"type": "string", "value": "eighty"}, "db": {"type": ["object", {"address": "string", "port": "number"}], "value": {"address": "a", "port": 1}}}`,
			"Invalid value for variable"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(dir, "outputs.json")
			write(t, file, tt.content)
			_, diags := schema.Load([]string{suite}, schema.Options{Vars: []schema.VarArg{{TerraformOutputs: file}}})
			if !strings.Contains(text(diags), tt.want) {
				t.Errorf("want %q in:\n%s", tt.want, text(diags))
			}
		})
	}
	_, diags := schema.Load([]string{suite}, schema.Options{Vars: []schema.VarArg{{TerraformOutputs: filepath.Join(dir, "missing.json")}}})
	if !strings.Contains(text(diags), "Cannot read --terraform-outputs") {
		t.Errorf("missing file:\n%s", text(diags))
	}
}

// TestJSONVarFile reads a .json --var-file as a JSON object of values, as
// Terraform reads .tfvars.json, with file:line in its errors.
func TestJSONVarFile(t *testing.T) {
	dir := t.TempDir()
	suite, file := filepath.Join(dir, "s.nettest.hcl"), filepath.Join(dir, "vars.json")
	write(t, suite, terraformSuite)
	write(t, file, `{"host": "127.0.0.1", "ports": [80, 443], "db": {"address": "127.0.0.2", "port": 5432}}`)
	s, diags := schema.Load([]string{suite}, schema.Options{Vars: []schema.VarArg{{File: file}}})
	if diags.HasErrors() {
		t.Fatal(text(diags))
	}
	if got := s.Instances[1].Arg("port").AsBigFloat().String(); got != "5432" {
		t.Errorf("db port %s", got)
	}
	write(t, file, "{\n  \"host\": \"127.0.0.1\",\n  \"ports\": \"eighty\",\n  \"db\": {\"address\": \"a\", \"port\": 1}\n}")
	_, diags = schema.Load([]string{suite}, schema.Options{Vars: []schema.VarArg{{File: file}}})
	if got := text(diags); !strings.Contains(got, "vars.json:3,") || !strings.Contains(got, "Invalid value for variable") {
		t.Errorf("want the line of the bad value:\n%s", got)
	}
}
