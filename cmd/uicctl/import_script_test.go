package main

import (
	"encoding/json"
	"os"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["jsonvar"] = cmdJSONVar
}

// cmdJSONVar sets a script variable from a top-level string field of the JSON the last
// command printed (such as graphcall's answer). With -canary the value is also a canary, and
// with -date only its date part is kept (2026-05-01 of 2026-05-01T10:00:00Z), and
// with -file F it is written to F for a later stdin (canary check -except F skips that file).
//
//	jsonvar [-canary] [-date] [-file F] NAME FIELD
func cmdJSONVar(ts *testscript.TestScript, neg bool, args []string) {
	canary, date, file := false, false, ""
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-canary":
			canary, args = true, args[1:]
		case "-date":
			date, args = true, args[1:]
		case "-file":
			if len(args) < 2 {
				ts.Fatalf("usage: jsonvar [-canary] [-date] [-file F] NAME FIELD")
			}
			file, args = args[1], args[2:]
		default:
			ts.Fatalf("unknown flag %s", args[0])
		}
	}
	if neg || len(args) != 2 {
		ts.Fatalf("usage: jsonvar [-canary] [-date] [-file F] NAME FIELD")
	}
	var m map[string]any
	ts.Check(json.Unmarshal([]byte(ts.ReadFile("stdout")), &m))
	v, ok := m[args[1]].(string)
	if !ok || v == "" {
		ts.Fatalf("no string field %q in the last output", args[1])
	}
	if date {
		v, _, _ = strings.Cut(v, "T")
	}
	ts.Setenv(args[0], v)
	if canary {
		canarySet(ts).Add(args[0], v)
	}
	if file != "" {
		ts.Check(os.WriteFile(ts.MkAbs(file), []byte(v+"\n"), 0o600))
	}
}
