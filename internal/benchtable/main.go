// Command benchtable reads `go test -bench` output on stdin and prints a
// table of the benchmarks with the targets they are held to.
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// targets are the figures the issues promise, per benchmark name.
var targets = map[string]time.Duration{
	"BenchmarkPlan10k":       time.Second,
	"BenchmarkPlanChain700":  100 * time.Millisecond,
	"BenchmarkPlanIncludes":  time.Second,
	"BenchmarkCorpusFlavor":  50 * time.Millisecond,
	"BenchmarkNoopCompile1k": 2 * time.Second,
}

var line = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+([\d.]+) ns/op(.*)$`)

func main() {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "benchmark\ttime/op\ttarget\tmet\tallocs/op\tB/op\t")
	in := bufio.NewScanner(os.Stdin)
	failed := false
	for in.Scan() {
		text := in.Text()
		if strings.HasPrefix(text, "FAIL") || strings.HasPrefix(text, "panic") {
			failed = true
		}
		m := line.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		ns, _ := strconv.ParseFloat(m[3], 64)
		d := time.Duration(ns)
		target, met := "-", "-"
		if t, ok := targets[m[1]]; ok {
			target = t.String()
			met = "yes"
			if d > t {
				met = "NO"
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t\n", m[1], round(d), target, met, field(m[4], "allocs/op"), field(m[4], "B/op"))
	}
	w.Flush()
	if failed {
		os.Exit(1)
	}
}

func round(d time.Duration) string {
	switch {
	case d > time.Second:
		return d.Round(time.Millisecond).String()
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Nanosecond).String()
}

// field returns the number before unit in the rest of a benchmark line.
func field(rest, unit string) string {
	f := strings.Fields(rest)
	for i := 1; i < len(f); i++ {
		if f[i] == unit {
			return f[i-1]
		}
	}
	return "-"
}
