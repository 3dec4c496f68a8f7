package runner

import (
	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/schema"
)

// Redacted returns the outcome with every secret in secrets replaced in
// every text it holds: the message, the description, the tags, each diff
// (its values too) and every string inside the observed result. The runner calls it once per outcome,
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
	if !o.Result.IsNil() {
		o.Result = checks.ResultOf(secrets.RedactValue(o.Result.Value()))
	}
	if o.DiffValues != nil {
		values := make([]schema.DiffValues, len(o.DiffValues))
		for k, v := range o.DiffValues {
			values[k] = schema.DiffValues{Expected: secrets.RedactValue(v.Expected), Observed: secrets.RedactValue(v.Observed)}
		}
		o.DiffValues = values
	}
	if o.Tags != nil {
		tags := make([]string, len(o.Tags))
		for k, tag := range o.Tags {
			tags[k] = secrets.Redact(tag)
		}
		o.Tags = tags
	}
	return o
}
