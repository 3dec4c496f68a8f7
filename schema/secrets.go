package schema

import (
	"encoding/base64"
	"maps"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Redacted is what stands in every output for a secret.
const Redacted = "(sensitive value)"

// minSecretLen is the shortest string redacted: a secret of one or two
// characters would cut holes in every word of every report, and tells an
// onlooker next to nothing on its own.
const minSecretLen = 3

// Secrets is the set of strings that must never appear in any output: the
// values of sensitive variables and every string evaluated from one (a
// header "Basic ${base64encode(var.token)}" as a whole, a URL, a DNS name as
// sent). Matching ignores ASCII case, since some protocols answer in
// another case than they were asked in (DNS names come back lower-cased),
// and the forms a protocol puts a string in on the way (percent-encoding
// in a URL, base64 in a header) are added with it.
//
// The redaction boundary. Marks (cty's "sensitive") follow a secret through
// expressions, but not through a probe: what a server echoed back, an error
// text quoting a host, a diagnostic's source snippet. So every text that
// leaves nettest passes through Secrets at one of three places, and a new
// output must be fed from one of them rather than redact on its own:
//
//   - runner: each Outcome is redacted whole (Message, Description, Diffs
//     and every string inside the observed Result) where outcomes are
//     finished, before any reporter sees it. Console, --json, JUnit, and
//     every report built from Outcomes (HTML, annotations, merged shards)
//     get redacted text by construction.
//   - cmd: diagnostics are rendered to text and the text redacted, in the
//     one function that prints them (snippets of a --var-file line,
//     function errors quoting a value).
//   - cmd: `plan` output is built whole, then redacted before it is written.
//
// The set grows while the suite loads and while checks run (arguments that
// depend on another check are evaluated then), so it is safe for use by
// several goroutines. The zero value is an empty set.
type Secrets struct {
	mu   sync.RWMutex
	set  map[string]bool
	list []string // folded, longest first
}

// Add puts s, and the forms protocols encode it in, into the set. Strings
// shorter than three characters are ignored.
func (s *Secrets) Add(secret string) {
	if len(secret) < minSecretLen {
		return
	}
	forms := []string{secret, url.PathEscape(secret), url.QueryEscape(secret),
		base64.StdEncoding.EncodeToString([]byte(secret)), base64.RawURLEncoding.EncodeToString([]byte(secret))}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set == nil {
		s.set = map[string]bool{}
	}
	added := false
	for _, f := range forms {
		f = foldASCII(f)
		if len(f) >= minSecretLen && !s.set[f] {
			s.set[f] = true
			s.list = append(s.list, f)
			added = true
		}
	}
	if added {
		sort.Slice(s.list, func(a, b int) bool { return len(s.list[a]) > len(s.list[b]) })
	}
}

// AddValue adds every string inside v, marked or not.
func (s *Secrets) AddValue(v cty.Value) {
	v, _ = v.UnmarkDeep()
	if v.IsNull() || !v.IsKnown() {
		return
	}
	switch {
	case v.Type() == cty.String:
		s.Add(v.AsString())
	case v.CanIterateElements():
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if v.Type().IsMapType() {
				s.AddValue(k)
			}
			s.AddValue(e)
		}
	}
}

// AddMarked adds the strings inside v that are marked sensitive, or that
// sit inside a marked collection: the strings evaluated from a secret.
func (s *Secrets) AddMarked(v cty.Value) {
	if v.IsMarked() {
		s.AddValue(v)
		return
	}
	if v.IsNull() || !v.IsKnown() || !v.CanIterateElements() {
		return
	}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if k.IsMarked() {
			s.AddValue(k)
		}
		s.AddMarked(e)
	}
}

// Empty reports whether there is nothing to redact, so callers can skip
// walking large values.
func (s *Secrets) Empty() bool {
	if s == nil {
		return true
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.list) == 0
}

// Redact returns text with every secret in it replaced by Redacted.
// Overlapping secrets are replaced as one.
func (s *Secrets) Redact(text string) string {
	if s.Empty() || len(text) < minSecretLen {
		return text
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	folded := foldASCII(text)
	var cover []bool // bytes of text inside a secret
	for _, secret := range s.list {
		for from := 0; from+len(secret) <= len(folded); {
			at := indexFrom(folded, secret, from)
			if at < 0 {
				break
			}
			if cover == nil {
				cover = make([]bool, len(text))
			}
			for k := at; k < at+len(secret); k++ {
				cover[k] = true
			}
			from = at + 1
		}
	}
	if cover == nil {
		return text
	}
	out := make([]byte, 0, len(text))
	for k := 0; k < len(text); k++ {
		if !cover[k] {
			out = append(out, text[k])
			continue
		}
		out = append(out, Redacted...)
		for k+1 < len(text) && cover[k+1] {
			k++
		}
	}
	return string(out)
}

// RedactValue returns v with Redact applied to every string inside it, map
// keys included, and every number whose decimal text is a secret (a
// sensitive port, echoed in a result's "port") replaced by the string
// Redacted. A list, set or map whose elements then differ in type becomes a
// tuple or an object. Marks are kept.
func (s *Secrets) RedactValue(v cty.Value) cty.Value {
	if s.Empty() || v == cty.NilVal {
		return v
	}
	v, marks := v.Unmark()
	if v.IsNull() || !v.IsKnown() {
		return v.WithMarks(marks)
	}
	t := v.Type()
	var out cty.Value
	switch {
	case t == cty.String:
		out = cty.StringVal(s.Redact(v.AsString()))
	case t == cty.Number:
		out = v
		if s.isSecret(v.AsBigFloat().Text('f', -1)) {
			out = cty.StringVal(Redacted)
		}
	case t.IsObjectType():
		attrs := make(map[string]cty.Value, len(t.AttributeTypes()))
		for name := range t.AttributeTypes() {
			attrs[name] = s.RedactValue(v.GetAttr(name))
		}
		out = cty.ObjectVal(attrs)
	case t.IsMapType():
		m := map[string]cty.Value{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			m[s.Redact(k.AsString())] = s.RedactValue(e)
		}
		switch {
		case len(m) == 0:
			out = v
		case sameTypes(slices.Collect(maps.Values(m))):
			out = cty.MapVal(m)
		default:
			out = cty.ObjectVal(m)
		}
	case t.IsListType() || t.IsSetType() || t.IsTupleType():
		var elems []cty.Value
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			elems = append(elems, s.RedactValue(e))
		}
		switch {
		case len(elems) == 0:
			out = v
		case !t.IsTupleType() && !sameTypes(elems):
			out = cty.TupleVal(elems)
		case t.IsListType():
			out = cty.ListVal(elems)
		case t.IsSetType():
			out = cty.SetVal(elems)
		default:
			out = cty.TupleVal(elems)
		}
	default:
		out = v
	}
	return out.WithMarks(marks)
}

// foldASCII lower-cases ASCII letters only, so that byte offsets in the
// folded string are those of the original.
func foldASCII(s string) string {
	for k := 0; k < len(s); k++ {
		if c := s[k]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := k; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func indexFrom(s, sub string, from int) int {
	at := strings.Index(s[from:], sub)
	if at < 0 {
		return -1
	}
	return from + at
}

// showString evaluates a string expression for display: a description or an
// error_message. When the value is marked sensitive, a template is shown
// with each part that is marked replaced by Redacted ("rejected ${var.token}"
// reads "rejected (sensitive value)"), so the message keeps what it says
// without the secret; any other marked expression reads Redacted whole.
func showString(expr hcl.Expression, ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	v, diags := expr.Value(ctx)
	if diags.HasErrors() || !v.ContainsMarked() {
		return v, diags
	}
	if !v.IsWhollyKnown() {
		plain, _ := v.UnmarkDeep()
		return plain, diags
	}
	tmpl, ok := expr.(*hclsyntax.TemplateExpr)
	if !ok {
		return cty.StringVal(Redacted), diags
	}
	var b strings.Builder
	for _, part := range tmpl.Parts {
		pv, d := part.Value(ctx)
		if d.HasErrors() {
			return cty.StringVal(Redacted), diags
		}
		if pv.ContainsMarked() {
			b.WriteString(Redacted)
			continue
		}
		s, err := convert.Convert(pv, cty.String)
		if err != nil || s.IsNull() || !s.IsKnown() {
			return cty.StringVal(Redacted), diags
		}
		b.WriteString(s.AsString())
	}
	return cty.StringVal(b.String()), diags
}

// shownExpr is an expression whose value is its showString rendering.
type shownExpr struct{ hcl.Expression }

func (e shownExpr) Value(ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	return showString(e.Expression, ctx)
}

// isSecret reports whether text, whole, is a secret.
func (s *Secrets) isSecret(text string) bool {
	if len(text) < minSecretLen {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.set[foldASCII(text)]
}

// sameTypes reports whether the values all have one type, as cty's lists,
// sets and maps require.
func sameTypes(values []cty.Value) bool {
	for _, v := range values {
		if !v.Type().Equals(values[0].Type()) {
			return false
		}
	}
	return true
}
