package graph

import (
	"testing"
	"time"
)

// TestAppManagementPolicies: the tenant default and an assigned policy restrict addPassword
// as documented, with the error a real tenant answers; reading needs Policy.Read.All.
func TestAppManagementPolicies(t *testing.T) {
	f := newFixture(t)
	f.tok["admin"] = Principal{TenantID: testTenant, AppID: operatorApp, Audience: "https://graph.microsoft.com",
		Roles: []string{"Application.ReadWrite.All", "Policy.ReadWrite.ApplicationConfiguration"}}
	app := f.do("operator", "POST", "/applications", map[string]any{"displayName": "policy test"})
	if app.status != 201 {
		t.Fatalf("create app: %d %s", app.status, app.raw)
	}
	id := str(app.body, "id")
	add := func(days int) resp {
		start := f.now
		return f.do("operator", "POST", "/applications/"+id+"/addPassword", map[string]any{"passwordCredential": map[string]any{
			"displayName": "x", "startDateTime": start.Format(time.RFC3339), "endDateTime": start.AddDate(0, 0, days).Format(time.RFC3339)}})
	}

	def := f.do("operator", "GET", "/policies/defaultAppManagementPolicy", nil)
	if def.status != 200 || def.body["isEnabled"] != false || def.body["applicationRestrictions"] == nil {
		t.Fatalf("the default policy exists, disabled: %d %s", def.status, def.raw)
	}
	if r := f.do("readonly", "GET", "/policies/defaultAppManagementPolicy", nil); r.status != 403 {
		t.Errorf("reading the policy without Policy.Read.All: %d", r.status)
	}
	if r := add(730); r.status != 200 {
		t.Fatalf("no policy: a 2-year password is fine: %d %s", r.status, r.raw)
	}

	ninety := map[string]any{"isEnabled": true, "applicationRestrictions": map[string]any{"passwordCredentials": []any{
		map[string]any{"restrictionType": "passwordLifetime", "state": "enabled", "maxLifetime": "P90D", "restrictForAppsCreatedAfterDateTime": "2019-01-01T00:00:00Z"}}}}
	if r := f.do("operator", "PATCH", "/policies/defaultAppManagementPolicy", ninety); r.status != 403 {
		t.Errorf("changing the policy needs Policy.ReadWrite.ApplicationConfiguration: %d", r.status)
	}
	if r := f.do("admin", "PATCH", "/policies/defaultAppManagementPolicy", ninety); r.status != 204 {
		t.Fatalf("PATCH default policy: %d %s", r.status, r.raw)
	}
	r := add(180)
	if r.status != 400 {
		t.Fatalf("180 days under a 90-day policy: %d %s", r.status, r.raw)
	}
	e, _ := r.body["error"].(map[string]any)
	details, _ := e["details"].([]any)
	if e["code"] != "CredentialInvalidLifetimeAsPerAppPolicy" || e["message"] != "Credential lifetime exceeds the max value allowed as per assigned policy '"+defaultPolicyID+"'." ||
		len(details) != 1 || details[0].(map[string]any)["code"] != "InvalidKeyEndDate" || details[0].(map[string]any)["target"] != "EndDate" {
		t.Errorf("the documented error shape: %s", r.raw)
	}
	if r := add(90); r.status != 200 {
		t.Errorf("exactly the maximum is allowed: %d %s", r.status, r.raw)
	}

	// An assigned policy overrides the tenant default: 30 days, then passwords blocked.
	pol := f.do("admin", "POST", "/policies/appManagementPolicies", map[string]any{"displayName": "strict", "isEnabled": true,
		"restrictions": map[string]any{"passwordCredentials": []any{map[string]any{"restrictionType": "passwordLifetime", "maxLifetime": "P30D"}}}})
	if pol.status != 201 {
		t.Fatalf("create policy: %d %s", pol.status, pol.raw)
	}
	pid := str(pol.body, "id")
	if r := f.do("admin", "POST", "/applications/"+id+"/appManagementPolicies/$ref", map[string]any{"@odata.id": f.srv.URL + "/graph/v1.0/policies/appManagementPolicies/" + pid}); r.status != 204 {
		t.Fatalf("assign policy: %d %s", r.status, r.raw)
	}
	appID := str(app.body, "appId")
	got := f.do("operator", "GET", "/applications(appId='"+appID+"')/appManagementPolicies", nil)
	if list, _ := got.body["value"].([]any); got.status != 200 || len(list) != 1 || list[0].(map[string]any)["id"] != pid {
		t.Errorf("the app's policy by appId: %d %s", got.status, got.raw)
	}
	if r := f.do("operator", "GET", "/policies/appManagementPolicies/"+pid+"/appliesTo", nil); r.status != 200 || len(r.body["value"].([]any)) != 1 {
		t.Errorf("appliesTo: %d %s", r.status, r.raw)
	}
	if r := add(60); r.status != 400 || r.body["error"].(map[string]any)["message"] != "Credential lifetime exceeds the max value allowed as per assigned policy '"+pid+"'." {
		t.Errorf("60 days under the app's 30-day policy: %d %s", r.status, r.raw)
	}
	if r := add(30); r.status != 200 {
		t.Errorf("30 days under the app's policy: %d %s", r.status, r.raw)
	}
	if r := f.do("admin", "PATCH", "/policies/appManagementPolicies/"+pid, map[string]any{"restrictions": map[string]any{
		"passwordCredentials": []any{map[string]any{"restrictionType": "passwordAddition"}}}}); r.status != 204 {
		t.Fatalf("PATCH policy: %d %s", r.status, r.raw)
	}
	if r := add(1); r.status != 400 || r.body["error"].(map[string]any)["code"] != "CredentialTypeNotAllowedAsPerAppPolicy" {
		t.Errorf("passwords blocked: %d %s", r.status, r.raw)
	}
	if r := f.do("admin", "PATCH", "/policies/defaultAppManagementPolicy", map[string]any{"applicationRestrictions": map[string]any{
		"passwordCredentials": []any{map[string]any{"restrictionType": "passwordLifetime"}}}}); r.status != 400 {
		t.Errorf("passwordLifetime without maxLifetime is refused: %d %s", r.status, r.raw)
	}
}
