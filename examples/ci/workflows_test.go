package ci

import (
	"io"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rhysd/actionlint"
)

// TestWorkflowsLint runs actionlint, the GitHub Actions workflow checker, on each workflow:
// YAML and workflow syntax, expressions and the contexts they may use (matrix, steps,
// secrets, vars), step references, the inputs of the actions named, permission scopes and
// the cron schedule; and, where shellcheck is installed (make tools installs it), the run:
// scripts.
// actionlint knows actions by their major tag (actions/checkout@v5): the pinned releases are
// checked as their major.
func TestWorkflowsLint(t *testing.T) {
	major := regexp.MustCompile(`(uses: [\w./-]+@v\d+)\.\d+\.\d+`)
	opts := &actionlint.LinterOptions{}
	if path, err := exec.LookPath("shellcheck"); err == nil {
		opts.Shellcheck = path
	} else {
		t.Log("shellcheck is not installed: the run: scripts are not checked")
	}
	l, err := actionlint.NewLinter(io.Discard, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range append(Workflows(), AzureKVWorkflows()...) {
		t.Run(w.Name, func(t *testing.T) {
			errs, err := l.Lint(w.Name, major.ReplaceAll(w.Content, []byte("$1")), nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range errs {
				t.Errorf("%s:%d:%d: %s [%s]", w.Name, e.Line, e.Column, e.Message, e.Kind)
			}
		})
	}
}

// pinned is an action at an exact release: a moving tag (v5) or a branch would change what
// runs without a change in the fleet repository.
var pinned = regexp.MustCompile(`^[\w.-]+/[\w.-]+(/[\w./-]+)?@v\d+\.\d+\.\d+$`)

// TestWorkflowsShape checks what the workflows promise in docs/verify.md: their triggers,
// the least permissions each job needs, which jobs depend on which, and actions pinned by
// version.
func TestWorkflowsShape(t *testing.T) {
	type job struct {
		Needs       []string
		Permissions map[string]string // nil: the workflow's
		Actions     []string
	}
	type shape struct {
		On          []string
		Permissions map[string]string
		Jobs        map[string]job
	}
	tests := map[string]struct {
		reason string
		want   shape
	}{
		"uicctl-plan.yml": {
			reason: "pull requests get a plan comment: the OIDC token for the operator sign-in and pull-requests: write, nothing else",
			want: shape{
				On:          []string{"pull_request"},
				Permissions: map[string]string{"contents": "read", "id-token": "write", "pull-requests": "write"},
				Jobs: map[string]job{
					"plan": {Actions: []string{"actions/checkout", "actions/setup-go"}},
				},
			},
		},
		"uicctl-verify.yml": {
			reason: "nightly and on demand; only the commit job, after every shard, may write to the repository",
			want: shape{
				On:          []string{"schedule", "workflow_dispatch"},
				Permissions: map[string]string{"contents": "read", "id-token": "write"},
				Jobs: map[string]job{
					"verify": {Actions: []string{"actions/checkout", "actions/setup-go", "actions/upload-artifact", "actions/upload-artifact", "actions/upload-artifact"}},
					"commit": {Needs: []string{"verify"}, Permissions: map[string]string{"contents": "write"},
						Actions: []string{"actions/checkout", "actions/download-artifact"}},
				},
			},
		},
	}
	var names []string
	for _, w := range Workflows() {
		names = append(names, w.Name)
		tc, ok := tests[w.Name]
		if !ok {
			t.Errorf("%s: no expectation for this workflow", w.Name)
			continue
		}
		t.Run(w.Name, func(t *testing.T) {
			wf, errs := actionlint.Parse(w.Content)
			if len(errs) > 0 {
				t.Fatalf("%s: %s", w.Name, errs[0].Message)
			}
			perms := func(p *actionlint.Permissions) map[string]string {
				if p == nil {
					return nil
				}
				m := map[string]string{}
				for _, s := range p.Scopes {
					m[s.Name.Value] = s.Value.Value
				}
				return m
			}
			got := shape{Permissions: perms(wf.Permissions), Jobs: map[string]job{}}
			for _, e := range wf.On {
				got.On = append(got.On, e.EventName())
			}
			for id, j := range wf.Jobs {
				gj := job{Permissions: perms(j.Permissions)}
				for _, n := range j.Needs {
					gj.Needs = append(gj.Needs, n.Value)
				}
				for _, s := range j.Steps {
					a, ok := s.Exec.(*actionlint.ExecAction)
					if !ok {
						continue
					}
					if !pinned.MatchString(a.Uses.Value) {
						t.Errorf("job %s: %s is not pinned to a release (owner/repo@vX.Y.Z)", id, a.Uses.Value)
					}
					name, _, _ := strings.Cut(a.Uses.Value, "@")
					gj.Actions = append(gj.Actions, name)
				}
				got.Jobs[id] = gj
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n(-want +got):\n%s", tc.reason, diff)
			}
		})
	}
	want := []string{"uicctl-plan.yml", "uicctl-verify.yml"}
	if !slices.Equal(names, want) {
		t.Errorf("workflows %v, want %v", names, want)
	}
}

// TestAzureKVVariant: with the secrets encrypted by a Key Vault key, the nightly verify
// signs in to Azure by OIDC (azure/login, no secret) and never asks for SOPS_AGE_KEY; the
// other workflows are the same files.
func TestAzureKVVariant(t *testing.T) {
	plain := map[string]string{}
	for _, w := range Workflows() {
		plain[w.Name] = string(w.Content)
	}
	for _, w := range AzureKVWorkflows() {
		c := string(w.Content)
		if w.Name != "uicctl-verify.yml" {
			if c != plain[w.Name] {
				t.Errorf("%s differs from the age variant", w.Name)
			}
			continue
		}
		if strings.Contains(c, "SOPS_AGE_KEY") {
			t.Errorf("%s still names SOPS_AGE_KEY", w.Name)
		}
		if !strings.Contains(c, "- uses: azure/login@v2.3.0") || !strings.Contains(c, "client-id: ${{ vars.AZURE_CLIENT_ID }}") {
			t.Errorf("%s does not sign in to Azure by OIDC with azure/login", w.Name)
		}
	}
}
