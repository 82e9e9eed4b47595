package main

import (
	"context"
	"flag"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

var update = flag.Bool("update", false, "rewrite golden files and script expectations")

// scriptCmds and scriptSetups let each area's _test.go file add testscript commands and
// per-script set-up from an init function, without editing this file.
var (
	scriptCmds   = map[string]func(ts *testscript.TestScript, neg bool, args []string){}
	scriptSetups []func(e *testscript.Env) error
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"uicctl": func() { os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)) },
	})
}

func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/script",
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Cmds:                scriptCmds,
		Setup: func(e *testscript.Env) error {
			// Hermetic: testscript starts from an almost empty environment (no SOPS_*, AZURE_*
			// or UICCTL_* of the user's reach a script), and sops's default key location is
			// inside the script's work directory. Variables are left unset rather than set
			// empty: the sops CLI runs an empty SOPS_AGE_KEY_CMD and panics.
			e.Setenv("XDG_CONFIG_HOME", e.WorkDir+"/.config")
			e.Setenv("SOPS_DISABLE_VERSION_CHECK", "1")
			for _, s := range scriptSetups {
				if err := s(e); err != nil {
					return err
				}
			}
			return nil
		},
	})
}
