package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// terraformOutput is one output of `terraform output -json`: its value,
// the type Terraform recorded for it in cty's JSON type syntax (the format
// go-cty reads), and whether it is sensitive.
type terraformOutput struct {
	Sensitive bool            `json:"sensitive"`
	Type      json.RawMessage `json:"type"`
	Value     json.RawMessage `json:"value"`
}

// readTerraformOutputs gives each declared variable the value of the
// Terraform output of the same name, converted first with the type
// Terraform recorded and then to the variable's type. A sensitive output
// makes the variable sensitive, so its value never reaches a report even
// when the suite did not say so. Outputs without a variable are listed in
// UnusedOutputs.
func (s *Suite) readTerraformOutputs(name string) hcl.Diagnostics {
	src, err := os.ReadFile(name)
	if err != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read --terraform-outputs",
			Detail: capitalise(err.Error()) + "."}}
	}
	var outputs map[string]terraformOutput
	if err := json.Unmarshal(src, &outputs); err != nil {
		d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid --terraform-outputs file",
			Detail: fmt.Sprintf("%s is not the output of `terraform output -json` (an object of outputs, each with value, type and sensitive): %v.", name, err)}
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			d.Subject = offsetRange(name, src, syn.Offset-1) // the offset is past the bad byte
		case errors.As(err, &typ):
			d.Subject = offsetRange(name, src, typ.Offset)
		}
		return hcl.Diagnostics{d}
	}
	names := make([]string, 0, len(outputs))
	for n := range outputs {
		names = append(names, n)
	}
	sort.Strings(names)
	var diags hcl.Diagnostics
	source := "terraform output " + name
	for _, n := range names {
		out := outputs[n]
		v, ok := s.Variables[n]
		if !ok {
			s.UnusedOutputs = append(s.UnusedOutputs, n)
			continue
		}
		if out.Sensitive {
			v.Sensitive = true
		}
		invalid := func(why string) {
			v.Value, v.Source = cty.UnknownVal(v.Type), source // one error, not also "no value"
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid Terraform output",
				Detail: fmt.Sprintf("The output %q in %s %s.", n, name, why), Subject: v.DeclRange.Ptr()})
		}
		if len(out.Type) == 0 || len(out.Value) == 0 {
			invalid(`lacks "type" or "value": write the file with terraform output -json`)
			continue
		}
		ty, err := ctyjson.UnmarshalType(out.Type)
		if err != nil {
			invalid("has a type nettest cannot read: " + err.Error())
			continue
		}
		val, err := ctyjson.Unmarshal(out.Value, ty)
		if err != nil {
			invalid("does not hold a value of its type: " + err.Error())
			continue
		}
		diags = append(diags, v.set(val, source, nil, &s.secrets)...)
	}
	return diags
}

// offsetRange is the position of a byte offset in a file, for a diagnostic.
func offsetRange(name string, src []byte, offset int64) *hcl.Range {
	offset = min(max(offset, 0), int64(len(src)))
	before := src[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(offset) - bytes.LastIndexByte(before, '\n')
	pos := hcl.Pos{Line: line, Column: col, Byte: int(offset)}
	return &hcl.Range{Filename: name, Start: pos, End: pos}
}
