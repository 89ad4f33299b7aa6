// Command genman writes the bpfsh(1) man page, rendered from the text that
// `bpfsh --help` prints (package help), to standard output. `make install`
// runs it: go run ./cmd/bpfsh/genman VERSION > bpfsh.1
package main

import (
	"fmt"
	"os"

	"github.com/bpfsh/bpfsh/cmd/bpfsh/help"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: genman VERSION > bpfsh.1")
		os.Exit(2)
	}
	fmt.Print(help.Man(os.Args[1]))
}
