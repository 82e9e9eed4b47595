package main

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["golden"] = cmdGolden
	scriptCmds["expand"] = cmdExpand
}

// cmdExpand copies a file with $VAR and ${VAR} replaced from the script's environment, for
// specs that name a sandbox tenant: expand SRC DST
func cmdExpand(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: expand SRC DST")
	}
	out := os.Expand(ts.ReadFile(args[0]), ts.Getenv)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(out), 0o644))
}

// goldenVars are values a sandbox run chooses anew (IDs, dates); golden files name them as
// ${VAR} so they hold across runs.
var goldenVars = []string{"TENANT_ID_0", "TENANT_ID_1", "TENANT_ID_2", "APP_ID", "SP_ID", "KEY_ID", "APP_OBJECT_ID", "TENANT_ID_3", "TENANT_ID_4", "TENANT_ID_5", "SECRET_END", "SECRET_DAY", "USAGE_ROWS"}

// cmdGolden compares the last command's stdout (or stderr, or a file the script wrote) with
// testdata/golden/NAME, after writing the run's variable values back as ${VAR}.
// With -durations, measured times (verify's TIME column, JSON durationNs, JUnit time) read
// ${DURATION} and runs of spaces that align table columns are cut to two (a hint line's
// indent to four), since column widths follow the times. go test -update rewrites the file; review the diff like code.
//
//	golden [-durations] stdout|stderr|FILE NAME
func cmdGolden(ts *testscript.TestScript, neg bool, args []string) {
	durations := len(args) > 0 && args[0] == "-durations"
	if durations {
		args = args[1:]
	}
	if neg || len(args) != 2 {
		ts.Fatalf("usage: golden [-durations] stdout|stderr|FILE NAME")
	}
	got := ts.ReadFile(args[0])
	if durations {
		got = durationRE.ReplaceAllString(got, "${1}$${DURATION}")
		got = jsonDurationRE.ReplaceAllString(got, `"durationNs": $${DURATION}`)
		got = junitTimeRE.ReplaceAllString(got, `time="$${DURATION}"`)
		got = alignRE.ReplaceAllString(got, "$1  ")
		got = hintIndentRE.ReplaceAllString(got, "    hint: ")
	}
	type kv struct{ k, v string }
	var vars []kv
	for _, k := range goldenVars {
		if v := ts.Getenv(k); v != "" {
			vars = append(vars, kv{k, v})
		}
	}
	// Longest values first, so a value that contains another is replaced whole. A number
	// (a row count) is replaced as a whole word only.
	sort.SliceStable(vars, func(i, j int) bool { return len(vars[i].v) > len(vars[j].v) })
	for _, x := range vars {
		if strings.Trim(x.v, "0123456789") == "" {
			got = regexp.MustCompile(`\b`+x.v+`\b`).ReplaceAllLiteralString(got, "${"+x.k+"}")
			continue
		}
		got = strings.ReplaceAll(got, x.v, "${"+x.k+"}")
	}
	// Digests cover IDs and dates the sandbox chose; their presence and form are checked, not
	// their value.
	got = digestRE.ReplaceAllString(got, "sha256:${DIGEST}")
	// verify's MS-CorrelationId is fresh on every run.
	got = correlationRE.ReplaceAllString(got, "${1}$${CORRELATION_ID}")
	path := filepath.Join(goldenDir, args[1])
	if *update {
		ts.Check(os.MkdirAll(filepath.Dir(path), 0o755))
		ts.Check(os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		ts.Fatalf("no golden file (go test ./cmd/uicctl -update): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		ts.Fatalf("%s differs from %s (-want +got):\n%s", args[0], path, diff)
	}
}

var (
	digestRE       = regexp.MustCompile(`sha256:[0-9a-f]{64}`)
	correlationRE  = regexp.MustCompile(`("correlationId": "|name="MS-CorrelationId" value="|MS-CorrelationId )[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	durationRE     = regexp.MustCompile(`(\s|\()(?:\d+h)?(?:\d+m)?\d+(?:\.\d+)?(?:ns|µs|ms|s)\b`)
	jsonDurationRE = regexp.MustCompile(`"durationNs": \d+`)
	junitTimeRE    = regexp.MustCompile(`time="[0-9.]+"`)
	alignRE        = regexp.MustCompile(`(\S) {2,}`)
	hintIndentRE   = regexp.MustCompile(`(?m)^ +hint: `)
)

var goldenDir = func() string {
	abs, err := filepath.Abs("../../testdata/golden")
	if err != nil {
		panic(err)
	}
	return abs
}()
