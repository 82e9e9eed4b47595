package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/google/go-cmp/cmp"
	"github.com/mattn/go-shellwords"
	"go.yaml.in/yaml/v3"

	"github.com/useitcloud/uicctl/examples/ci"
	"github.com/useitcloud/uicctl/pkg/spec"
)

// TestInitWritesExampleWorkflows: the workflows uicctl init writes are, byte for byte, the
// files of examples/ci, and no others.
func TestInitWritesExampleWorkflows(t *testing.T) {
	dir := t.TempDir()
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"init", dir, "--age-recipient", "age17wtyh2kd4s8j0zzeu5tplfwccrcs4kz70gqrwn9y93047lqj9cwq0c3neu"},
		strings.NewReader(""), io.Discard, &stderr, func(string) string { return "" }); code != 0 {
		t.Fatalf("init: exit %d\n%s", code, stderr.String())
	}
	examples, err := filepath.Glob("../../examples/ci/*.yml")
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples/ci workflows: %v", err)
	}
	written, err := os.ReadDir(filepath.Join(dir, ".github", "workflows"))
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, e := range written {
		got = append(got, e.Name())
	}
	for _, p := range examples {
		want = append(want, filepath.Base(p))
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		w, err := os.ReadFile(filepath.Join(dir, ".github", "workflows", filepath.Base(p)))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(b), string(w)); diff != "" {
			t.Errorf("%s differs from examples/ci (-example +written):\n%s", filepath.Base(p), diff)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("workflow files (-examples +written):\n%s", diff)
	}
}

// invocation is what kong made of a uicctl command line in a workflow.
type invocation struct {
	Command          string // kong's command path, such as "plan <path>"
	Paths            []string
	Output           string
	Shard            string
	DetailedExitcode bool
	JUnit            string
	HTML             string
	State            string
	WriteBack        bool
	WithPlan         bool
}

// TestWorkflowCommands parses the workflows' run: scripts, takes every uicctl command line in
// them (with the step's environment and each matrix value substituted) and parses it with
// uicctl's own kong model: the commands and flags exist and mean what the workflows intend.
// The shard matrix must be valid --shard values that cover the fleet once.
func TestWorkflowCommands(t *testing.T) {
	tests := map[string]struct {
		reason string
		want   map[string][]invocation // by job
	}{
		"uicctl-plan.yml": {
			reason: "pull requests validate, then plan as markdown (exit 2 is pending changes)",
			want: map[string][]invocation{"plan": {
				{Command: "validate <path>", Paths: []string{"."}, Output: "text"},
				{Command: "plan <path>", Paths: []string{"."}, Output: "markdown", DetailedExitcode: true},
			}},
		},
		"uicctl-verify.yml": {
			reason: "one verify per shard, with a JUnit and an HTML report, the shard's state file, write-back of rotated refresh tokens and the drift check",
			want: map[string][]invocation{"verify": {
				{Command: "verify <path>", Paths: []string{"."}, Output: "text", Shard: "1/4", JUnit: "/runner-temp/verify.xml", HTML: "/runner-temp/verify.html", State: "verify-state/shard-<strategy.job-index>.json", WriteBack: true, WithPlan: true},
				{Command: "verify <path>", Paths: []string{"."}, Output: "text", Shard: "2/4", JUnit: "/runner-temp/verify.xml", HTML: "/runner-temp/verify.html", State: "verify-state/shard-<strategy.job-index>.json", WriteBack: true, WithPlan: true},
				{Command: "verify <path>", Paths: []string{"."}, Output: "text", Shard: "3/4", JUnit: "/runner-temp/verify.xml", HTML: "/runner-temp/verify.html", State: "verify-state/shard-<strategy.job-index>.json", WriteBack: true, WithPlan: true},
				{Command: "verify <path>", Paths: []string{"."}, Output: "text", Shard: "4/4", JUnit: "/runner-temp/verify.xml", HTML: "/runner-temp/verify.html", State: "verify-state/shard-<strategy.job-index>.json", WriteBack: true, WithPlan: true},
			}},
		},
	}
	for _, w := range ci.Workflows() {
		t.Run(w.Name, func(t *testing.T) {
			tc, ok := tests[w.Name]
			if !ok {
				t.Fatalf("no expectation for %s", w.Name)
			}
			got := workflowInvocations(t, w.Content)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n(-want +got):\n%s", tc.reason, diff)
			}
			for job, invs := range got {
				checkShards(t, job, invs)
			}
		})
	}
}

// checkShards: the --shard values of a job's invocations parse as uicctl parses them, share
// one N, and name each K from 1 to N once, so the matrix checks every tenant exactly once.
func checkShards(t *testing.T, job string, invs []invocation) {
	t.Helper()
	seen := map[int]bool{}
	n := 0
	for _, inv := range invs {
		if inv.Shard == "" {
			continue
		}
		s, err := spec.ParseShard(inv.Shard)
		if err != nil {
			t.Errorf("job %s: %v", job, err)
			continue
		}
		if n != 0 && s.N != n {
			t.Errorf("job %s: shard %s among shards of %d", job, inv.Shard, n)
		}
		n = s.N
		if seen[s.K] {
			t.Errorf("job %s: shard %s twice", job, inv.Shard)
		}
		seen[s.K] = true
	}
	if len(seen) != n {
		t.Errorf("job %s: %d shards of %d", job, len(seen), n)
	}
}

type workflowFile struct {
	Env  map[string]string `yaml:"env"`
	Jobs map[string]struct {
		Env      map[string]string `yaml:"env"`
		Strategy struct {
			Matrix map[string][]string `yaml:"matrix"`
		} `yaml:"strategy"`
		Steps []struct {
			Run string            `yaml:"run"`
			Env map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

var expression = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// runnerEnv is what the runner sets that the scripts use.
var runnerEnv = map[string]string{"RUNNER_TEMP": "/runner-temp"}

func workflowInvocations(t *testing.T, content []byte) map[string][]invocation {
	t.Helper()
	var wf workflowFile
	if err := yaml.Unmarshal(content, &wf); err != nil {
		t.Fatal(err)
	}
	out := map[string][]invocation{}
	for id, job := range wf.Jobs {
		for _, matrix := range matrixCombinations(job.Strategy.Matrix) {
			// ${{ matrix.x }} takes the combination's value; secrets, vars and the github
			// context are only placeholders here.
			expr := func(s string) string {
				return expression.ReplaceAllStringFunc(s, func(m string) string {
					e := expression.FindStringSubmatch(m)[1]
					if k, ok := strings.CutPrefix(e, "matrix."); ok {
						if v, ok := matrix[k]; ok {
							return v
						}
						t.Errorf("job %s: no matrix value %s", id, k)
					}
					return "<" + e + ">"
				})
			}
			for _, step := range job.Steps {
				env := map[string]string{}
				for _, m := range []map[string]string{runnerEnv, wf.Env, job.Env, step.Env} {
					for k, v := range m {
						env[k] = expr(v)
					}
				}
				for _, args := range uicctlCommands(t, expr(step.Run), env) {
					out[id] = append(out[id], parseInvocation(t, args))
				}
			}
		}
	}
	return out
}

// matrixCombinations expands a matrix into its combinations, in a stable order; no matrix is
// one empty combination.
func matrixCombinations(m map[string][]string) []map[string]string {
	combos := []map[string]string{{}}
	keys := slices.Sorted(maps.Keys(m))
	for _, k := range keys {
		var next []map[string]string
		for _, c := range combos {
			for _, v := range m[k] {
				n := map[string]string{k: v}
				for ck, cv := range c {
					n[ck] = cv
				}
				next = append(next, n)
			}
		}
		combos = next
	}
	return combos
}

// uicctlCommands returns the argument lists of the uicctl commands in a shell script: lines
// joined at a trailing backslash, comment lines dropped, each line split at ; & | < > into
// simple commands, words split and variables expanded as the shell would for these scripts.
func uicctlCommands(t *testing.T, script string, env map[string]string) [][]string {
	t.Helper()
	var out [][]string
	for _, line := range strings.Split(strings.ReplaceAll(script, "\\\n", " "), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rest := []rune(line)
		for len(rest) > 0 {
			var unknown []string
			p := shellwords.NewParser()
			p.ParseEnv = true
			p.Getenv = func(k string) string {
				v, ok := env[k]
				if !ok {
					unknown = append(unknown, k)
				}
				return v
			}
			args, err := p.Parse(string(rest))
			if err != nil {
				t.Fatalf("cannot split %q: %v", line, err)
			}
			if len(args) > 0 && args[0] == "uicctl" {
				if len(unknown) > 0 {
					t.Errorf("%q uses variables the step does not set: %v", line, unknown)
				}
				out = append(out, args[1:])
			}
			if p.Position < 0 {
				break
			}
			rest = rest[p.Position+1:]
		}
	}
	return out
}

// parseInvocation parses args with uicctl's kong model, as run does, without running them.
func parseInvocation(t *testing.T, args []string) invocation {
	t.Helper()
	var cli CLI
	parser, err := kong.New(&cli, kong.Name("uicctl"), kong.Exit(func(code int) { panic(fmt.Sprintf("kong exit %d", code)) }))
	if err != nil {
		t.Fatal(err)
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		t.Errorf("uicctl %s: %v", strings.Join(args, " "), err)
		return invocation{Command: "error: " + err.Error()}
	}
	inv := invocation{Command: kctx.Command(), Output: cli.Output, Shard: cli.Shard}
	switch {
	case strings.HasPrefix(inv.Command, "validate"):
		inv.Paths = cli.Validate.Paths
	case strings.HasPrefix(inv.Command, "plan"):
		inv.Paths, inv.DetailedExitcode = cli.Plan.Paths, cli.Plan.DetailedExitcode
	case strings.HasPrefix(inv.Command, "verify"):
		v := cli.Verify
		inv.Paths, inv.JUnit, inv.WriteBack, inv.WithPlan = v.Paths, v.JUnit, v.WriteBack, v.WithPlan
		inv.HTML, inv.State = v.HTML, v.State
	}
	return inv
}
