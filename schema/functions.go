package schema

import (
	"github.com/hashicorp/go-cty-funcs/cidr"
	"github.com/hashicorp/go-cty-funcs/crypto"
	"github.com/hashicorp/go-cty-funcs/encoding"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// functions are the functions available in every expression: the ones
// Terraform users know, from cty's standard library, HashiCorp's cidr
// functions and HCL's try/can. They are pure: none reads files or the
// network, so loading a suite never touches the machine.
var functions = map[string]function.Function{
	"abs":             stdlib.AbsoluteFunc,
	"alltrue":         allTrueFunc,
	"anytrue":         anyTrueFunc,
	"base64decode":    encoding.Base64DecodeFunc,
	"base64encode":    encoding.Base64EncodeFunc,
	"md5":             crypto.Md5Func,
	"sha1":            crypto.Sha1Func,
	"sha256":          crypto.Sha256Func,
	"sha512":          crypto.Sha512Func,
	"urlencode":       encoding.URLEncodeFunc,
	"can":             tryfunc.CanFunc,
	"ceil":            stdlib.CeilFunc,
	"chomp":           stdlib.ChompFunc,
	"chunklist":       stdlib.ChunklistFunc,
	"cidrhost":        cidr.HostFunc,
	"cidrnetmask":     cidr.NetmaskFunc,
	"cidrsubnet":      cidr.SubnetFunc,
	"cidrsubnets":     cidr.SubnetsFunc,
	"coalesce":        stdlib.CoalesceFunc,
	"coalescelist":    stdlib.CoalesceListFunc,
	"compact":         stdlib.CompactFunc,
	"concat":          stdlib.ConcatFunc,
	"contains":        stdlib.ContainsFunc,
	"csvdecode":       stdlib.CSVDecodeFunc,
	"distinct":        stdlib.DistinctFunc,
	"element":         stdlib.ElementFunc,
	"flatten":         stdlib.FlattenFunc,
	"floor":           stdlib.FloorFunc,
	"format":          stdlib.FormatFunc,
	"formatdate":      stdlib.FormatDateFunc,
	"formatlist":      stdlib.FormatListFunc,
	"indent":          stdlib.IndentFunc,
	"join":            stdlib.JoinFunc,
	"jsondecode":      stdlib.JSONDecodeFunc,
	"jsonencode":      stdlib.JSONEncodeFunc,
	"keys":            stdlib.KeysFunc,
	"length":          lengthFunc,
	"log":             stdlib.LogFunc,
	"lookup":          stdlib.LookupFunc,
	"lower":           stdlib.LowerFunc,
	"max":             stdlib.MaxFunc,
	"merge":           stdlib.MergeFunc,
	"min":             stdlib.MinFunc,
	"parseint":        stdlib.ParseIntFunc,
	"pow":             stdlib.PowFunc,
	"range":           stdlib.RangeFunc,
	"regex":           stdlib.RegexFunc,
	"regexall":        stdlib.RegexAllFunc,
	"replace":         stdlib.ReplaceFunc,
	"reverse":         stdlib.ReverseListFunc,
	"setintersection": stdlib.SetIntersectionFunc,
	"setproduct":      stdlib.SetProductFunc,
	"setsubtract":     stdlib.SetSubtractFunc,
	"setunion":        stdlib.SetUnionFunc,
	"signum":          stdlib.SignumFunc,
	"slice":           stdlib.SliceFunc,
	"sort":            stdlib.SortFunc,
	"split":           stdlib.SplitFunc,
	"strrev":          stdlib.ReverseFunc,
	"substr":          stdlib.SubstrFunc,
	"timeadd":         stdlib.TimeAddFunc,
	"title":           stdlib.TitleFunc,
	"tobool":          stdlib.MakeToFunc(cty.Bool),
	"tolist":          stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
	"tomap":           stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
	"tonumber":        stdlib.MakeToFunc(cty.Number),
	"toset":           toSetFunc,
	"tostring":        stdlib.MakeToFunc(cty.String),
	"trim":            stdlib.TrimFunc,
	"trimprefix":      stdlib.TrimPrefixFunc,
	"trimspace":       stdlib.TrimSpaceFunc,
	"trimsuffix":      stdlib.TrimSuffixFunc,
	"try":             tryfunc.TryFunc,
	"upper":           stdlib.UpperFunc,
	"values":          stdlib.ValuesFunc,
	"zipmap":          stdlib.ZipmapFunc,
}

// allTrueFunc and anyTrueFunc are Terraform's alltrue and anytrue, which
// cty's library lacks: handy in asserts over lists, such as
// alltrue([for h in self.hops : h.rtt_ms != null]).
var (
	allTrueFunc = boolFold(true)
	anyTrueFunc = boolFold(false)
)

// boolFold returns a function of a list of bools that is all (when all is
// true) or any of them. An unknown element makes the result unknown.
func boolFold(all bool) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "list", Type: cty.List(cty.Bool)}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			list := args[0]
			if !list.IsWhollyKnown() {
				return cty.UnknownVal(cty.Bool), nil
			}
			for it := list.ElementIterator(); it.Next(); {
				_, v := it.Element()
				if v.IsNull() {
					continue
				}
				if v.True() != all {
					return cty.BoolVal(!all), nil
				}
			}
			return cty.BoolVal(all), nil
		},
	})
}

// lengthFunc is Terraform's length: the number of elements of a collection,
// or of characters of a string (cty's LengthFunc takes collections only),
// so length(self.body) > 0 works in an assert.
var lengthFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "value", Type: cty.DynamicPseudoType, AllowDynamicType: true, AllowUnknown: true}},
	Type:   function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		if args[0].Type() == cty.String {
			return stdlib.Strlen(args[0])
		}
		return stdlib.Length(args[0])
	},
})

// toSetFunc is cty's toset with a fast path for the common case of a tuple
// whose elements are all strings, all numbers or all bools, such as
// toset(local.ports) over a literal list. cty converts a tuple to a set by
// unifying the types of all its elements, which sorts them in quadratic
// time: 52 s for 50,000 strings. Such a tuple's set is simply the set of its
// elements, which is what the conversion gives too; every other value takes
// cty's own path, with its messages.
var toSetFunc = func() function.Function {
	slow := stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType))
	spec := &function.Spec{
		Description: slow.Description(),
		Params:      slow.Params(),
		Type: func(args []cty.Value) (cty.Type, error) {
			// cty's type check looks for a conversion, which is where the
			// unifying happens; a uniform tuple always has one.
			if _, ok := uniformPrimitiveTuple(args[0].Type()); ok {
				return cty.Set(cty.DynamicPseudoType), nil
			}
			return slow.ReturnTypeForValues(args)
		},
		Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
			v := args[0]
			if _, ok := uniformPrimitiveTuple(v.Type()); ok && !v.IsNull() && v.IsWhollyKnown() {
				return cty.SetVal(v.AsValueSlice()), nil
			}
			return slow.Call(args)
		},
	}
	return function.New(spec)
}()

// uniformPrimitiveTuple reports whether t is a non-empty tuple type whose
// elements all have one primitive type, and which.
func uniformPrimitiveTuple(t cty.Type) (cty.Type, bool) {
	if !t.IsTupleType() {
		return cty.NilType, false
	}
	elems := t.TupleElementTypes()
	if len(elems) == 0 || !elems[0].IsPrimitiveType() {
		return cty.NilType, false
	}
	for _, e := range elems[1:] {
		if !e.Equals(elems[0]) {
			return cty.NilType, false
		}
	}
	return elems[0], true
}
