package graph

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestServicePrincipalNavigation covers GET servicePrincipals/{id}/oauth2PermissionGrants
// and /memberOf, by object id and by the appId alternate key, with $select, the
// permission checks of their documentation pages and 404 for an unknown principal.
func TestServicePrincipalNavigation(t *testing.T) {
	f := newFixture(t)
	r := f.do("operator", "POST", "/applications", map[string]any{"displayName": "client", "signInAudience": "AzureADMultipleOrgs"})
	appID := str(r.body, "appId")
	r = f.do("operator", "POST", "/servicePrincipals", map[string]any{"appId": appID})
	client := str(r.body, "id")
	r = f.do("operator", "GET", "/servicePrincipals(appId='"+PartnerCenterAppID+"')?$select=id", nil)
	pc := str(r.body, "id")
	r = f.do("operator", "POST", "/oauth2PermissionGrants",
		map[string]any{"clientId": client, "consentType": "AllPrincipals", "resourceId": pc, "scope": "user_impersonation"})
	if r.status != 201 {
		t.Fatalf("grant: %d %s", r.status, r.raw)
	}
	grantID := str(r.body, "id")
	// A grant of another client must not show up under this one.
	r = f.do("operator", "GET", "/servicePrincipals(appId='"+operatorApp+"')?$select=id", nil)
	operatorSP := str(r.body, "id")
	if r = f.do("operator", "POST", "/oauth2PermissionGrants",
		map[string]any{"clientId": operatorSP, "consentType": "AllPrincipals", "resourceId": pc, "scope": "user_impersonation"}); r.status != 201 {
		t.Fatalf("other grant: %d %s", r.status, r.raw)
	}
	r = f.do("operator", "GET", "/groups?$filter=displayName eq 'AdminAgents'&$select=id", nil)
	group := str(r.body["value"].([]any)[0].(map[string]any), "id")
	ref := map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + client}
	if r = f.do("operator", "POST", "/groups/"+group+"/members/$ref", ref); r.status != 204 {
		t.Fatalf("members/$ref: %d %s", r.status, r.raw)
	}
	base := f.srv.URL + "/graph/v1.0/$metadata#"

	type want struct {
		status  int
		code    string
		context string
		items   []map[string]any
	}
	for _, tc := range []struct {
		name, reason, token, path string
		want                      want
	}{
		{name: "grants by id", reason: "only the grants whose clientId is the principal", token: "operator",
			path: "/servicePrincipals/" + client + "/oauth2PermissionGrants",
			want: want{status: 200, context: base + "oauth2PermissionGrants", items: []map[string]any{{
				"id": grantID, "clientId": client, "consentType": "AllPrincipals", "principalId": nil,
				"resourceId": pc, "scope": "user_impersonation"}}}},
		{name: "grants by appId with select", reason: "the appId alternate key and $select as documented", token: "operator",
			path: "/servicePrincipals(appId='" + appID + "')/oauth2PermissionGrants?$select=resourceId,scope",
			want: want{status: 200, context: base + "oauth2PermissionGrants(resourceId,scope)",
				items: []map[string]any{{"resourceId": pc, "scope": "user_impersonation"}}}},
		{name: "grants without permission", reason: "Application.Read.All is not on the page's list", token: "readonly",
			path: "/servicePrincipals/" + client + "/oauth2PermissionGrants", want: want{status: 403, code: "Authorization_RequestDenied"}},
		{name: "grants of unknown principal", reason: "404 like every keyed read", token: "operator",
			path: "/servicePrincipals(appId='44444444-4444-4444-8444-444444444444')/oauth2PermissionGrants",
			want: want{status: 404, code: "Request_ResourceNotFound"}},
		{name: "grant by id under navigation", reason: "the sandbox serves the list only", token: "operator",
			path: "/servicePrincipals/" + client + "/oauth2PermissionGrants/" + grantID, want: want{status: 400, code: "BadRequest"}},
		{name: "memberOf by appId", reason: "direct groups as directoryObjects with @odata.type", token: "operator",
			path: "/servicePrincipals(appId='" + appID + "')/memberOf?$select=id,displayName",
			want: want{status: 200, context: base + "directoryObjects", items: []map[string]any{{
				"@odata.type": "#microsoft.graph.group", "id": group, "displayName": "AdminAgents"}}}},
		{name: "memberOf of a principal in no group", reason: "an empty collection, not 404", token: "operator",
			path: "/servicePrincipals/" + operatorSP + "/memberOf", want: want{status: 200, context: base + "directoryObjects", items: []map[string]any{}}},
		{name: "memberOf without group read", reason: "Application.Read.All suffices; groups come back with only id and type", token: "readonly",
			path: "/servicePrincipals/" + client + "/memberOf?$select=id,displayName",
			want: want{status: 200, context: base + "directoryObjects", items: []map[string]any{{
				"@odata.type": "#microsoft.graph.group", "id": group, "displayName": nil}}}},
		{name: "memberOf bad select", reason: "$select is checked against the type", token: "operator",
			path: "/servicePrincipals/" + client + "/memberOf?$select=nope", want: want{status: 400, code: "BadRequest"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(tc.token, "GET", tc.path, nil)
			got := want{status: r.status, code: errCode(r)}
			if r.status == 200 {
				got.context = str(r.body, "@odata.context")
				got.items = []map[string]any{}
				for _, v := range r.body["value"].([]any) {
					got.items = append(got.items, v.(map[string]any))
				}
			}
			if d := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); d != "" {
				t.Errorf("%s (%s): -want +got\n%s", tc.path, tc.reason, d)
			}
		})
	}

	if r := f.do("operator", "POST", "/servicePrincipals/"+client+"/memberOf", map[string]any{}); r.status != 405 {
		t.Errorf("POST memberOf: %d %s", r.status, r.raw)
	}

	// In a batch, as pkg/entra sends them.
	r = f.do("operator", "POST", "/$batch", map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "GET", "url": "/servicePrincipals(appId='" + appID + "')/oauth2PermissionGrants?%24select=id"},
		map[string]any{"id": "2", "method": "GET", "url": "/servicePrincipals(appId='" + appID + "')/memberOf?%24select=id"},
	}})
	if r.status != 200 {
		t.Fatalf("batch: %d %s", r.status, r.raw)
	}
	for _, it := range r.body["responses"].([]any) {
		it := it.(map[string]any)
		if it["status"] != float64(200) || len(it["body"].(map[string]any)["value"].([]any)) != 1 {
			t.Errorf("batch item %v: %v", it["id"], it)
		}
	}
}
