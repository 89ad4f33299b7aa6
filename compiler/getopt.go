package compiler

import (
	"fmt"
	"strings"

	"github.com/bpfsh/bpfsh/lang"
)

// Named program parameters, as current bpftrace's: arguments after `--`
// written --name=value (or --name, a boolean flag) are read with
// getopt("name", default[, "description"]). The default's type is the
// parameter's: an integer (unsigned, or signed when negative), a string or
// a boolean; with no default it is a boolean flag that defaults to false.
// bpfsh compiles after reading the command line, so a parameter is a
// constant in the program.

// NamedParam is one parameter the program reads with getopt.
type NamedParam struct {
	Name        string
	Kind        string // "bool", "uint", "int", "string"
	Default     string // as text
	Description string
}

// NamedParamError is a --name[=value] argument the program cannot take.
// Hint lists the parameters the program reads.
type NamedParamError struct {
	Msg, Hint string
}

func (e *NamedParamError) Error() string { return e.Msg }

// getoptInfo is what the checker learns from one getopt() call.
type getoptInfo struct {
	param NamedParam
	t     *Type
	value any // uint64, int64, bool or string
}

func checkGetopt(k *checker, e *lang.Call) *Type {
	name, ok := k.firstStrArg(e, 1, 3, "first argument to getopt() must be a string literal")
	if !ok {
		return tInt64
	}
	p := NamedParam{Name: name.Val, Kind: "bool", Default: "false"}
	if len(e.Args) == 3 {
		d, ok := k.strArg(e, 2, "getopt()'s description (its third argument) must be a string literal")
		if !ok {
			return tInt64
		}
		p.Description = d.Val
	}
	if len(e.Args) >= 2 {
		switch d := e.Args[1].(type) {
		case *lang.BoolLit:
			p.Default = fmt.Sprint(d.Val)
		case *lang.StrLit:
			p.Kind, p.Default = "string", d.Val
		case *lang.IntLit:
			p.Kind, p.Default = "uint", fmt.Sprint(d.Val)
		case *lang.Unary:
			lit, ok := d.X.(*lang.IntLit)
			if d.Op != "-" || !ok {
				k.errorf(d.Span, "getopt()'s default must be a string, integer or boolean literal")
				return tInt64
			}
			p.Kind, p.Default = "int", fmt.Sprint(-int64(lit.Val))
		default:
			k.errorf(e.Args[1].Sp(), "getopt()'s default must be a string, integer or boolean literal")
			return tInt64
		}
	}
	if old, ok := k.c.getopts[p.Name]; ok {
		switch {
		case old.param.Kind != p.Kind || old.param.Default != p.Default:
			k.errorf(e.Span, "command line option '%s' needs to have the same default value in all places it is used; previous default value: %s", p.Name, old.param.Default)
		case p.Description != "" && old.param.Description != "" && p.Description != old.param.Description:
			k.errorf(e.Span, "command line option '%s' must have the same description in all places it's used", p.Name)
		}
		if old.param.Description == "" {
			old.param.Description = p.Description
		}
		k.c.getoptCalls[e] = old
		return old.t
	}
	info := &getoptInfo{param: p}
	raw, set := k.c.namedArg(p.Name)
	var err error
	switch p.Kind {
	case "bool":
		info.t, info.value = tBool, p.Default == "true"
		if set {
			info.value, err = parseBoolParam(raw)
		}
	case "uint":
		info.t = tUint64
		info.value, _ = ParseUint(p.Default)
		if set {
			info.value, err = ParseUint(raw)
		}
	case "int":
		info.t = tInt64
		info.value, _ = ParseInt(p.Default)
		if set {
			info.value, err = ParseInt(raw)
		}
	case "string":
		s := p.Default
		if set {
			s = raw
		}
		info.t, info.value = strType(len(s)+1), s
	}
	if err != nil {
		// Reported by CheckNamedArgs, before the program runs.
		info.value = defaultValue(info)
	}
	k.c.getopts[p.Name] = info
	k.c.getoptOrder = append(k.c.getoptOrder, p.Name)
	k.c.getoptCalls[e] = info
	return info.t
}

func defaultValue(info *getoptInfo) any {
	switch info.param.Kind {
	case "bool":
		return info.param.Default == "true"
	case "uint":
		v, _ := ParseUint(info.param.Default)
		return v
	case "int":
		v, _ := ParseInt(info.param.Default)
		return v
	}
	return info.param.Default
}

func emitGetopt(g *gen, e *lang.Call) *val {
	info := g.c.getoptCalls[e]
	switch v := info.value.(type) {
	case bool:
		if v {
			return imm(1, info.t)
		}
		return imm(0, info.t)
	case uint64:
		return imm(int64(v), info.t)
	case int64:
		return imm(v, info.t)
	case string:
		return g.strLit(v, info.t.Size)
	}
	return imm(0, tInt64)
}

// namedArg finds --name or --name=value among the named arguments. A bare
// --name has the value "" and set true.
func (c *compiler) namedArg(name string) (value string, set bool) {
	for _, a := range c.opts.NamedArgs {
		n, v, hasValue := strings.Cut(a, "=")
		if n != name {
			continue
		}
		if !hasValue {
			return "", true
		}
		value, set = v, true
	}
	if set {
		return value, true
	}
	for _, a := range c.opts.NamedArgs {
		if a == name {
			return "", true
		}
	}
	return "", false
}

func parseBoolParam(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "", "1", "true", "on", "yes":
		return true, nil
	case "0", "false", "off", "no":
		return false, nil
	}
	return false, fmt.Errorf("expects a boolean (e.g. 'true')")
}

// CheckNamedArgs checks the --name[=value] arguments (without their "--")
// against the parameters the program reads, with bpftrace's messages:
// unknown names, values of the wrong type, and --help, which lists the
// parameters.
func (o *Object) CheckNamedArgs(args []string) error {
	known := map[string]NamedParam{}
	for _, p := range o.NamedParams {
		known[p.Name] = p
	}
	var unexpected []string
	help := false
	for _, a := range args {
		n, _, _ := strings.Cut(a, "=")
		if n == "help" {
			help = true
			continue
		}
		if _, ok := known[n]; !ok {
			unexpected = append(unexpected, "--"+n)
		}
	}
	if len(unexpected) > 0 || help {
		err := &NamedParamError{}
		if len(unexpected) > 0 {
			err.Msg = "unexpected program command line options: " + strings.Join(unexpected, ", ")
		}
		if len(o.NamedParams) == 0 {
			err.Hint = "no custom program options defined."
			return err
		}
		var names []string
		for _, p := range o.NamedParams {
			s := "--" + p.Name
			if help && p.Description != "" {
				s += ": " + p.Description
			}
			names = append(names, s)
		}
		if help {
			err.Hint = "expected program options:\n" + strings.Join(names, "\n")
		} else {
			err.Hint = "expected program options: " + strings.Join(names, ", ")
		}
		return err
	}
	for _, a := range args {
		n, v, hasValue := strings.Cut(a, "=")
		p := known[n]
		shown := v
		if !hasValue {
			shown = "true"
		}
		var msg string
		switch p.Kind {
		case "bool":
			if _, err := parseBoolParam(v); err != nil {
				msg = err.Error()
			}
		case "uint", "int":
			if !hasValue {
				msg = "expects an integer"
				break
			}
			var err error
			if p.Kind == "uint" {
				_, err = ParseUint(v)
			} else {
				_, err = ParseInt(v)
			}
			if ne, ok := err.(*NumberError); ok {
				msg = ne.Msg
				if strings.HasPrefix(msg, "overflow") {
					msg = "value is out of range"
				}
			}
		case "string":
			if !hasValue {
				msg = "expects a string"
			}
		}
		if msg != "" {
			return &NamedParamError{Msg: fmt.Sprintf("program command line option --%s %s (value: %s)", n, msg, shown)}
		}
	}
	return nil
}
