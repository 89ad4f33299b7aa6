package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/bpfsh/bpfsh/compiler"
	"github.com/bpfsh/bpfsh/lang"
	bpfrt "github.com/bpfsh/bpfsh/runtime"
)

// pinnedMetrics is `bpfsh metrics NAME --listen ADDR`: it serves the maps
// of a pinned policy until SIGINT or SIGTERM. The policy's source, kept
// with the pin, is compiled again to know its maps, with the parameters and
// limits it was pinned with (not this process's environment).
func pinnedMetrics(args []string, stdout, stderr io.Writer) int {
	if len(args) != 3 || args[1] != "--listen" {
		fmt.Fprintf(stderr, "ERROR: usage: bpfsh metrics NAME --listen ADDR\n")
		return 1
	}
	name, addr := args[0], args[2]
	fail := func(err error) int {
		fmt.Fprintf(stderr, "ERROR: %v\n", explain(err))
		return 1
	}
	if err := mountBPFFS(false, stderr); err != nil {
		return fail(err)
	}
	info, err := bpfrt.ReadPin(name)
	if err != nil {
		return fail(fmt.Errorf("no pinned policy named %q (see: bpfsh pins)", name))
	}
	prog, diags := lang.Parse(info.File, []byte(info.Source))
	if diags.HasErrors() {
		fmt.Fprint(stderr, diags.Format())
		return 1
	}
	opts, err := info.Compile.Options(systemEnv(&config{}, stderr))
	if err != nil {
		return fail(err)
	}
	obj, cdiags := compiler.Compile(prog, opts)
	if cdiags.HasErrors() {
		fmt.Fprint(stderr, cdiags.Format())
		return 1
	}
	mc, err := metricsAt(addr)
	if err != nil {
		return fail(err)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	s, err := bpfrt.ServePinnedMetrics(name, obj, mc, stderr)
	if err != nil {
		return fail(err)
	}
	defer s.Close()
	fmt.Fprintf(stdout, "serving the maps of %s at http://%s/metrics\n", name, s.Addr())
	<-sigs
	return 0
}
