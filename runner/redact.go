package runner

import (
	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/schema"
)

// Redacted returns the outcome with every secret in secrets replaced in
// every text it holds: the message, the description, each diff and every
// string inside the observed result. The runner calls it once per outcome,
// before any reporter sees it; that is the redaction boundary of reports
// (see schema.Secrets), so a field added to Outcome must be redacted here.
func (o Outcome) Redacted(secrets *schema.Secrets) Outcome {
	if secrets.Empty() {
		return o
	}
	o.Message = secrets.Redact(o.Message)
	o.Description = secrets.Redact(o.Description)
	if o.Diffs != nil {
		diffs := make([]checks.Diff, len(o.Diffs))
		for k, d := range o.Diffs {
			d.Field = secrets.Redact(d.Field)
			d.Expected = secrets.Redact(d.Expected)
			d.Actual = secrets.Redact(d.Actual)
			diffs[k] = d
		}
		o.Diffs = diffs
	}
	o.Result = secrets.RedactValue(o.Result)
	return o
}
