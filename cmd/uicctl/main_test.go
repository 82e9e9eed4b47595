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
			// Hermetic: no user configuration or credentials reach a script.
			for _, k := range []string{"XDG_CONFIG_HOME", "SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY_CMD", "UICCTL_CLOUD",
				"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "NO_COLOR", "GITHUB_ACTIONS"} {
				e.Setenv(k, "")
			}
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
