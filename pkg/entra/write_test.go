package entra_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/useitcloud/uicctl/pkg/entra"
	"github.com/useitcloud/uicctl/pkg/plan"
	"github.com/useitcloud/uicctl/pkg/sandbox"
	"github.com/useitcloud/uicctl/pkg/sandbox/graph"
)

const (
	pcScopeID      = "1cebfa2a-fb4d-419e-b5f9-839b4383e05a" // Partner Center user_impersonation
	directoryRead  = "7ab1d382-f21e-4acd-a863-ba3e13f7da61" // Graph Directory.Read.All (application)
	writeTestAppID = "uicctl-write-test"
)

var testApp = entra.AppSpec{
	DisplayName: "Partner Center Web App", SignInAudience: "AzureADMultipleOrgs",
	RedirectURIs: []string{"http://localhost:8400/"},
	RequiredResourceAccess: []plan.ResourceAccess{
		{ResourceAppID: graph.PartnerCenterAppID, Scopes: []string{pcScopeID}},
		{ResourceAppID: graph.GraphAppID, Roles: []string{directoryRead}},
	},
}

// converged is what one pass of the writes produced.
type converged struct {
	app                       entra.AppRef
	password                  entra.NewPassword
	sp, grant, assign, group  string
	pcSP, graphSP, groupFound string
}

// converge runs every write apply makes for a new tenant, in dependency order.
func converge(t testing.TB, c *entra.Client, tenant string) converged {
	t.Helper()
	ctx := context.Background()
	var r converged
	var err error
	obs, err := c.Observe(ctx, tenant, entra.Query{UniqueName: writeTestAppID, ResourceAppIDs: []string{graph.PartnerCenterAppID, graph.GraphAppID}})
	if err != nil {
		t.Fatal(err)
	}
	r.pcSP, r.graphSP, r.group = obs.ResourceSPs[graph.PartnerCenterAppID].ObjectID, obs.ResourceSPs[graph.GraphAppID].ObjectID, obs.AdminAgents.GroupID
	if r.app, err = c.UpsertApplication(ctx, tenant, entra.AppKey{UniqueName: writeTestAppID}, testApp); err != nil {
		t.Fatalf("upsert: %v", err)
	}
	if r.password, err = c.AddPassword(ctx, tenant, r.app.ObjectID, "uicctl", time.Now().Add(180*24*time.Hour)); err != nil {
		t.Fatalf("addPassword: %v", err)
	}
	if r.sp, err = c.EnsureServicePrincipal(ctx, tenant, r.app.AppID); err != nil {
		t.Fatalf("service principal: %v", err)
	}
	if r.grant, err = c.EnsureGrant(ctx, tenant, r.sp, r.pcSP, []string{"user_impersonation"}); err != nil {
		t.Fatalf("grant: %v", err)
	}
	if r.assign, err = c.EnsureAppRoleAssignment(ctx, tenant, r.sp, r.graphSP, directoryRead); err != nil {
		t.Fatalf("assignment: %v", err)
	}
	if err = c.AddGroupMember(ctx, tenant, r.group, r.sp); err != nil {
		t.Fatalf("AdminAgents: %v", err)
	}
	return r
}

// TestWritesConverge: the writes of a fresh tenant produce what Observe then reads, and
// every one of them can run again without changing anything or failing.
func TestWritesConverge(t *testing.T) {
	e := start(t, 1)
	c := e.client(entra.Options{})
	ctx := context.Background()
	r := converge(t, c, e.tenant)
	if !r.app.Created || r.password.Secret == "" || r.password.KeyID == "" {
		t.Fatalf("first pass: %+v, password key %q", r.app, r.password.KeyID)
	}
	if _, ok := e.sb.Graph().VerifySecret(r.app.AppID, r.password.Secret); !ok {
		t.Error("the sandbox does not accept the secret AddPassword returned")
	}

	got, err := c.Observe(ctx, e.tenant, entra.Query{UniqueName: writeTestAppID, KnownAppID: r.app.AppID})
	if err != nil {
		t.Fatal(err)
	}
	want := converged{app: entra.AppRef{ObjectID: got.App.ObjectID, AppID: got.App.AppID, Created: true}, password: r.password,
		sp: got.ServicePrincipal.ObjectID, grant: got.Grants[0].ID, assign: got.AppRoleAssignments[0].ID,
		group: got.AdminAgents.GroupID, pcSP: got.Grants[0].ResourceID, graphSP: got.AppRoleAssignments[0].ResourceID}
	if d := cmp.Diff(want, r, cmp.AllowUnexported(converged{})); d != "" {
		t.Errorf("writes vs observed ids: -want +got\n%s", d)
	}
	if !got.AdminAgents.Member || len(got.App.Passwords) != 1 || got.App.Passwords[0].KeyID != r.password.KeyID ||
		!cmp.Equal(got.Grants[0].Scopes, []string{"user_impersonation"}) || !cmp.Equal(got.App.RedirectURIs, testApp.RedirectURIs) {
		t.Errorf("observed after the writes: %+v", got)
	}

	// Everything again, as after a lost answer: the same objects, no error. (addPassword
	// is left out: Graph makes a new secret per call, by design.)
	var since int
	e.requests(&since)
	ref, err := c.UpsertApplication(ctx, e.tenant, entra.AppKey{UniqueName: writeTestAppID}, testApp)
	if err != nil || ref != (entra.AppRef{ObjectID: r.app.ObjectID, AppID: r.app.AppID}) {
		t.Errorf("upsert again: %+v %v", ref, err)
	}
	if id, err := c.EnsureServicePrincipal(ctx, e.tenant, r.app.AppID); err != nil || id != r.sp {
		t.Errorf("service principal again: %q %v", id, err)
	}
	if id, err := c.EnsureGrant(ctx, e.tenant, r.sp, r.pcSP, []string{"user_impersonation"}); err != nil || id != r.grant {
		t.Errorf("grant again: %q %v", id, err)
	}
	if id, err := c.EnsureAppRoleAssignment(ctx, e.tenant, r.sp, r.graphSP, directoryRead); err != nil || id != r.assign {
		t.Errorf("assignment again: %q %v", id, err)
	}
	if err := c.AddGroupMember(ctx, e.tenant, r.group, r.sp); err != nil {
		t.Errorf("AdminAgents again: %v", err)
	}
	// An existing grant with other scopes is brought to the wanted ones.
	if id, err := c.EnsureGrant(ctx, e.tenant, r.sp, r.pcSP, []string{"user_impersonation", "offline_access"}); err != nil || id != r.grant {
		t.Errorf("grant with a new scope: %q %v", id, err)
	}
	if err := c.UpdateGrant(ctx, e.tenant, r.grant, []string{"user_impersonation"}); err != nil {
		t.Errorf("update grant: %v", err)
	}
	var statuses []int
	for _, le := range e.requests(&since) {
		statuses = append(statuses, le.Status)
	}
	t.Logf("second pass statuses: %v", statuses)

	// Removals, each twice.
	for i := range 2 {
		if err := c.RemovePassword(ctx, e.tenant, r.app.ObjectID, r.password.KeyID); err != nil {
			t.Errorf("removePassword %d: %v", i, err)
		}
		if err := c.DeleteGrant(ctx, e.tenant, r.grant); err != nil {
			t.Errorf("delete grant %d: %v", i, err)
		}
		if err := c.DeleteAppRoleAssignment(ctx, e.tenant, r.graphSP, r.assign); err != nil {
			t.Errorf("delete assignment %d: %v", i, err)
		}
		if err := c.RemoveGroupMember(ctx, e.tenant, r.group, r.sp); err != nil {
			t.Errorf("remove AdminAgents member %d: %v", i, err)
		}
	}
	got, err = c.Observe(ctx, e.tenant, entra.Query{UniqueName: writeTestAppID, KnownAppID: r.app.AppID})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.App.Passwords) != 0 || len(got.Grants) != 0 || len(got.AppRoleAssignments) != 0 || got.AdminAgents.Member {
		t.Errorf("after the removals: %+v", got)
	}

	// An adopted app is updated by appId, never created.
	adopted := testApp
	adopted.RedirectURIs = []string{"http://localhost:8400/", "https://example.com/cb"}
	if ref, err := c.UpsertApplication(ctx, e.tenant, entra.AppKey{AppID: r.app.AppID}, adopted); err != nil || ref.Created || ref.ObjectID != r.app.ObjectID {
		t.Errorf("adopted update: %+v %v", ref, err)
	}
	if _, err := c.UpsertApplication(ctx, e.tenant, entra.AppKey{AppID: "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"}, adopted); err == nil {
		t.Error("an adopted app that does not exist was not an error")
	}
}

// TestWritesUnderReplicationLag: with objects invisible for a while after they are
// created, the writes that refer to them retry until they land, shortly after the lag.
func TestWritesUnderReplicationLag(t *testing.T) {
	const lag = time.Second
	e := start(t, 1)
	c := e.client(entra.Options{})
	if _, err := c.Observe(context.Background(), e.tenant, entra.Query{UniqueName: writeTestAppID}); err != nil {
		t.Fatal(err) // the token, before the clock starts
	}
	if err := e.sb.SetFaults(sandbox.Faults{ReplicationLag: lag}); err != nil {
		t.Fatal(err)
	}
	var since int
	e.requests(&since)
	begin := time.Now()
	converge(t, c, e.tenant)
	took := time.Since(begin)
	lagged := 0
	for _, le := range e.requests(&since) {
		if le.Status == 404 || le.Status == 400 {
			lagged++
		}
	}
	// The app must replicate before its secret and principal, the principal before its
	// grant: two lags in a row, each overshot by at most the 1 s backoff cap.
	if took > 2*lag+2*time.Second {
		t.Errorf("converged in %v, want under %v", took, 2*lag+2*time.Second)
	}
	if lagged == 0 {
		t.Error("no write was refused for replication lag: the test proves nothing")
	}
	t.Logf("converged in %v with %d writes refused for replication lag", took, lagged)
}

// TestSettleDeadline: past the per-operation deadline the last refusal is the error.
func TestSettleDeadline(t *testing.T) {
	e := start(t, 1)
	c := e.client(entra.Options{SettleTimeout: 300 * time.Millisecond})
	ctx := context.Background()
	if err := e.sb.SetFaults(sandbox.Faults{ReplicationLag: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	ref, err := c.UpsertApplication(ctx, e.tenant, entra.AppKey{UniqueName: writeTestAppID}, testApp)
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	_, err = c.AddPassword(ctx, e.tenant, ref.ObjectID, "uicctl", time.Time{})
	var ge *entra.GraphError
	if !errors.As(err, &ge) || ge.Status != 404 || ge.Code != "Request_ResourceNotFound" {
		t.Fatalf("want the 404 after the deadline, got %T %v", err, err)
	}
	if took := time.Since(begin); took > time.Second {
		t.Errorf("gave up after %v, want about 300ms", took)
	}
}
