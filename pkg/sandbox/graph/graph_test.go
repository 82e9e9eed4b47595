package graph

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRequestErrors(t *testing.T) {
	f := newFixture(t)
	cases := map[string]struct {
		reason           string
		token, method    string
		path             string
		body             any
		headers          []string
		wantStatus       int
		wantCode         string
		wantMessageStart string
	}{
		"no token": {
			reason: "Graph answers a request without a bearer token with 401",
			method: "GET", path: "/applications", wantStatus: 401, wantCode: "InvalidAuthenticationToken",
			wantMessageStart: "Access token is empty.",
		},
		"bad token": {
			reason: "the verifier's message is Graph's 401 message",
			token:  "forged", method: "GET", path: "/applications", wantStatus: 401, wantCode: "InvalidAuthenticationToken",
			wantMessageStart: "Access token validation failure. Invalid signature.",
		},
		"wrong audience": {
			reason: "a Partner Center token does not open Graph",
			token:  "pc", method: "GET", path: "/applications", wantStatus: 401, wantCode: "InvalidAuthenticationToken",
			wantMessageStart: "Access token validation failure. Invalid audience.",
		},
		"missing permission": {
			reason: "creating an application needs Application.ReadWrite.All",
			token:  "readonly", method: "POST", path: "/applications", body: map[string]any{"displayName": "x"},
			wantStatus: 403, wantCode: "Authorization_RequestDenied", wantMessageStart: "Insufficient privileges",
		},
		"app role without directory read": {
			reason: "granting an app role needs AppRoleAssignment.ReadWrite.All and Application.Read.All",
			token:  "assign-only", method: "POST", path: "/servicePrincipals/" + stableGUID(testTenant, "sp", GraphAppID) + "/appRoleAssignedTo",
			body:       map[string]any{"principalId": stableGUID(testTenant, "sp", operatorApp), "resourceId": stableGUID(testTenant, "sp", GraphAppID), "appRoleId": "7ab1d382-f21e-4acd-a863-ba3e13f7da61"},
			wantStatus: 403, wantCode: "Authorization_RequestDenied",
		},
		"unknown property": {
			reason: "a property the application type does not declare is refused",
			token:  "operator", method: "POST", path: "/applications", body: map[string]any{"displayName": "x", "colour": "red"},
			wantStatus: 400, wantCode: "BadRequest", wantMessageStart: "The property 'colour' does not exist on type 'microsoft.graph.application'.",
		},
		"unknown nested property": {
			reason: "nested complex types are checked too",
			token:  "operator", method: "POST", path: "/applications",
			body:       map[string]any{"displayName": "x", "web": map[string]any{"redirectUri": []any{"https://a/"}}},
			wantStatus: 400, wantCode: "BadRequest", wantMessageStart: "The property 'redirectUri' does not exist on type 'microsoft.graph.webApplication'.",
		},
		"wrong type": {
			reason: "a string where a collection is declared",
			token:  "operator", method: "POST", path: "/applications", body: map[string]any{"displayName": "x", "identifierUris": "api://x"},
			wantStatus: 400, wantCode: "BadRequest",
		},
		"missing displayName": {
			reason: "displayName is required on create",
			token:  "operator", method: "POST", path: "/applications", body: map[string]any{"signInAudience": "AzureADMyOrg"},
			wantStatus: 400, wantCode: "Request_BadRequest",
		},
		"read-only property": {
			reason: "appId is assigned by the service",
			token:  "operator", method: "POST", path: "/applications", body: map[string]any{"displayName": "x", "appId": "33333333-3333-4333-8333-000000000000"},
			wantStatus: 400, wantCode: "Request_BadRequest",
		},
		"http redirect off loopback": {
			reason: "http:// redirect URIs are allowed for localhost only",
			token:  "operator", method: "POST", path: "/applications",
			body:       map[string]any{"displayName": "x", "web": map[string]any{"redirectUris": []any{"http://example.com/cb"}}},
			wantStatus: 400, wantCode: "Request_BadRequest",
		},
		"identifier uri off the tenant's domain": {
			reason: "https identifier URIs must use a verified domain of the tenant",
			token:  "operator", method: "POST", path: "/applications",
			body:       map[string]any{"displayName": "x", "identifierUris": []any{"https://example.com/app"}},
			wantStatus: 400, wantCode: "Request_BadRequest", wantMessageStart: "Values of identifierUris property must use a verified domain",
		},
		"invalid json": {
			reason: "a body that is not JSON",
			token:  "operator", method: "POST", path: "/applications", body: "{", wantStatus: 400, wantCode: "BadRequest",
			wantMessageStart: "Unable to read JSON request payload.",
		},
		"form content type": {
			reason: "curl -d without a JSON Content-Type",
			token:  "operator", method: "POST", path: "/applications", body: `{"displayName":"x"}`,
			headers: []string{"Content-Type", "application/x-www-form-urlencoded"}, wantStatus: 400, wantCode: "BadRequest",
			wantMessageStart: "Unable to read JSON request payload.",
		},
		"missing application": {
			reason: "GET of an unknown id is the directory's 404",
			token:  "operator", method: "GET", path: "/applications/44444444-4444-4444-8444-444444444444",
			wantStatus: 404, wantCode: "Request_ResourceNotFound",
			wantMessageStart: "Resource '44444444-4444-4444-8444-444444444444' does not exist or one of its queried reference-property objects are not present.",
		},
		"upsert without prefer": {
			reason: "PATCH by uniqueName without Prefer: create-if-missing does not create",
			token:  "operator", method: "PATCH", path: "/applications(uniqueName='nope')", body: map[string]any{"displayName": "x"},
			wantStatus: 404, wantCode: "Request_ResourceNotFound",
		},
		"unknown segment": {
			reason: "OData's answer for a path it cannot resolve",
			token:  "operator", method: "GET", path: "/applicationz", wantStatus: 400, wantCode: "BadRequest",
			wantMessageStart: "Resource not found for the segment 'applicationz'.",
		},
		"unsupported filter property": {
			reason: "$filter on a property the resource does not index",
			token:  "operator", method: "GET", path: "/applications?$filter=notes eq 'x'", wantStatus: 400, wantCode: "Request_UnsupportedQuery",
		},
		"bad filter": {
			reason: "an unterminated literal",
			token:  "operator", method: "GET", path: "/applications?$filter=appId eq 'x", wantStatus: 400, wantCode: "BadRequest",
		},
		"bad select": {
			reason: "$select of an unknown property",
			token:  "operator", method: "GET", path: "/applications?$select=id,colour", wantStatus: 400, wantCode: "BadRequest",
		},
		"top too large": {
			reason: "page sizes run 1..999",
			token:  "operator", method: "GET", path: "/applications?$top=1000", wantStatus: 400, wantCode: "Request_BadRequest",
		},
		"count without consistency level": {
			reason: "$count on directory objects needs ConsistencyLevel: eventual",
			token:  "operator", method: "GET", path: "/applications?$count=true", wantStatus: 400, wantCode: "Request_BadRequest",
		},
		"sp for unknown app": {
			reason: "no application object backs the appId",
			token:  "operator", method: "POST", path: "/servicePrincipals", body: map[string]any{"appId": "55555555-5555-4555-8555-555555555555"},
			wantStatus: 400, wantCode: "Request_BadRequest",
			wantMessageStart: "The appId '55555555-5555-4555-8555-555555555555' of the service principal does not reference a valid application object.",
		},
		"sp exists": {
			reason: "Microsoft Graph's service principal exists in every tenant",
			token:  "operator", method: "POST", path: "/servicePrincipals", body: map[string]any{"appId": GraphAppID},
			wantStatus: 409, wantCode: "Request_MultipleObjectsWithSameKeyValue",
		},
		"billing without permission": {
			reason: "the export needs PartnerBilling.Read.All",
			token:  "readonly", method: "POST", path: "/reports/partners/billing/usage/unbilled/export",
			body: map[string]any{"billingPeriod": "current", "currencyCode": "USD"}, wantStatus: 403, wantCode: "Authorization_RequestDenied",
		},
		"billing bad period": {
			reason: "billingPeriod is the enum current|last",
			token:  "operator", method: "POST", path: "/reports/partners/billing/usage/unbilled/export",
			body: map[string]any{"billingPeriod": "next", "currencyCode": "USD"}, wantStatus: 400, wantCode: "BadRequest",
		},
		"billing missing currency": {
			reason: "currencyCode is required for unbilled exports",
			token:  "operator", method: "POST", path: "/reports/partners/billing/usage/unbilled/export",
			body: map[string]any{"billingPeriod": "current"}, wantStatus: 400, wantCode: "BadRequest",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := f.do(tc.token, tc.method, tc.path, tc.body, tc.headers...)
			if r.status != tc.wantStatus || errCode(r) != tc.wantCode {
				t.Fatalf("%s\n%s %s: got %d %q, want %d %q\n%s", tc.reason, tc.method, tc.path, r.status, errCode(r), tc.wantStatus, tc.wantCode, r.raw)
			}
			e := r.body["error"].(map[string]any)
			if !strings.HasPrefix(str(e, "message"), tc.wantMessageStart) {
				t.Errorf("%s\nmessage %q, want it to start with %q", tc.reason, str(e, "message"), tc.wantMessageStart)
			}
			inner, _ := e["innerError"].(map[string]any)
			var keys []string
			for k := range inner {
				keys = append(keys, k)
			}
			if diff := cmp.Diff([]string{"client-request-id", "date", "request-id"}, sortStrings(keys)); diff != "" {
				t.Errorf("innerError keys (-want +got):\n%s", diff)
			}
			if got := r.header.Get("request-id"); got == "" || got != str(inner, "request-id") {
				t.Errorf("request-id header %q, body %q", got, str(inner, "request-id"))
			}
		})
	}
}

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestApplicationLifecycle(t *testing.T) {
	f := newFixture(t)
	r := f.do("operator", "POST", "/applications", gz(t, map[string]any{
		"@odata.type": "#microsoft.graph.application", "displayName": "Partner Center Web App",
		"signInAudience": "AzureADMultipleOrgs",
		"web":            map[string]any{"redirectUris": []any{"http://localhost:8400"}},
		"requiredResourceAccess": []any{map[string]any{"resourceAppId": PartnerCenterAppID,
			"resourceAccess": []any{map[string]any{"id": "1cebfa2a-fb4d-419e-b5f9-839b4383e05a", "type": "Scope"}}}},
	}), "Content-Encoding", "gzip")
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	id, appID := str(r.body, "id"), str(r.body, "appId")
	web := r.body["web"].(map[string]any)
	if diff := cmp.Diff([]any{"http://localhost:8400/"}, web["redirectUris"]); diff != "" {
		t.Errorf("a URI without a path comes back with '/' (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"enableAccessTokenIssuance": false, "enableIdTokenIssuance": false}, web["implicitGrantSettings"]); diff != "" {
		t.Errorf("implicitGrantSettings (-want +got):\n%s", diff)
	}

	// PATCH replaces collections as a whole and keeps sibling properties of complex ones.
	r = f.do("operator", "PATCH", "/applications(appId='"+appID+"')", map[string]any{
		"web": map[string]any{"redirectUris": []any{"https://app.example.com/cb"}}})
	if r.status != http.StatusNoContent {
		t.Fatalf("patch: %d %s", r.status, r.raw)
	}
	r = f.do("operator", "GET", "/applications/"+id+"?$select=id,web", nil)
	if diff := cmp.Diff([]any{"https://app.example.com/cb"}, r.body["web"].(map[string]any)["redirectUris"]); diff != "" {
		t.Errorf("redirectUris after PATCH (-want +got):\n%s", diff)
	}
	if _, ok := r.body["displayName"]; ok {
		t.Errorf("$select=id,web returned displayName")
	}

	// addPassword returns the secret once; GET shows only the hint.
	r = f.do("operator", "POST", "/applications/"+id+"/addPassword", map[string]any{"passwordCredential": map[string]any{"displayName": "uicctl"}})
	if r.status != http.StatusOK {
		t.Fatalf("addPassword: %d %s", r.status, r.raw)
	}
	secret, keyID := str(r.body, "secretText"), str(r.body, "keyId")
	if len(secret) < 16 || len(secret) > 64 || str(r.body, "hint") != secret[:3] {
		t.Errorf("secretText of %d characters with hint %q", len(secret), str(r.body, "hint"))
	}
	end, _ := time.Parse(time.RFC3339, str(r.body, "endDateTime"))
	if want := f.now.AddDate(2, 0, 0); !end.Equal(want) {
		t.Errorf("endDateTime %v, want start + 2 years %v", end, want)
	}
	if p, ok := f.svc.VerifySecret(appID, secret); !ok || p.KeyID != keyID {
		t.Errorf("VerifySecret = %+v, %v", p, ok)
	}
	if _, ok := f.svc.VerifySecret(appID, secret+"x"); ok {
		t.Errorf("VerifySecret accepted a wrong secret")
	}
	r = f.do("operator", "GET", "/applications/"+id, nil)
	pcs := r.body["passwordCredentials"].([]any)
	if len(pcs) != 1 || pcs[0].(map[string]any)["secretText"] != nil {
		t.Errorf("passwordCredentials after addPassword: %v", pcs)
	}
	r = f.do("operator", "POST", "/applications/"+id+"/removePassword", map[string]any{"keyId": keyID})
	if r.status != http.StatusNoContent {
		t.Fatalf("removePassword: %d %s", r.status, r.raw)
	}
	if _, ok := f.svc.VerifySecret(appID, secret); ok {
		t.Errorf("a removed password still verifies")
	}

	// Upsert by uniqueName: 201 then 204.
	for i, want := range []int{http.StatusCreated, http.StatusNoContent} {
		r = f.do("operator", "PATCH", "/applications(uniqueName='uicctl-partner-center')", map[string]any{"displayName": "upserted"},
			"Prefer", "create-if-missing")
		if r.status != want {
			t.Fatalf("upsert %d: %d, want %d: %s", i, r.status, want, r.raw)
		}
	}
	r = f.do("operator", "GET", "/applications?$filter=uniqueName eq 'uicctl-partner-center'&$select=id,uniqueName", nil)
	if v := r.body["value"].([]any); len(v) != 1 {
		t.Errorf("filter by uniqueName: %s", r.raw)
	}
	r = f.do("operator", "DELETE", "/applications/"+id, nil)
	if r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	if _, ok := f.svc.FindApp(appID); ok {
		t.Errorf("FindApp finds a deleted application")
	}
}

func TestPaging(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 5; i++ {
		if r := f.do("operator", "POST", "/applications", map[string]any{"displayName": "paged"}); r.status != 201 {
			t.Fatal(r.status)
		}
	}
	var got int
	next := "/applications?$filter=displayName eq 'paged'&$top=2&$select=id"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		r := f.do("operator", "GET", next, nil)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", next, r.status, r.raw)
		}
		got += len(r.body["value"].([]any))
		next = str(r.body, "@odata.nextLink")
		if next != "" && !strings.HasPrefix(next, f.srv.URL+"/graph/v1.0/applications?") {
			t.Fatalf("nextLink %q is not absolute under the Graph prefix", next)
		}
	}
	if got != 5 {
		t.Errorf("paging returned %d applications, want 5", got)
	}
}

func TestConsentObjects(t *testing.T) {
	f := newFixture(t)
	r := f.do("operator", "POST", "/applications", map[string]any{"displayName": "client", "signInAudience": "AzureADMultipleOrgs"})
	appID := str(r.body, "appId")
	r = f.do("other", "POST", "/servicePrincipals", map[string]any{"appId": appID})
	if r.status != 201 {
		t.Fatalf("SP in another tenant: %d %s", r.status, r.raw)
	}
	client := str(r.body, "id")
	r = f.do("other", "GET", "/servicePrincipals(appId='"+PartnerCenterAppID+"')?$select=id,oauth2PermissionScopes", nil)
	pc := str(r.body, "id")

	grant := map[string]any{"clientId": client, "consentType": "AllPrincipals", "resourceId": pc, "scope": "user_impersonation"}
	r = f.do("other", "POST", "/oauth2PermissionGrants", grant)
	if r.status != 201 || r.body["principalId"] != nil {
		t.Fatalf("grant: %d %s", r.status, r.raw)
	}
	gid := str(r.body, "id")
	if r = f.do("other", "POST", "/oauth2PermissionGrants", grant); r.status != 409 {
		t.Errorf("duplicate grant: %d %s", r.status, r.raw)
	}
	if got := f.svc.DelegatedScopes(otherTenant, appID, PartnerCenterAppID, ""); !cmp.Equal(got, []string{"user_impersonation"}) {
		t.Errorf("DelegatedScopes = %v", got)
	}
	r = f.do("other", "GET", "/oauth2PermissionGrants?$filter=clientId eq '"+client+"' and consentType eq 'AllPrincipals'", nil)
	if v := r.body["value"].([]any); len(v) != 1 {
		t.Errorf("grant filter: %s", r.raw)
	}
	if r = f.do("other", "PATCH", "/oauth2PermissionGrants/"+gid, map[string]any{"scope": "user_impersonation offline_access"}); r.status != 204 {
		t.Errorf("grant update: %d %s", r.status, r.raw)
	}

	r = f.do("other", "GET", "/servicePrincipals?$filter=appId eq '"+GraphAppID+"'&$select=id,appRoles", nil)
	graphSP := str(r.body["value"].([]any)[0].(map[string]any), "id")
	assign := map[string]any{"principalId": client, "resourceId": graphSP, "appRoleId": "7ab1d382-f21e-4acd-a863-ba3e13f7da61"}
	r = f.do("other", "POST", "/servicePrincipals/"+graphSP+"/appRoleAssignedTo", assign)
	if r.status != 201 || str(r.body, "principalType") != "ServicePrincipal" {
		t.Fatalf("appRoleAssignedTo: %d %s", r.status, r.raw)
	}
	if got := f.svc.AppRoles(otherTenant, appID, GraphAppID); !cmp.Equal(got, []string{"Directory.Read.All"}) {
		t.Errorf("AppRoles = %v", got)
	}
	aid := str(r.body, "id")
	if r = f.do("other", "POST", "/servicePrincipals/"+graphSP+"/appRoleAssignedTo", assign); r.status != 409 {
		t.Errorf("duplicate assignment: %d %s", r.status, r.raw)
	}
	if r = f.do("other", "DELETE", "/servicePrincipals/"+graphSP+"/appRoleAssignedTo/"+aid, nil); r.status != 204 {
		t.Errorf("revoke: %d %s", r.status, r.raw)
	}
	if r = f.do("other", "DELETE", "/servicePrincipals/"+graphSP+"/appRoleAssignedTo/"+aid, nil); r.status != 400 ||
		!strings.Contains(string(r.raw), "EntitlementGrant being updated or deleted is not found.") {
		t.Errorf("revoke again: %d %s", r.status, r.raw)
	}

	r = f.do("other", "GET", "/groups?$filter=displayName eq 'AdminAgents'&$select=id", nil)
	group := str(r.body["value"].([]any)[0].(map[string]any), "id")
	ref := map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + client}
	if r = f.do("other", "POST", "/groups/"+group+"/members/$ref", ref); r.status != 204 {
		t.Fatalf("members/$ref: %d %s", r.status, r.raw)
	}
	r = f.do("other", "POST", "/groups/"+group+"/members/%24ref", ref)
	if r.status != 400 || !strings.Contains(string(r.raw), "One or more added object references already exist") {
		t.Errorf("second members/$ref: %d %s", r.status, r.raw)
	}
	r = f.do("other", "GET", "/groups/"+group+"/members", nil)
	if v := r.body["value"].([]any); len(v) != 1 || str(v[0].(map[string]any), "@odata.type") != "#microsoft.graph.servicePrincipal" {
		t.Errorf("members: %s", r.raw)
	}
}

func TestReplicationLag(t *testing.T) {
	f := newFixture(t)
	f.lag = 30 * time.Second
	r := f.do("operator", "POST", "/applications", map[string]any{"displayName": "fresh", "signInAudience": "AzureADMultipleOrgs"})
	id, appID := str(r.body, "id"), str(r.body, "appId")
	if r = f.do("operator", "GET", "/applications/"+id, nil); r.status != 404 || errCode(r) != "Request_ResourceNotFound" {
		t.Errorf("GET right after create: %d %s", r.status, r.raw)
	}
	r = f.do("other", "POST", "/servicePrincipals", map[string]any{"appId": appID})
	if r.status != 400 || !strings.Contains(string(r.raw), "does not reference a valid application object") ||
		!strings.Contains(string(r.raw), "NoBackingApplicationObject") {
		t.Errorf("SP right after create: %d %s", r.status, r.raw)
	}
	f.now = f.now.Add(31 * time.Second)
	if r = f.do("operator", "GET", "/applications/"+id, nil); r.status != 200 {
		t.Errorf("GET after the lag: %d %s", r.status, r.raw)
	}
	if r = f.do("other", "POST", "/servicePrincipals", map[string]any{"appId": appID}); r.status != 201 {
		t.Errorf("SP after the lag: %d %s", r.status, r.raw)
	}
}

func TestSingleTenantAppElsewhere(t *testing.T) {
	f := newFixture(t)
	r := f.do("operator", "POST", "/applications", map[string]any{"displayName": "mine"})
	if r = f.do("other", "POST", "/servicePrincipals", map[string]any{"appId": str(r.body, "appId")}); r.status != 400 {
		t.Errorf("an AzureADMyOrg app instantiated in another tenant: %d %s", r.status, r.raw)
	}
}

func TestSnapshotRestore(t *testing.T) {
	f := newFixture(t)
	r := f.do("operator", "POST", "/applications", map[string]any{"displayName": "kept"})
	appID := str(r.body, "appId")
	r = f.do("operator", "POST", "/applications(appId='"+appID+"')/addPassword", nil)
	secret := str(r.body, "secretText")
	snap, err := f.svc.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(snap), secret) || strings.Contains(string(snap), testSecret) {
		t.Fatal("the snapshot holds a secret in clear")
	}
	g := New(Options{})
	if err := g.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if a, ok := g.FindApp(appID); !ok || a.DisplayName != "kept" {
		t.Errorf("FindApp after Restore = %+v, %v", a, ok)
	}
	if _, ok := g.VerifySecret(appID, secret); !ok {
		t.Errorf("secret does not verify after Restore")
	}
	if _, ok := g.VerifySecret(operatorApp, testSecret); !ok {
		t.Errorf("operator secret does not verify after Restore")
	}
	if err := g.Restore([]byte(`{"version":2}`)); err == nil {
		t.Errorf("Restore accepted an unknown version")
	}
}

func TestIdentifierURIs(t *testing.T) {
	f := newFixture(t)
	r := f.do("operator", "POST", "/applications", map[string]any{"displayName": "x",
		"identifierUris": []any{"https://contoso.onmicrosoft.com/8a1c", "api://uicctl"}})
	if r.status != 201 {
		t.Fatalf("verified-domain and api:// identifier URIs: %d %s", r.status, r.raw)
	}
	r = f.do("operator", "POST", "/applications", map[string]any{"displayName": "y", "identifierUris": []any{"API://UICCTL"}})
	if r.status != 400 || errCode(r) != "Request_MultipleObjectsWithSameKeyValue" {
		t.Errorf("duplicate identifier URI: %d %s", r.status, r.raw)
	}
}

func TestTokenKinds(t *testing.T) {
	f := newFixture(t)
	f.tok["delegated"] = Principal{TenantID: testTenant, AppID: operatorApp, ObjectID: "66666666-6666-4666-8666-666666666666",
		Audience: "https://graph.microsoft.com", Scopes: []string{"Application.ReadWrite.All", "User.Read"}, MFA: true}
	f.tok["delegated-read"] = Principal{TenantID: testTenant, AppID: operatorApp, Audience: "https://graph.microsoft.com",
		Scopes: []string{"User.Read"}}
	f.tok["owner"] = Principal{TenantID: testTenant, AppID: operatorApp, ObjectID: "77777777-7777-4777-8777-777777777777",
		Audience: GraphAppID, Roles: []string{"Application.ReadWrite.OwnedBy"}}

	if r := f.do("delegated", "POST", "/applications", map[string]any{"displayName": "by a user"}); r.status != 201 {
		t.Errorf("delegated Application.ReadWrite.All: %d %s", r.status, r.raw)
	}
	// A delegated token is judged by its scopes, never by roles it does not have.
	if r := f.do("delegated-read", "GET", "/applications", nil); r.status != 403 {
		t.Errorf("delegated User.Read listing applications: %d %s", r.status, r.raw)
	}
	// Application.ReadWrite.OwnedBy sees and changes only what it created.
	r := f.do("owner", "POST", "/applications", map[string]any{"displayName": "owned"})
	if r.status != 201 {
		t.Fatalf("OwnedBy create: %d %s", r.status, r.raw)
	}
	owned := str(r.body, "id")
	r = f.do("owner", "GET", "/applications", nil)
	if v := r.body["value"].([]any); len(v) != 1 || str(v[0].(map[string]any), "id") != owned {
		t.Errorf("OwnedBy list: %s", r.raw)
	}
	opApp, _ := f.svc.FindApp(operatorApp)
	if r = f.do("owner", "PATCH", "/applications/"+opApp.ObjectID, map[string]any{"notes": "x"}); r.status != 404 {
		t.Errorf("OwnedBy PATCH of an app it does not own: %d %s", r.status, r.raw)
	}
	if r = f.do("owner", "POST", "/servicePrincipals", map[string]any{"appId": operatorApp}); r.status != 409 {
		t.Errorf("OwnedBy instantiating an app whose SP exists: %d %s", r.status, r.raw)
	}
	r = f.do("operator", "POST", "/applications", map[string]any{"displayName": "not owned"})
	if r = f.do("owner", "POST", "/servicePrincipals", map[string]any{"appId": str(r.body, "appId")}); r.status != 403 {
		t.Errorf("OwnedBy instantiating an app it does not own: %d %s", r.status, r.raw)
	}
	// Object ids and alternate keys match regardless of case.
	if r = f.do("operator", "GET", "/applications/"+strings.ToUpper(owned), nil); r.status != 200 {
		t.Errorf("upper-case object id: %d %s", r.status, r.raw)
	}
	if r = f.do("operator", "GET", "/servicePrincipals(appId='"+strings.ToUpper(PartnerCenterAppID)+"')", nil); r.status != 200 {
		t.Errorf("upper-case appId key: %d %s", r.status, r.raw)
	}
}

func TestFilterAny(t *testing.T) {
	f := newFixture(t)
	f.do("operator", "POST", "/applications", map[string]any{"displayName": "x", "identifierUris": []any{"api://uicctl-any"}})
	cases := map[string]struct {
		reason string
		path   string
		want   int
	}{
		"identifierUris": {"lambda any on a string collection", "/applications?$filter=identifierUris/any(x:x eq 'api://uicctl-any')", 1},
		"no match":       {"lambda any finds nothing", "/applications?$filter=identifierUris/any(x:x eq 'api://other')", 0},
		"spn":            {"servicePrincipalNames hold identifier URIs", "/servicePrincipals?$filter=servicePrincipalNames/any(c:c eq 'https://graph.microsoft.com')", 1},
		"or":             {"or of two equalities", "/servicePrincipals?$filter=appId eq '" + GraphAppID + "' or appId eq '" + PartnerCenterAppID + "'", 2},
		"startswith":     {"startswith on displayName", "/servicePrincipals?$filter=startswith(displayName,'microsoft ')", 3},
	}
	for name, tc := range cases {
		r := f.do("operator", "GET", tc.path, nil)
		if r.status != 200 {
			t.Errorf("%s (%s): %d %s", name, tc.reason, r.status, r.raw)
			continue
		}
		if got := len(r.body["value"].([]any)); got != tc.want {
			t.Errorf("%s (%s): %d results, want %d", name, tc.reason, got, tc.want)
		}
	}
	if r := f.do("operator", "GET", "/applications?$filter=identifierUris/any(x:y eq 'a')", nil); r.status != 400 {
		t.Errorf("lambda with an unbound variable: %d %s", r.status, r.raw)
	}
}

func TestOrganization(t *testing.T) {
	f := newFixture(t)
	r := f.do("operator", "GET", "/organization?$select=id,displayName,verifiedDomains", nil)
	v, _ := r.body["value"].([]any)
	if r.status != 200 || len(v) != 1 || str(v[0].(map[string]any), "id") != testTenant {
		t.Fatalf("organization: %d %s", r.status, r.raw)
	}
	doms := v[0].(map[string]any)["verifiedDomains"].([]any)
	if str(doms[0].(map[string]any), "name") != "contoso.onmicrosoft.com" {
		t.Errorf("verified domains: %v", doms)
	}
	if r := f.do("operator", "GET", "/organization/"+otherTenant, nil); r.status != 404 {
		t.Errorf("another tenant's organization: %d %s", r.status, r.raw)
	}
}

func TestGrantID(t *testing.T) {
	// Published grants (Azure/azure-cli issue 20974): the id is derived from the GUIDs.
	const client, resource, principal = "b25985a8-9d2b-4fde-9fa7-6c4e43a8ddec", "a3efc889-f1b7-4532-9e01-91e32d1039f4", "182c8534-f413-487c-91a3-7addc80e35d5"
	if got, want := grantID(client, resource, ""), "qIVZsiud3k-fp2xOQ6jd7InI76O38TJFngGR4y0QOfQ"; got != want {
		t.Errorf("AllPrincipals grant id %q, want %q", got, want)
	}
	if got, want := grantID(client, resource, principal), "qIVZsiud3k-fp2xOQ6jd7InI76O38TJFngGR4y0QOfQ0hSwYE_R8SJGjet3IDjXV"; got != want {
		t.Errorf("Principal grant id %q, want %q", got, want)
	}
}
