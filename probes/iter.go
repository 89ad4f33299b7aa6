package probes

import (
	"io"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
)

// iter:NAME is a BPF iterator (task, task_file, task_vma, ...): the program
// runs once per object the kernel walks, with ctx pointing to struct
// bpf_iter__NAME (ctx.task, ctx.file, ...). The runtime runs an iterator
// once, after BEGIN, copying what its printf()s wrote (bpf_seq_printf) to
// the output.
func init() {
	register(&Provider{
		Name:       "iter",
		Aliases:    []string{"it"},
		Runs:       OnWalk,
		ProgType:   ebpf.Tracing,
		AttachType: ebpf.AttachTraceIter,
		Expand: func(env *Env, parts []string) ([]Point, error) {
			if len(parts) != 1 || parts[0] == "" {
				return nil, errorf("iter needs an iterator: iter:task, iter:task_file, iter:task_vma, ...")
			}
			if HasWildcard(parts[0]) {
				return nil, errorf("not supported yet: wildcards in iter probes")
			}
			if _, err := iterCtxType(env, parts[0]); err != nil {
				return nil, err
			}
			return []Point{{Provider: "iter", Target: parts}}, nil
		},
		Context: func(env *Env, p Point) (*Context, error) {
			t, err := iterCtxType(env, p.Target[0])
			if err != nil {
				return nil, err
			}
			return &Context{CtxType: t, SeqFile: true}, nil
		},
		AttachTo: func(p Point) string { return p.Target[0] },
		Attach: func(_ *Env, prog *ebpf.Program, p Point) (io.Closer, error) {
			return link.AttachIter(link.IterOptions{Program: prog})
		},
	})
}

// iterCtxType finds struct bpf_iter__NAME, the context of iterator NAME.
func iterCtxType(env *Env, name string) (btf.Type, error) {
	var s *btf.Struct
	if err := env.FindType("bpf_iter__"+name, &s); err != nil {
		return nil, errorf("unknown iterator %q: the kernel's BTF has no struct bpf_iter__%s", name, name)
	}
	return s, nil
}

// RunIter runs an attached iterator to its end, copying its output to w.
func RunIter(l io.Closer, w io.Writer) error {
	it, ok := l.(*link.Iter)
	if !ok {
		return errorf("not an iterator link")
	}
	rd, err := it.Open()
	if err != nil {
		return err
	}
	defer rd.Close()
	_, err = io.Copy(w, rd)
	return err
}
