package schema

import (
	"fmt"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// EnvPrefix names environment variables that set suite variables:
// NETTEST_VAR_web_host=10.0.0.1 sets var.web_host.
const EnvPrefix = "NETTEST_VAR_"

// sensitiveMark marks values that came from a sensitive variable. cty
// carries marks through expressions and functions, so anything computed
// from a secret is still known to be secret when it is about to be shown.
const sensitiveMark = "sensitive"

// Variable is a variable block and the value it ended up with.
type Variable struct {
	Name        string
	Type        cty.Type
	Default     cty.Value // cty.NilVal when there is none: the variable is required
	Description string
	Sensitive   bool
	Validations []Validation
	DeclRange   hcl.Range

	// Value is the final value, converted to Type.
	Value cty.Value
	// Source says where Value came from: "default", "--var", a file name or
	// an environment variable.
	Source string
}

// Validation is a variable's validation block.
type Validation struct {
	Condition    hcl.Expression
	ErrorMessage hcl.Expression
	DeclRange    hcl.Range
}

// VarArg is one --var or --var-file flag, kept in command-line order because
// a later one wins, as in Terraform.
type VarArg struct {
	// Name and Value are set for --var NAME=VALUE.
	Name, Value string
	// File is set for --var-file FILE: HCL, or JSON when the name ends in
	// .json (as .tfvars.json is).
	File string
	// TerraformOutputs is set for --terraform-outputs FILE: the output of
	// `terraform output -json`.
	TerraformOutputs string
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "sensitive"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "validation"}},
}

var validationSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "condition", Required: true}, {Name: "error_message", Required: true}},
}

func decodeVariable(b *hcl.Block) (*Variable, hcl.Diagnostics) {
	v := &Variable{Name: b.Labels[0], Type: cty.DynamicPseudoType, DeclRange: b.DefRange}
	if !hclsyntax.ValidIdentifier(v.Name) {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid variable name",
			Detail: "A name must start with a letter or underscore and may contain only letters, digits, underscores and dashes.", Subject: b.LabelRanges[0].Ptr()}}
	}
	content, diags := b.Body.Content(variableSchema)
	var defaults *typeexpr.Defaults
	if a, ok := content.Attributes["type"]; ok {
		t, def, d := typeexpr.TypeConstraintWithDefaults(a.Expr)
		diags = append(diags, d...)
		v.Type, defaults = t, def
	}
	if a, ok := content.Attributes["description"]; ok {
		diags = append(diags, gohcl(a, &v.Description)...)
	}
	if a, ok := content.Attributes["sensitive"]; ok {
		diags = append(diags, gohcl(a, &v.Sensitive)...)
	}
	if a, ok := content.Attributes["default"]; ok {
		val, d := a.Expr.Value(nil)
		diags = append(diags, d...)
		if !d.HasErrors() {
			if defaults != nil {
				val = defaults.Apply(val)
			}
			conv, err := convert.Convert(val, v.Type)
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid default value for variable",
					Detail: fmt.Sprintf("This default value is not compatible with the variable's type: %s.", err), Subject: a.Expr.Range().Ptr()})
				v.Default = cty.UnknownVal(v.Type) // reported here, not again as missing
			} else {
				v.Default = conv
			}
		}
	}
	for _, vb := range content.Blocks {
		vc, d := vb.Body.Content(validationSchema)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		v.Validations = append(v.Validations, Validation{Condition: vc.Attributes["condition"].Expr, ErrorMessage: vc.Attributes["error_message"].Expr, DeclRange: vb.DefRange})
	}
	return v, diags
}

// gohcl decodes a literal attribute (no references allowed) into a Go string or bool.
func gohcl(a *hcl.Attribute, target any) hcl.Diagnostics {
	val, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		return diags
	}
	var want cty.Type
	switch target.(type) {
	case *string:
		want = cty.String
	case *bool:
		want = cty.Bool
	}
	val, err := convert.Convert(val, want)
	if err != nil || val.IsNull() {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Incorrect attribute value type",
			Detail: fmt.Sprintf("The %s argument must be a %s.", a.Name, want.FriendlyName()), Subject: a.Expr.Range().Ptr()}}
	}
	switch t := target.(type) {
	case *string:
		*t = val.AsString()
	case *bool:
		*t = val.True()
	}
	return nil
}

// assignVariables gives every variable its value. Precedence, lowest first,
// as in Terraform: the default, NETTEST_VAR_name, then --var and --var-file
// in the order given on the command line.
func (s *Suite) assignVariables(parser *hclparse.Parser, opts Options) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, v := range s.Variables {
		if v.Default != cty.NilVal {
			v.Value, v.Source = v.Default, "default"
		}
	}
	for _, kv := range opts.Env {
		name, raw, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		name = strings.TrimPrefix(name, EnvPrefix)
		if v, ok := s.Variables[name]; ok { // undeclared ones are ignored, as Terraform does with TF_VAR_
			diags = append(diags, v.setRaw(raw, EnvPrefix+name, &s.secrets)...)
		}
	}
	for _, arg := range opts.Vars {
		if arg.File != "" {
			diags = append(diags, s.readVarFile(parser, arg.File)...)
			continue
		}
		if arg.TerraformOutputs != "" {
			diags = append(diags, s.readTerraformOutputs(arg.TerraformOutputs)...)
			continue
		}
		v, ok := s.Variables[arg.Name]
		if !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Value for undeclared variable",
				Detail: fmt.Sprintf("A variable named %q was given with --var, but the suite declares no such variable.%s", arg.Name, s.suggestVariable(arg.Name))})
			continue
		}
		diags = append(diags, v.setRaw(arg.Value, "--var", &s.secrets)...)
	}
	for _, v := range s.variablesInOrder() {
		if v.Value == cty.NilVal && opts.UnknownVariables {
			v.Value, v.Source = cty.UnknownVal(v.Type), "no value (unknown)"
			s.unknownVariables = true
		}
		if v.Value == cty.NilVal {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No value for required variable",
				Detail:  fmt.Sprintf("The variable %q has no default, so it needs a value: --var %s=VALUE, --var-file FILE, or the environment variable %s%s.", v.Name, v.Name, EnvPrefix, v.Name),
				Subject: v.DeclRange.Ptr()})
			continue
		}
		if v.Sensitive {
			v.Value = v.Value.Mark(sensitiveMark)
			s.secrets.AddValue(v.Value)
		}
	}
	return diags
}

// variablesInOrder lists the variables in the order they are declared
// (file by file, as loaded), so that their diagnostics come in the same
// order on every run, not in a map's.
func (s *Suite) variablesInOrder() []*Variable {
	vs := make([]*Variable, 0, len(s.Variables))
	for _, v := range s.Variables {
		vs = append(vs, v)
	}
	file := map[string]int{}
	for i, name := range s.FileNames {
		file[name] = i
	}
	sort.Slice(vs, func(a, b int) bool {
		ra, rb := vs[a].DeclRange, vs[b].DeclRange
		if ra.Filename != rb.Filename {
			return file[ra.Filename] < file[rb.Filename]
		}
		return ra.Start.Byte < rb.Start.Byte
	})
	return vs
}

func (s *Suite) suggestVariable(name string) string {
	for _, v := range s.variablesInOrder() {
		n := v.Name
		if strings.EqualFold(n, name) || levenshtein.Distance(n, name, nil) <= 2 {
			return fmt.Sprintf(" Did you mean %q?", n)
		}
	}
	return ""
}

// setRaw sets the variable from a string given outside the files. A string
// variable takes it as it is; any other type parses it as an HCL expression,
// so --var 'ports=[80,443]' works as in Terraform.
func (v *Variable) setRaw(raw, source string, secrets *Secrets) hcl.Diagnostics {
	if v.Sensitive {
		secrets.Add(raw) // also when it turns out not to be valid
	}
	var val cty.Value
	if v.Type.IsPrimitiveType() || v.Type == cty.DynamicPseudoType {
		val = cty.StringVal(raw)
	} else {
		expr, diags := hclsyntax.ParseExpression([]byte(raw), source, hcl.Pos{Line: 1, Column: 1})
		if !diags.HasErrors() {
			val, diags = expr.Value(nil)
		}
		if diags.HasErrors() {
			v.Value, v.Source = cty.UnknownVal(v.Type), source // one error, not also "no value"
			return diags
		}
	}
	return v.set(val, source, nil, secrets)
}

// set converts val to the variable's type and makes it the value. The value
// of a sensitive variable joins the secrets first, also when it turns out
// not to be valid, since diagnostics may quote it.
func (v *Variable) set(val cty.Value, source string, subject *hcl.Range, secrets *Secrets) hcl.Diagnostics {
	if v.Sensitive {
		secrets.AddValue(val)
	}
	conv, err := convert.Convert(val, v.Type)
	if err != nil {
		// Unknown from now on: given, so not also "no value" (one error),
		// and whatever uses it is not checked against a wrong value.
		v.Value, v.Source = cty.UnknownVal(v.Type), source
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid value for variable",
			Detail:  fmt.Sprintf("The value for %q from %s is not a %s: %s.", v.Name, source, v.Type.FriendlyName(), err),
			Subject: subject}}
	}
	v.Value, v.Source = conv, source
	return nil
}

func (s *Suite) readVarFile(parser *hclparse.Parser, name string) hcl.Diagnostics {
	src, diags := ReadSource(name) // HCL's own message would not say why
	if diags.HasErrors() {
		for _, d := range diags {
			d.Summary = "Cannot read --var-file: " + strings.ToLower(d.Summary[:1]) + d.Summary[1:]
		}
		return diags
	}
	parse := parser.ParseHCL
	if strings.HasSuffix(name, ".json") {
		// JSON's values decode as HCL's would, and are converted to the
		// variable's type the same way.
		parse = parser.ParseJSON
	}
	f, diags := parse(src, name)
	if diags.HasErrors() {
		return diags
	}
	attrs, d := f.Body.JustAttributes()
	diags = append(diags, d...)
	for _, a := range attrs {
		val, d := a.Expr.Value(nil)
		diags = append(diags, d...)
		v, ok := s.Variables[a.Name]
		if d.HasErrors() {
			if ok {
				v.Value, v.Source = cty.UnknownVal(v.Type), name // one error, not also "no value"
			}
			continue
		}
		if !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Value for undeclared variable",
				Detail: fmt.Sprintf("The file sets %q, but the suite declares no such variable; the value is ignored.%s", a.Name, s.suggestVariable(a.Name)), Subject: a.NameRange.Ptr()})
			continue
		}
		diags = append(diags, v.set(val, name, a.Expr.Range().Ptr(), &s.secrets)...)
	}
	return diags
}

// variableObject is the value of `var` in expressions.
func (s *Suite) variableObject() cty.Value {
	attrs := make(map[string]cty.Value, len(s.Variables))
	for name, v := range s.Variables {
		if v.Value == cty.NilVal {
			attrs[name] = cty.UnknownVal(v.Type)
		} else {
			attrs[name] = v.Value
		}
	}
	return cty.ObjectVal(attrs)
}

// validateVariables runs every validation block with the final values.
func (s *Suite) validateVariables() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, v := range s.variablesInOrder() {
		for _, val := range v.Validations {
			ok, d := val.Condition.Value(s.ctx)
			diags = append(diags, d...)
			if d.HasErrors() {
				continue
			}
			ok, _ = ok.Unmark()
			if !ok.IsKnown() { // the variable has no value: reported already
				continue
			}
			if ok.Type() != cty.Bool || ok.IsNull() || !ok.IsKnown() {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid validation condition",
					Detail: "The condition must be a bool expression over var." + v.Name + ".", Subject: val.Condition.Range().Ptr()})
				continue
			}
			if ok.True() {
				continue
			}
			msg, d := showString(val.ErrorMessage, s.ctx)
			text := "The value does not pass this validation."
			if !d.HasErrors() && msg.Type() == cty.String && msg.IsKnown() && !msg.IsNull() {
				text = msg.AsString()
			}
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid value for variable",
				Detail:  fmt.Sprintf("%s\n\nThe value of var.%s comes from %s.", text, v.Name, v.Source),
				Subject: val.Condition.Range().Ptr()})
		}
	}
	return diags
}
