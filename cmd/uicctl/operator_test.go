package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/useitcloud/uicctl/pkg/entra"
	"github.com/useitcloud/uicctl/pkg/sandbox"
	"github.com/useitcloud/uicctl/pkg/sandbox/graph"
	"github.com/useitcloud/uicctl/pkg/spec"
)

// TestOperatorPermissionsDocumented: docs/operator.md's table, the code's list, what
// operator.yaml requests and what the sandbox's operator app requests name the same
// permissions (the first three in the same order).
func TestOperatorPermissionsDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/operator.md")
	if err != nil {
		t.Fatal(err)
	}
	var doc []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Za-z]+\\.[A-Za-z.]+)` \\|").FindAllStringSubmatch(string(b), -1) {
		doc = append(doc, m[1])
	}
	code := permissionNames()
	if d := cmp.Diff(code, doc); d != "" {
		t.Errorf("docs/operator.md's table vs entra.OperatorPermissions: -code +doc\n%s", d)
	}
	if d := cmp.Diff(code, spec.OperatorGraphRoles); d != "" {
		t.Errorf("spec.OperatorGraphRoles (what operator.yaml requests) vs entra.OperatorPermissions: -code +spec\n%s", d)
	}
	sb := slices.Clone(graph.OperatorRoles)
	slices.Sort(sb)
	sorted := slices.Sorted(slices.Values(code))
	if d := cmp.Diff(sorted, sb); d != "" {
		t.Errorf("graph.OperatorRoles vs entra.OperatorPermissions: -code +sandbox\n%s", d)
	}
}

// TestOperatorLeastPrivilege is least privilege shown: in a tenant where the operator holds
// exactly the documented permissions, plan and apply work and operator check finds nothing
// missing and nothing extra; without any one of them, the command whose call needs it
// fails with a hint naming it (and the consent link that grants it again).
func TestOperatorLeastPrivilege(t *testing.T) {
	e := startE2E(t, sandbox.Options{Tenants: 1, Customers: 1})
	ten := e.sb.World().Tenants[0]
	fleet := newFleetFor(t, t.TempDir(), ten, e.id)
	specPath := filepath.Join(fleet, "tenants", ten.Name, "partner.yaml")
	// Delegated permissions only, at first: the AppRoleAssignment case adds an application one.
	if err := os.WriteFile(specPath, []byte(partnerTemplate(ten.Name, ten.TenantID, "", false)), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		out, err := e.command(args...).CombinedOutput()
		return string(out), err
	}
	if out, err := run("apply", "--auto-approve", fleet); err != nil {
		t.Fatalf("apply with every permission: %v\n%s", err, out)
	}
	if out, err := run("plan", "--detailed-exitcode", fleet); err != nil {
		t.Fatalf("plan with every permission: %v\n%s", err, out)
	}
	if out, err := run("operator", "check", fleet); err != nil || strings.Contains(out, "not needed") || strings.Contains(out, "MISSING") {
		t.Fatalf("operator check: %v\n%s", err, out)
	}
	// An application permission in the spec (init's, with the billing export): apply must
	// assign it (AppRoleAssignment).
	withRole := partnerTemplate(ten.Name, ten.TenantID, "", true)
	cases := map[string]struct {
		reason string
		spec   string // partner.yaml for the command; empty: as applied
		args   []string
	}{
		entra.PermApplicationReadWriteAll: {
			reason: "plan reads the application by its uniqueName",
			args:   []string{"plan", fleet}},
		entra.PermDelegatedGrantReadWriteAll: {
			reason: "plan reads the service principal's delegated grants",
			args:   []string{"plan", fleet}},
		entra.PermGroupMemberReadWriteAll: {
			reason: "plan looks up the AdminAgents group",
			args:   []string{"plan", fleet}},
		entra.PermPolicyReadAll: {
			reason: "plan reads the app management policy that caps the client secret's lifetime",
			args:   []string{"plan", fleet}},
		entra.PermAppRoleAssignmentReadWriteAll: {
			reason: "apply assigns an application permission the spec adds",
			spec:   withRole, args: []string{"apply", "--auto-approve", fleet}},
	}
	for _, p := range entra.OperatorPermissions {
		tc, ok := cases[p.Name]
		if !ok {
			t.Errorf("%s: no case shows which command needs it", p.Name)
			continue
		}
		t.Run(p.Name, func(t *testing.T) {
			if tc.spec != "" {
				orig, _ := os.ReadFile(specPath)
				os.WriteFile(specPath, []byte(tc.spec), 0o644)
				defer os.WriteFile(specPath, orig, 0o644)
			}
			removeOperatorRole(t, e.sb, ten.TenantID, p)
			// The tenant's admin consents again afterwards: the app requests it still.
			defer func() {
				_, cid, _ := e.sb.Operator()
				if _, err := e.sb.Graph().AdminConsent(ten.TenantID, cid); err != nil {
					t.Fatal(err)
				}
			}()
			out, err := run(tc.args...)
			if err == nil {
				t.Fatalf("%s: %s succeeded without %s\n%s", tc.reason, tc.args[0], p.Name, out)
			}
			want := "hint: the operator needs the Microsoft Graph application permission " + p.Name + " in tenant " + ten.TenantID +
				": a Global Administrator of the tenant grants it by opening "
			if !strings.Contains(out, want) || !strings.Contains(out, "/v2.0/adminconsent?") {
				t.Errorf("%s: want a hint naming %s with the consent link, got\n%s", tc.reason, p.Name, out)
			}
			if strings.Contains(out, "Graph answered 403") || strings.Contains(out, " 403 ") {
				t.Errorf("raw status shown:\n%s", out)
			}
			check, err := run("operator", "check", "--output", "json", fleet)
			if err == nil || !strings.Contains(check, fmt.Sprintf("\"name\": %q,\n          \"held\": false", p.Name)) {
				t.Errorf("operator check does not report %s missing (%v):\n%s", p.Name, err, check)
			}
		})
	}
}

// removeOperatorRole deletes the operator app's app role assignment of p in tenant.
func removeOperatorRole(t *testing.T, sb *sandbox.Sandbox, tenant string, p entra.OperatorPermission) {
	t.Helper()
	g, err := newGraphCaller(sb, tenant)
	if err != nil {
		t.Fatal(err)
	}
	_, cid, _ := sb.Operator()
	res, err := g.call(http.MethodGet, "/servicePrincipals(appId='"+cid+"')/appRoleAssignments", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range res["value"].([]any) {
		a := a.(map[string]any)
		if a["appRoleId"] == p.ID {
			if _, err := g.call(http.MethodDelete, fmt.Sprintf("/servicePrincipals/%s/appRoleAssignedTo/%s", a["resourceId"], a["id"]), nil); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("the operator holds no %s in %s", p.Name, tenant)
}
