package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// metric is one measured quantity, with every run's value per tool.
type metric struct {
	id    string
	label string
	unit  string
	vals  map[string][]float64 // tool name → one value per run
	notes []string             // e.g. "run 3 timed out"
}

// store keeps metrics in the order they were first recorded.
type store struct {
	order []string
	m     map[string]*metric
}

func newStore() *store { return &store{m: map[string]*metric{}} }

func (s *store) get(id, label, unit string) *metric {
	if m, ok := s.m[id]; ok {
		return m
	}
	m := &metric{id: id, label: label, unit: unit, vals: map[string][]float64{}}
	s.m[id] = m
	s.order = append(s.order, id)
	return m
}

func (s *store) add(id, label, unit, tool string, v float64) {
	m := s.get(id, label, unit)
	m.vals[tool] = append(m.vals[tool], v)
}

// med returns the median of a tool's values and whether there are any.
func (s *store) med(id, tool string) (float64, bool) {
	m, ok := s.m[id]
	if !ok || len(m.vals[tool]) == 0 {
		return 0, false
	}
	return median(m.vals[tool]), true
}

// ratio is bpfsh's median over bpftrace's.
func (s *store) ratio(id string) (float64, bool) {
	a, ok1 := s.med(id, "bpfsh")
	b, ok2 := s.med(id, "bpftrace")
	if !ok1 || !ok2 || b == 0 {
		return 0, false
	}
	return a / b, true
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func minMax(v []float64) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo = math.Min(lo, x)
		hi = math.Max(hi, x)
	}
	return lo, hi
}

// num formats a value with about three significant digits.
func num(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "—"
	case a == 0:
		return "0"
	case a >= 100000:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// withUnit renders "12.3 ms".
func withUnit(v float64, unit string) string {
	if unit == "" {
		return num(v)
	}
	return num(v) + " " + unit
}

// rate renders events per second as "412k/s".
func rate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM/s", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0fk/s", v/1e3)
	default:
		return fmt.Sprintf("%.0f/s", v)
	}
}

func ratioText(r float64) string {
	if r >= 10 {
		return fmt.Sprintf("%.0f×", r)
	}
	if r >= 1 {
		return fmt.Sprintf("%.2f×", r)
	}
	return fmt.Sprintf("%.3f×", r)
}

// spread renders "median [min – max]".
func spread(v []float64, unit string) string {
	if len(v) == 0 {
		return "—"
	}
	lo, hi := minMax(v)
	if len(v) == 1 {
		return withUnit(v[0], unit)
	}
	return fmt.Sprintf("%s [%s – %s]", withUnit(median(v), unit), num(lo), num(hi))
}

func joinNums(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = num(x)
	}
	return strings.Join(s, ", ")
}
