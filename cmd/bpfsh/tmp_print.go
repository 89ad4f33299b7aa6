package main

import "github.com/bpfsh/bpfsh/lang"

func printAST(p *lang.Program) string { return "" }
