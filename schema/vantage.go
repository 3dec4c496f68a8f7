package schema

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/internal/dag"
	"github.com/zclconf/go-cty/cty"
)

// Vantage is a vantage block: a place other than here that checks can run
// from (their `from` meta-argument). Exactly one of Netns, NetnsPath, SSH and
// Exec says how to get there. Loading only decodes and checks the block;
// nothing connects to a vantage before a check of the run uses it.
type Vantage struct {
	Name        string
	Description string
	// DeclRange is the block's header, `vantage "bastion"`.
	DeclRange hcl.Range

	// Netns is the name of a network namespace, as `ip netns` lists it.
	Netns string
	// NetnsPath is a network namespace file, such as /proc/PID/ns/net.
	NetnsPath string
	SSH       *SSHVantage
	Exec      *ExecVantage
}

// Transport is the vantage's way there in a word: "netns", "ssh" or "exec".
func (v *Vantage) Transport() string {
	switch {
	case v.SSH != nil:
		return "ssh"
	case v.Exec != nil:
		return "exec"
	}
	return "netns"
}

// Where is a short description of the way there, for the plan:
// "netns blue", "ssh ci@198.18.1.2:22", "exec kubectl exec -i …".
func (v *Vantage) Where() string {
	switch {
	case v.SSH != nil:
		w := fmt.Sprintf("ssh %s@%s:%d", v.SSH.User, v.SSH.Host, v.SSH.Port)
		if v.SSH.Jump != "" {
			w += " via " + v.SSH.Jump
		}
		return w
	case v.Exec != nil:
		return "exec " + strings.Join(v.Exec.Command, " ")
	case v.NetnsPath != "":
		return "netns " + v.NetnsPath
	}
	return "netns " + v.Netns
}

// SSHVantage is the ssh block of a vantage: a host reached with OpenSSH's
// protocol, its host key always verified against known_hosts.
type SSHVantage struct {
	Host string
	Port int
	User string
	// PrivateKeyFile is the path of a private key, resolved against the
	// directory of the suite file that names it.
	PrivateKeyFile string
	// Agent offers the keys of the SSH agent at $SSH_AUTH_SOCK.
	Agent bool
	// KnownHostsFile is the known_hosts file, resolved like PrivateKeyFile;
	// empty means ~/.ssh/known_hosts.
	KnownHostsFile string
	// Jump names another ssh vantage to connect through (ProxyJump).
	Jump string
	// AgentPath is a nettest binary already on the host; empty means the
	// running binary is copied across for the run.
	AgentPath string
}

// ExecVantage is the exec block of a vantage: a command (kubectl exec -i,
// docker exec -i, nsenter, ip netns exec) whose standard input and output
// reach a shell or a program in the other place.
type ExecVantage struct {
	Command   []string
	AgentPath string
}

var vantageSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "description"}, {Name: "netns"}, {Name: "netns_path"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "ssh"}, {Type: "exec"}},
}

var sshSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "host", Required: true}, {Name: "port"}, {Name: "user", Required: true},
	{Name: "private_key_file"}, {Name: "agent"}, {Name: "known_hosts_file"},
	{Name: "jump"}, {Name: "agent_path"},
}}

var execSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "command", Required: true}, {Name: "agent_path"},
}}

// vantageObject is the value of `vantage` in expressions: each declared
// vantage's name under its name, so `from = vantage.bastion` and
// `from = vantage[each.key]` both give the name of a declared vantage.
//
// vantage.here is null: where nettest runs, the place of a check without
// `from`, so a matrix can list it beside the vantages:
// for_each = { here = "filtered", bastion = "open" }.
func (s *Suite) vantageObject() cty.Value {
	attrs := make(map[string]cty.Value, len(s.Vantages)+1)
	for name := range s.Vantages {
		attrs[name] = cty.StringVal(name)
	}
	attrs[Here] = cty.NullVal(cty.String)
	return cty.ObjectVal(attrs)
}

// Here is the name of the place nettest runs, as vantage.here; no vantage
// block may take it.
const Here = "here"

// declareVantages registers the names of the vantage blocks, so that
// `vantage.NAME` resolves wherever it is used; decodeVantages reads their
// bodies once variables and locals have values.
func (s *Suite) declareVantages(blocks []*hcl.Block) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, b := range blocks {
		if b.Type != "vantage" {
			continue
		}
		v := &Vantage{Name: b.Labels[0], DeclRange: b.DefRange}
		if !hclsyntax.ValidIdentifier(v.Name) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid vantage name",
				Detail: "A name must start with a letter or underscore and may contain only letters, digits, underscores and dashes; checks refer to it as vantage.NAME.", Subject: b.LabelRanges[0].Ptr()})
			continue
		}
		if v.Name == Here {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Reserved vantage name",
				Detail: "vantage.here is where nettest itself runs, the place of checks without from; give this vantage another name.", Subject: b.LabelRanges[0].Ptr()})
			continue
		}
		if prev, dup := s.Vantages[v.Name]; dup {
			diags = append(diags, duplicate("vantage", v.Name, v.DeclRange, prev.DeclRange))
			continue
		}
		s.Vantages[v.Name] = v
		s.vantageBlocks = append(s.vantageBlocks, b)
	}
	return diags
}

// decodeVantages decodes each vantage block's body. Values may use
// variables and locals; when one has no value yet (validate without
// --var), the checks that need it are left for the run.
func (s *Suite) decodeVantages() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, b := range s.vantageBlocks {
		v := s.Vantages[b.Labels[0]]
		content, d := b.Body.Content(vantageSchema)
		diags = append(diags, d...)
		diags = append(diags, s.vantageString(content.Attributes["description"], &v.Description)...)
		var ways []hcl.Range
		if a := content.Attributes["netns"]; a != nil {
			ways = append(ways, a.NameRange)
			diags = append(diags, s.vantageString(a, &v.Netns)...)
			if v.Netns != "" && (strings.ContainsAny(v.Netns, "/\x00") || v.Netns == "." || v.Netns == "..") {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid network namespace name",
					Detail: fmt.Sprintf("%q is not a name `ip netns` could list; for a namespace file, write netns_path = %q.", v.Netns, v.Netns), Subject: a.Expr.Range().Ptr()})
			}
		}
		if a := content.Attributes["netns_path"]; a != nil {
			ways = append(ways, a.NameRange)
			diags = append(diags, s.vantageString(a, &v.NetnsPath)...)
			if v.NetnsPath != "" && !filepath.IsAbs(v.NetnsPath) {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid network namespace path",
					Detail: fmt.Sprintf("netns_path must be an absolute path, such as /proc/PID/ns/net or /run/netns/NAME; %q is not.", v.NetnsPath), Subject: a.Expr.Range().Ptr()})
			}
		}
		for _, blk := range content.Blocks {
			ways = append(ways, blk.DefRange)
			switch blk.Type {
			case "ssh":
				if v.SSH != nil {
					continue // reported below as a second way there
				}
				v.SSH = &SSHVantage{Port: 22}
				diags = append(diags, s.decodeSSH(blk, v.SSH)...)
			case "exec":
				if v.Exec != nil {
					continue
				}
				v.Exec = &ExecVantage{}
				diags = append(diags, s.decodeExec(blk, v.Exec)...)
			}
		}
		switch {
		case len(ways) == 0 && !d.HasErrors():
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Vantage without a way there",
				Detail: fmt.Sprintf("The vantage %q needs exactly one of netns = \"NAME\", netns_path = \"/proc/PID/ns/net\", an ssh { … } block or an exec { … } block.", v.Name), Subject: v.DeclRange.Ptr()})
		case len(ways) > 1:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "More than one way to a vantage",
				Detail: fmt.Sprintf("The vantage %q is given more than one of netns, netns_path, ssh and exec; a vantage is one place, reached one way. Declare a vantage for each.", v.Name), Subject: ways[1].Ptr()})
		}
	}
	diags = append(diags, s.checkJumps()...)
	return diags
}

func (s *Suite) decodeSSH(b *hcl.Block, ssh *SSHVantage) hcl.Diagnostics {
	content, diags := b.Body.Content(sshSchema)
	attrs := content.Attributes
	diags = append(diags, s.vantageString(attrs["host"], &ssh.Host)...)
	diags = append(diags, s.vantageString(attrs["user"], &ssh.User)...)
	diags = append(diags, s.vantageString(attrs["agent_path"], &ssh.AgentPath)...)
	if a := attrs["port"]; a != nil {
		if v, d := s.vantageValue(a, cty.Number); d.HasErrors() {
			diags = append(diags, d...)
		} else if v != cty.NilVal {
			if err := checks.ValidPort(v); err != nil {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid SSH port",
					Detail: capitalise(err.Error()) + ".", Subject: a.Expr.Range().Ptr()})
			} else {
				n, _ := v.AsBigFloat().Int64()
				ssh.Port = int(n)
			}
		}
	}
	if a := attrs["agent"]; a != nil {
		if v, d := s.vantageValue(a, cty.Bool); d.HasErrors() {
			diags = append(diags, d...)
		} else if v != cty.NilVal {
			ssh.Agent = v.True()
		}
	}
	dir := filepath.Dir(b.DefRange.Filename)
	relative := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) && !strings.HasPrefix(*p, "~/") {
			*p = filepath.Join(dir, *p)
		}
	}
	diags = append(diags, s.vantageString(attrs["private_key_file"], &ssh.PrivateKeyFile)...)
	relative(&ssh.PrivateKeyFile)
	diags = append(diags, s.vantageString(attrs["known_hosts_file"], &ssh.KnownHostsFile)...)
	relative(&ssh.KnownHostsFile)
	if a := attrs["jump"]; a != nil {
		diags = append(diags, s.vantageRefs(a.Expr)...)
		if !diags.HasErrors() {
			diags = append(diags, s.vantageString(a, &ssh.Jump)...)
		}
	}
	_, hasKey := attrs["private_key_file"]
	_, hasAgent := attrs["agent"]
	if !hasKey && !hasAgent && !diags.HasErrors() {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "SSH vantage without a key",
			Detail: "Say which key logs in: private_key_file = \"keys/id_ed25519\", or agent = true for the keys of the SSH agent at $SSH_AUTH_SOCK. nettest never asks for a password.", Subject: b.DefRange.Ptr()})
	}
	return diags
}

func (s *Suite) decodeExec(b *hcl.Block, ex *ExecVantage) hcl.Diagnostics {
	content, diags := b.Body.Content(execSchema)
	diags = append(diags, s.vantageString(content.Attributes["agent_path"], &ex.AgentPath)...)
	if a := content.Attributes["command"]; a != nil {
		v, d := s.vantageValue(a, cty.List(cty.String))
		diags = append(diags, d...)
		if !d.HasErrors() && v != cty.NilVal {
			ex.Command = checks.Strings(v)
			if len(ex.Command) == 0 || ex.Command[0] == "" {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Empty exec command",
					Detail: "command is the program and its arguments that reach the other place, such as [\"kubectl\", \"exec\", \"-i\", \"deploy/app\", \"--\"]; nettest appends the agent's command line to it.", Subject: a.Expr.Range().Ptr()})
			}
		}
	}
	return diags
}

// checkJumps makes sure each jump names an ssh vantage and that jumps do
// not go round in a circle: the jumps are a graph of vantages, and a
// vantage the graph cannot order is on a cycle of jump hosts or reaches one.
func (s *Suite) checkJumps() hcl.Diagnostics {
	names := make([]string, 0, len(s.Vantages))
	for name := range s.Vantages {
		names = append(names, name)
	}
	sort.Strings(names)
	jump := func(name string) []string {
		v := s.Vantages[name]
		if v.SSH == nil || v.SSH.Jump == "" {
			return nil
		}
		if j := s.Vantages[v.SSH.Jump]; j == nil || j.SSH == nil {
			return nil
		}
		return []string{v.SSH.Jump}
	}
	order, _ := dag.New(names, jump).Order()
	ordered := make(map[string]bool, len(order))
	for _, name := range order {
		ordered[name] = true
	}
	var diags hcl.Diagnostics
	for _, name := range names {
		v := s.Vantages[name]
		switch {
		case v.SSH != nil && v.SSH.Jump != "" && jump(name) == nil:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Jump through a vantage that is not ssh",
				Detail: fmt.Sprintf("The vantage %q jumps through %q, which is not reached over ssh; jump names another vantage with an ssh block.", name, v.SSH.Jump), Subject: v.DeclRange.Ptr()})
		case !ordered[name]:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cycle of jump hosts",
				Detail: fmt.Sprintf("The vantage %q reaches itself through its jump hosts; one of them must be reached directly.", name), Subject: v.DeclRange.Ptr()})
		}
	}
	return diags
}

// vantageString evaluates an optional string attribute of a vantage; an
// absent or not yet known one leaves target as it is.
func (s *Suite) vantageString(a *hcl.Attribute, target *string) hcl.Diagnostics {
	if a == nil {
		return nil
	}
	v, diags := s.vantageValue(a, cty.String)
	if !diags.HasErrors() && v != cty.NilVal {
		*target = v.AsString()
	}
	return diags
}

// vantageValue evaluates a vantage attribute. It returns cty.NilVal with no
// error when the value is not known for want of a variable's value.
func (s *Suite) vantageValue(a *hcl.Attribute, typ cty.Type) (cty.Value, hcl.Diagnostics) {
	v, diags := a.Expr.Value(s.ctx)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	if !v.IsWhollyKnown() && s.incomplete {
		return cty.NilVal, nil
	}
	if v.ContainsMarked() {
		// The values of a vantage show in the plan and in messages.
		return cty.NilVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Sensitive value in a vantage",
			Detail: fmt.Sprintf("%s cannot be a sensitive value: it is shown in the plan and in error messages.", a.Name), Subject: a.Expr.Range().Ptr()}}
	}
	return evalKnown(a, s.ctx, typ)
}

// vantageRefs reports references to vantages that are not declared, with
// a suggestion, before evaluation gives HCL's less helpful message.
func (s *Suite) vantageRefs(expr hcl.Expression) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, t := range expr.Variables() {
		if t.RootName() != "vantage" || len(t) < 2 {
			continue
		}
		attr, ok := t[1].(hcl.TraverseAttr)
		if !ok {
			continue
		}
		if _, declared := s.Vantages[attr.Name]; !declared && attr.Name != Here {
			diags = append(diags, s.undeclaredVantage(attr.Name, t.SourceRange()))
		}
	}
	return diags
}

func (s *Suite) undeclaredVantage(name string, at hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Reference to undeclared vantage",
		Detail: fmt.Sprintf("No vantage named %q is declared.%s", name, s.suggestVantage(name)), Subject: at.Ptr()}
}

func (s *Suite) suggestVantage(name string) string {
	best, bestDist := "", 3
	for n := range s.Vantages {
		if d := levenshtein.Distance(n, name, nil); d < bestDist || (d == bestDist && n < best) {
			best, bestDist = n, d
		}
	}
	if best == "" {
		if len(s.Vantages) == 0 {
			return " Declare it with a vantage \"" + name + "\" { … } block."
		}
		return ""
	}
	return fmt.Sprintf(" Did you mean vantage.%s?", best)
}

// evalFrom evaluates a `from` meta-argument: the name of a declared vantage,
// known before the run, or null for here. It returns ok false when the
// value cannot be known yet for want of a variable's value.
func (s *Suite) evalFrom(a *hcl.Attribute, ctx *hcl.EvalContext) (name string, ok bool, diags hcl.Diagnostics) {
	if diags = s.vantageRefs(a.Expr); diags.HasErrors() {
		return "", false, diags
	}
	v, diags := a.Expr.Value(ctx)
	if diags.HasErrors() {
		for _, d := range diags {
			if d.Summary == "Invalid index" {
				// vantage[each.key] with a key that names no vantage.
				d.Summary = "Reference to undeclared vantage"
				d.Detail = "The key names no declared vantage; the vantages are " + s.vantageNames() + "."
			}
		}
		return "", false, diags
	}
	if !v.IsWhollyKnown() && s.incomplete {
		return "", false, nil
	}
	v, _ = v.UnmarkDeep()
	if v.IsKnown() && v.IsNull() {
		return "", true, nil // null: here, also when defaults say otherwise
	}
	v, diags = evalKnown(a, ctx, cty.String)
	if diags.HasErrors() {
		for _, d := range diags {
			d.Detail += " Write from = vantage.NAME."
		}
		return "", false, diags
	}
	name = v.AsString()
	if _, declared := s.Vantages[name]; !declared {
		return "", false, hcl.Diagnostics{s.undeclaredVantage(name, a.Expr.Range())}
	}
	return name, true, nil
}

// vantageNames lists the declared vantages for a message: "vantage.a, vantage.b".
func (s *Suite) vantageNames() string {
	if len(s.Vantages) == 0 {
		return "none (declare one with a vantage \"NAME\" { … } block)"
	}
	names := make([]string, 0, len(s.Vantages))
	for n := range s.Vantages {
		names = append(names, "vantage."+n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
