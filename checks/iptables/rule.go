package iptables

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// token is one word of a rule, with quotes removed. Quoted words are always
// values (a comment may start with a dash), and the byte offsets let a
// counter pair be cut out of a listed line without re-quoting the rest.
type token struct {
	text       string
	quoted     bool
	start, end int
}

// split breaks a rule into words the way a POSIX shell would, since users
// copy rules from shell scripts and iptables -S prints them in the same
// quoting: single quotes, double quotes with backslash escapes, and
// backslash escapes outside quotes.
func split(s string) ([]token, error) {
	var out []token
	var cur strings.Builder
	in := false // inside a word
	var t token
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if in {
				t.text, t.end = cur.String(), i
				out = append(out, t)
				cur.Reset()
				in = false
			}
		case c == '\'':
			if !in {
				t, in = token{start: i}, true
			}
			t.quoted = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated single quote at column %d", i+1)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			if !in {
				t, in = token{start: i}, true
			}
			t.quoted = true
			closed := false
			for i++; i < len(s); i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					cur.WriteByte(s[i+1])
					i++
					continue
				}
				if s[i] == '"' {
					closed = true
					break
				}
				cur.WriteByte(s[i])
			}
			if !closed {
				return nil, fmt.Errorf("unterminated double quote")
			}
		case c == '\\' && i+1 < len(s):
			if !in {
				t, in = token{start: i}, true
			}
			cur.WriteByte(s[i+1])
			i++
		default:
			if !in {
				t, in = token{start: i}, true
			}
			cur.WriteByte(c)
		}
	}
	if in {
		t.text, t.end = cur.String(), len(s)
		out = append(out, t)
	}
	return out, nil
}

// words returns the texts of tokens: the argument vector iptables receives.
func words(ts []token) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.text
	}
	return out
}

// option is one option of a rule with its values, such as ! --dport 80.
type option struct {
	neg  bool
	name string
	args []string
}

func (o option) String() string {
	s := o.name
	if o.neg {
		s = "! " + s
	}
	for _, a := range o.args {
		s += " " + a
	}
	return s
}

// match is one match extension (-m NAME) and the options given to it.
type match struct {
	name string
	opts []option
}

// rule is a rule taken apart the way iptables groups it: the basic options
// every rule has (-s, -d, -i, -o, -p, -f), the match extensions, and the
// target with its options. Comparing rules part by part, each part as a set,
// makes "-p tcp --dport 80" and "-p tcp -m tcp --destination-port 80" equal,
// as they are to the kernel.
type rule struct {
	basic      []option
	matches    []match
	target     string
	targetOpts []option
	// counted is true when the listing carried counters (-c PACKETS BYTES).
	counted        bool
	packets, bytes int64
}

// basicNames maps every spelling of the basic options to the one iptables
// prints.
var basicNames = map[string]string{
	"-s": "-s", "--source": "-s", "--src": "-s",
	"-d": "-d", "--destination": "-d", "--dst": "-d",
	"-i": "-i", "--in-interface": "-i",
	"-o": "-o", "--out-interface": "-o",
	"-p": "-p", "--protocol": "-p",
	"-f": "-f", "--fragment": "-f",
}

// optionNames maps long or alternative option names of common extensions to
// the names iptables prints.
var optionNames = map[string]string{
	"--destination-port":  "--dport",
	"--source-port":       "--sport",
	"--destination-ports": "--dports",
	"--source-ports":      "--sports",
	"--to-port":           "--to-ports",
}

// protocolOptions are the options a protocol match (-m tcp, -m udp, …)
// takes; written without -m, iptables loads the match named by -p itself.
var protocolOptions = map[string]bool{
	"--dport": true, "--sport": true, "--syn": true, "--tcp-flags": true,
	"--tcp-option": true, "--icmp-type": true, "--icmpv6-type": true, "--chunk-types": true,
}

// protocolNumbers maps protocol numbers to the names iptables prints.
var protocolNumbers = map[string]string{
	"1": "icmp", "6": "tcp", "17": "udp", "33": "dccp", "58": "ipv6-icmp",
	"132": "sctp", "136": "udplite", "icmpv6": "ipv6-icmp",
}

// parseRule takes apart a rule specification: the words after "-A CHAIN",
// as a user writes them or as iptables -S lists them. ipv6 picks the default
// reject message.
func parseRule(ts []token, ipv6 bool) (rule, error) {
	var r rule
	cur := -1 // index in r.matches of the match options go to; -1 for none
	afterTarget := false
	for i := 0; i < len(ts); {
		neg := false
		if !ts[i].quoted && ts[i].text == "!" {
			neg = true
			i++
			if i == len(ts) {
				return r, fmt.Errorf(`"!" at the end of the rule negates nothing`)
			}
		}
		t := ts[i]
		if t.quoted || !strings.HasPrefix(t.text, "-") || t.text == "-" {
			return r, fmt.Errorf("%q is not an option (options start with - or --; quote values that contain spaces)", t.text)
		}
		name := t.text
		i++
		var args []string
		for i < len(ts) && (ts[i].quoted || !isOption(ts[i].text)) {
			args = append(args, ts[i].text)
			i++
		}
		switch {
		case name == "-c" || name == "--set-counters":
			if len(args) == 2 {
				p, err1 := strconv.ParseInt(args[0], 10, 64)
				b, err2 := strconv.ParseInt(args[1], 10, 64)
				if err1 == nil && err2 == nil {
					r.counted, r.packets, r.bytes = true, p, b
				}
			}
		case basicNames[name] != "":
			o := option{neg: neg, name: basicNames[name], args: args}
			canonicalBasic(&o)
			r.basic = append(r.basic, o)
		case name == "-m" || name == "--match":
			if len(args) != 1 {
				return r, fmt.Errorf("%s needs one match name", name)
			}
			r.matches = append(r.matches, match{name: strings.ToLower(args[0])})
			cur = len(r.matches) - 1
		case name == "-j" || name == "--jump" || name == "-g" || name == "--goto":
			if len(args) != 1 {
				return r, fmt.Errorf("%s needs one target", name)
			}
			r.target = args[0]
			if name == "-g" || name == "--goto" {
				r.target = "goto " + args[0]
			}
			afterTarget = true
		case name == "-t" || name == "--table":
			return r, fmt.Errorf("the table goes in the table argument, not in the rule")
		case name == "-A" || name == "--append" || name == "-I" || name == "--insert" || name == "-C" || name == "--check" || name == "-D" || name == "--delete":
			return r, fmt.Errorf("write the rule without %s and the chain: the chain goes in the chain argument", name)
		case name == "-4" || name == "-6" || name == "--ipv4" || name == "--ipv6":
			// Family selectors only say which of iptables and ip6tables
			// reads the rule; the ipv6 argument says that here.
		default:
			o := option{neg: neg, name: name, args: args}
			if n, ok := optionNames[o.name]; ok {
				o.name = n
			}
			if afterTarget {
				r.targetOpts = append(r.targetOpts, o)
				continue
			}
			if protocolOptions[o.name] && (cur < 0 || !isProtocolMatch(r.matches[cur].name)) {
				cur = r.protocolMatch()
			}
			if cur < 0 {
				return r, fmt.Errorf("%s needs a match first (-m NAME, or -p PROTOCOL for port options)", o.name)
			}
			canonicalMatchOption(&o)
			r.matches[cur].opts = append(r.matches[cur].opts, o)
		}
	}
	r.canonicalTarget(ipv6)
	return r, nil
}

// isOption tells an option name from a value: values such as "-1" or "-"
// are rare but possible.
func isOption(s string) bool {
	if s == "!" {
		return true
	}
	if len(s) < 2 || s[0] != '-' {
		return false
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return false
	}
	return true
}

func isProtocolMatch(name string) bool {
	switch name {
	case "tcp", "udp", "sctp", "dccp", "udplite", "icmp", "icmp6", "ipv6-icmp":
		return true
	}
	return false
}

// protocolMatch returns the index of the implicit protocol match, the one
// iptables loads for --dport and friends written without -m, creating it.
func (r *rule) protocolMatch() int {
	proto := ""
	for _, o := range r.basic {
		if o.name == "-p" && len(o.args) == 1 {
			proto = o.args[0]
		}
	}
	if proto == "" {
		return -1
	}
	if proto == "ipv6-icmp" {
		proto = "icmp6"
	}
	for i, m := range r.matches {
		if m.name == proto {
			return i
		}
	}
	r.matches = append(r.matches, match{name: proto})
	return len(r.matches) - 1
}

// canonicalBasic writes a basic option's value as iptables lists it:
// protocol names in lower case, addresses with a prefix length.
func canonicalBasic(o *option) {
	if len(o.args) != 1 {
		return
	}
	v := o.args[0]
	switch o.name {
	case "-p":
		v = strings.ToLower(v)
		if n, ok := protocolNumbers[v]; ok {
			v = n
		}
	case "-s", "-d":
		v = canonicalNet(v)
	}
	o.args[0] = v
}

// canonicalNet writes 10.0.0.1 as 10.0.0.1/32 and 10.0.0.0/255.0.0.0 as
// 10.0.0.0/8; names and anything else are left alone.
func canonicalNet(v string) string {
	addr, mask, hasMask := strings.Cut(v, "/")
	ip := net.ParseIP(addr)
	if ip == nil {
		return v
	}
	bits := 128
	if ip4 := ip.To4(); ip4 != nil {
		ip, bits = ip4, 32
	}
	ones := bits
	if hasMask {
		if n, err := strconv.Atoi(mask); err == nil {
			ones = n
		} else if m := net.ParseIP(mask); m != nil {
			if m4 := m.To4(); m4 != nil && bits == 32 {
				m = m4
			}
			ones, _ = net.IPMask(m).Size()
		} else {
			return v
		}
	}
	n := &net.IPNet{IP: ip.Mask(net.CIDRMask(ones, bits)), Mask: net.CIDRMask(ones, bits)}
	return n.String()
}

// canonicalMatchOption rewrites the option spellings iptables expands when
// listing: --syn is listed as the flags it stands for, and port ranges
// written with a dash are listed with a colon.
func canonicalMatchOption(o *option) {
	switch o.name {
	case "--syn":
		o.name, o.args = "--tcp-flags", []string{"FIN,SYN,RST,ACK", "SYN"}
	case "--dport", "--sport":
		if len(o.args) == 1 {
			o.args[0] = strings.Replace(o.args[0], "-", ":", 1)
		}
	}
}

// canonicalTarget adds the option values iptables fills in by default, so a
// rule written "-j REJECT" equals the listed "-j REJECT --reject-with
// icmp-port-unreachable".
func (r *rule) canonicalTarget(ipv6 bool) {
	for i, o := range r.targetOpts {
		if r.target == "DNAT" && o.name == "--to" {
			r.targetOpts[i].name = "--to-destination"
		}
		if r.target == "SNAT" && o.name == "--to" {
			r.targetOpts[i].name = "--to-source"
		}
	}
	if r.target == "REJECT" && len(r.targetOpts) == 0 {
		with := "icmp-port-unreachable"
		if ipv6 {
			with = "icmp6-port-unreachable"
		}
		r.targetOpts = []option{{name: "--reject-with", args: []string{with}}}
	}
}

// key is the rule's canonical text: each part sorted, so two spellings of the
// same rule have the same key. Match order does not change which packets a
// rule takes (matches are and-ed), so it does not count either.
func (r rule) key() string {
	basic := optionStrings(r.basic)
	ms := make([]string, len(r.matches))
	for i, m := range r.matches {
		ms[i] = "-m " + m.name + " " + strings.Join(optionStrings(m.opts), " ")
	}
	sort.Strings(ms)
	return strings.Join(basic, " ") + " | " + strings.Join(ms, " | ") + " | -j " + r.target + " " + strings.Join(optionStrings(r.targetOpts), " ")
}

// parts returns the rule's canonical pieces, for a similarity score.
func (r rule) parts() []string {
	out := optionStrings(r.basic)
	for _, m := range r.matches {
		out = append(out, "-m "+m.name)
		for _, o := range m.opts {
			out = append(out, m.name+" "+o.String())
		}
	}
	out = append(out, "-j "+r.target)
	return append(out, optionStrings(r.targetOpts)...)
}

func optionStrings(os []option) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = o.String()
	}
	sort.Strings(out)
	return out
}

// similarity scores how alike two rules are, from 0 to 1 (Jaccard index of
// their parts). It picks the listed rule that iptables -C found when no
// listed rule has exactly the key of the rule the user wrote.
func similarity(a, b rule) float64 {
	as, bs := map[string]bool{}, map[string]bool{}
	for _, p := range a.parts() {
		as[p] = true
	}
	for _, p := range b.parts() {
		bs[p] = true
	}
	both := 0
	for p := range as {
		if bs[p] {
			both++
		}
	}
	all := len(as) + len(bs) - both
	if all == 0 {
		return 1
	}
	return float64(both) / float64(all)
}

// listedRule is one line of iptables -S output for a chain's rules.
type listedRule struct {
	// text is the rule as listed, without "-A CHAIN " and without counters:
	// the same language as the rule argument.
	text   string
	parsed rule
	// err is set when the line could not be taken apart; the rule still
	// shows in the result's rules.
	err error
}

// chainListing is what iptables -v -S CHAIN printed, taken apart.
type chainListing struct {
	policy  string // "" for a user-defined chain
	builtin bool
	rules   []listedRule
}

// parseListing reads the lines of iptables -S (or -v -S) for one chain.
func parseListing(chain string, lines []string, ipv6 bool) chainListing {
	var l chainListing
	for _, line := range lines {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[0] == "-P" && f[1] == chain:
			l.policy, l.builtin = f[2], true
		case len(f) >= 2 && f[0] == "-A" && f[1] == chain:
			ts, err := split(line)
			if err != nil {
				l.rules = append(l.rules, listedRule{text: strings.TrimSpace(strings.TrimPrefix(line, "-A "+chain)), err: err})
				continue
			}
			text := stripCounters(line, ts)
			p, err := parseRule(ts[2:], ipv6)
			l.rules = append(l.rules, listedRule{text: text, parsed: p, err: err})
		}
	}
	return l
}

// stripCounters returns a listed line without "-A CHAIN" and without the
// "-c PACKETS BYTES" pair that iptables -v -S puts in it, so the rules in a
// result stay the same from one run to the next.
func stripCounters(line string, ts []token) string {
	start := 0
	if len(ts) >= 3 {
		start = ts[2].start
	}
	end := len(line)
	cut0, cut1 := -1, -1
	for i := 2; i+2 < len(ts); i++ {
		if !ts[i].quoted && ts[i].text == "-c" && isNumber(ts[i+1].text) && isNumber(ts[i+2].text) {
			cut0, cut1 = ts[i].start, ts[i+2].end
			break
		}
	}
	if len(ts) < 3 {
		return ""
	}
	if cut0 < 0 {
		return strings.TrimSpace(line[start:end])
	}
	left, right := strings.TrimSpace(line[start:cut0]), strings.TrimSpace(line[cut1:end])
	if left == "" || right == "" {
		return left + right
	}
	return left + " " + right
}

func isNumber(s string) bool {
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}
