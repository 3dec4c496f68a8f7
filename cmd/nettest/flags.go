package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/nettest/nettest/schema"
)

// parse parses flags and positional arguments in any order, as people type
// them (`nettest test ./suite --json`); `--` ends the flags.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// newFlagSet returns a flag set whose --help prints help, the flag
// descriptions and nothing else.
func newFlagSet(name, help string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), help)
		fmt.Fprintln(fs.Output(), "\nFlags:")
		fs.VisitAll(func(f *flag.Flag) {
			name, use := flag.UnquoteUsage(f)
			if name != "" {
				name = "=" + strings.ToUpper(name)
			}
			fmt.Fprintf(fs.Output(), "  --%s%s\n      %s\n", f.Name, name, strings.ReplaceAll(use, "\n", "\n      "))
		})
	}
	return fs
}

// parseError turns a flag error into an exit code: help is not an error.
func parseError(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitConfig
}

// varFlags collects --var and --var-file in command-line order, because a
// later one wins.
type varFlags struct{ args *[]schema.VarArg }

type varFlag struct{ varFlags }

func (v varFlag) String() string { return "" }
func (v varFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("write --var NAME=VALUE, got %q", s)
	}
	*v.args = append(*v.args, schema.VarArg{Name: name, Value: value})
	return nil
}

type varFileFlag struct{ varFlags }

func (v varFileFlag) String() string { return "" }
func (v varFileFlag) Set(s string) error {
	*v.args = append(*v.args, schema.VarArg{File: s})
	return nil
}

type terraformOutputsFlag struct{ varFlags }

func (v terraformOutputsFlag) String() string { return "" }
func (v terraformOutputsFlag) Set(s string) error {
	*v.args = append(*v.args, schema.VarArg{TerraformOutputs: s})
	return nil
}

// addVarFlags registers --var, --var-file and --terraform-outputs on fs,
// collecting into args.
func addVarFlags(fs *flag.FlagSet, args *[]schema.VarArg) {
	fs.Var(varFlag{varFlags{args}}, "var", "Set a variable: `NAME=VALUE`. Repeatable; later values win. Lists and maps are written in HCL: --var 'ports=[80,443]'.")
	fs.Var(varFileFlag{varFlags{args}}, "var-file", "Set variables from an HCL `FILE` of NAME = VALUE lines, or from a JSON object when FILE ends in\n.json (as .tfvars.json). Repeatable, in order with --var. Variables also come from the\nenvironment: NETTEST_VAR_name=value (lowest precedence).")
	fs.Var(terraformOutputsFlag{varFlags{args}}, "terraform-outputs", "Set each variable named like an output from `FILE`, the output of 'terraform output -json',\nconverted with the type Terraform recorded; a sensitive output makes the variable sensitive.\nOutputs without a variable are ignored (--verbose lists them). In order with --var.")
}
