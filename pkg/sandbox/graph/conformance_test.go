package graph

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestConformance replays the documented example requests of the API fact sheet (sections
// A and E) in order and compares status, headers and JSON keys with the documented
// responses. {name} in a path or body is a value an earlier step captured.
func TestConformance(t *testing.T) {
	f := newFixture(t)
	vars := map[string]string{"graph": GraphAppID, "pc": PartnerCenterAppID}
	sub := func(s string) string {
		return regexp.MustCompile(`\{(\w+)\}`).ReplaceAllStringFunc(s, func(m string) string {
			if v, ok := vars[m[1:len(m)-1]]; ok {
				return v
			}
			return m
		})
	}
	var subBody func(v any) any
	subBody = func(v any) any {
		switch x := v.(type) {
		case string:
			return sub(x)
		case map[string]any:
			out := map[string]any{}
			for k, e := range x {
				out[k] = subBody(e)
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = subBody(e)
			}
			return out
		}
		return v
	}
	type step struct {
		name, doc    string // doc: where the example is documented
		token        string
		method, path string
		body         any
		headers      []string
		status       int
		header       map[string]string // header -> required prefix ("" = present)
		keys         []string          // top-level keys the documented response has
		exact        bool              // the response has exactly these keys
		capture      map[string]string // var -> top-level key, or "value.0.key"
		noBody       bool
		context      string // the documented @odata.context after $metadata
	}
	jsonCT := map[string]string{"Content-Type": "application/json"}
	steps := []step{
		{name: "create application", doc: "A3 Create, A2 sample 201", context: "#applications/$entity", method: "POST", path: "/applications",
			body: map[string]any{"displayName": "Partner Center Web App", "signInAudience": "AzureADMultipleOrgs",
				"web": map[string]any{"redirectUris": []any{"http://localhost:8400/"},
					"implicitGrantSettings": map[string]any{"enableIdTokenIssuance": false, "enableAccessTokenIssuance": false}},
				"requiredResourceAccess": []any{map[string]any{"resourceAppId": "{pc}",
					"resourceAccess": []any{map[string]any{"id": "1cebfa2a-fb4d-419e-b5f9-839b4383e05a", "type": "Scope"}}}}},
			status: 201, header: jsonCT,
			keys:    []string{"@odata.context", "id", "appId", "displayName", "signInAudience", "identifierUris", "web", "requiredResourceAccess", "passwordCredentials"},
			capture: map[string]string{"app": "id", "appId": "appId"}},
		{name: "list by appId", doc: "A3 List and filter", context: "#applications", method: "GET", path: "/applications?$filter=appId eq '{appId}'",
			status: 200, header: jsonCT, keys: []string{"@odata.context", "value"}, exact: true},
		{name: "list by displayName with select", doc: "A3 List and filter", context: "#applications(id,appId,displayName,web,requiredResourceAccess)", method: "GET",
			path:   "/applications?$filter=displayName eq 'Partner Center Web App'&$select=id,appId,displayName,web,requiredResourceAccess",
			status: 200, header: jsonCT, keys: []string{"@odata.context", "value"}, exact: true},
		{name: "no match is an empty list", doc: "A3 List and filter", method: "GET", path: "/applications?$filter=displayName eq 'none'",
			status: 200, header: jsonCT, keys: []string{"@odata.context", "value"}, exact: true},
		{name: "update", doc: "A3 Update", method: "PATCH", path: "/applications/{app}",
			body: map[string]any{"web": map[string]any{"redirectUris": []any{"http://localhost:8400/"}}}, status: 204, noBody: true},
		{name: "update by appId", doc: "A3 Update, alternate key", method: "PATCH", path: "/applications(appId='{appId}')",
			body: map[string]any{"displayName": "Partner Center Web App"}, status: 204, noBody: true},
		{name: "upsert creates", doc: "A3 Upsert", method: "PATCH", path: "/applications(uniqueName='uicctl-partner-center')",
			body: map[string]any{"displayName": "uicctl"}, headers: []string{"Prefer", "create-if-missing"}, status: 201, header: jsonCT,
			keys: []string{"@odata.context", "id", "appId", "displayName", "uniqueName"}},
		{name: "upsert updates", doc: "A3 Upsert", method: "PATCH", path: "/applications(uniqueName='uicctl-partner-center')",
			body: map[string]any{"displayName": "uicctl"}, headers: []string{"Prefer", "create-if-missing"}, status: 204, noBody: true},
		{name: "upsert without Prefer", doc: "A3 Upsert", method: "PATCH", path: "/applications(uniqueName='missing')",
			body: map[string]any{"displayName": "uicctl"}, status: 404, header: jsonCT, keys: []string{"error"}, exact: true},
		{name: "addPassword", doc: "A3 addPassword", context: "#microsoft.graph.passwordCredential", method: "POST", path: "/applications/{app}/addPassword",
			body:   map[string]any{"passwordCredential": map[string]any{"displayName": "Password friendly name"}},
			status: 200, header: jsonCT, exact: true,
			keys:    []string{"@odata.context", "customKeyIdentifier", "endDateTime", "keyId", "startDateTime", "secretText", "hint", "displayName"},
			capture: map[string]string{"keyId": "keyId"}},
		{name: "addPassword by appId", doc: "A3 addPassword, alternate key", method: "POST", path: "/applications(appId='{appId}')/addPassword",
			body: map[string]any{}, status: 200, header: jsonCT, keys: []string{"secretText", "hint", "keyId"}},
		{name: "removePassword", doc: "A3 removePassword", method: "POST", path: "/applications/{app}/removePassword",
			body: map[string]any{"keyId": "{keyId}"}, status: 204, noBody: true},
		{name: "create service principal", doc: "A4", context: "#servicePrincipals/$entity", method: "POST", path: "/servicePrincipals", body: map[string]any{"appId": "{appId}"},
			status: 201, header: jsonCT, keys: []string{"@odata.context", "id", "appId", "displayName", "appRoles", "oauth2PermissionScopes"},
			capture: map[string]string{"sp": "id"}},
		{name: "look up resource SP", doc: "A4 Look up", method: "GET",
			path:   "/servicePrincipals?$filter=appId eq '{pc}'&$select=id,appId,displayName,appRoles,oauth2PermissionScopes",
			status: 200, header: jsonCT, keys: []string{"@odata.context", "value"}, exact: true, capture: map[string]string{"pcSP": "value.0.id"}},
		{name: "look up by alternate key", doc: "A4 Look up", method: "GET", path: "/servicePrincipals(appId='{graph}')",
			status: 200, header: jsonCT, keys: []string{"id", "appId", "appRoles", "oauth2PermissionScopes"}, capture: map[string]string{"graphSP": "id"}},
		{name: "create grant", doc: "A5 Create", context: "#oauth2PermissionGrants/$entity", method: "POST", path: "/oauth2PermissionGrants",
			body:   map[string]any{"clientId": "{sp}", "consentType": "AllPrincipals", "resourceId": "{pcSP}", "scope": "user_impersonation"},
			status: 201, header: jsonCT, exact: true,
			keys:    []string{"@odata.context", "clientId", "consentType", "id", "principalId", "resourceId", "scope"},
			capture: map[string]string{"grant": "id"}},
		{name: "read grants", doc: "A5 Read", method: "GET", path: "/oauth2PermissionGrants?$filter=clientId eq '{sp}' and consentType eq 'AllPrincipals'",
			status: 200, header: jsonCT, keys: []string{"@odata.context", "value"}, exact: true},
		{name: "change grant scopes", doc: "A5 Change", method: "PATCH", path: "/oauth2PermissionGrants/{grant}",
			body: map[string]any{"scope": "user_impersonation"}, status: 204, noBody: true},
		{name: "duplicate grant", doc: "A5 duplicate (status UNCONFIRMED)", method: "POST", path: "/oauth2PermissionGrants",
			body:   map[string]any{"clientId": "{sp}", "consentType": "AllPrincipals", "resourceId": "{pcSP}", "scope": "user_impersonation"},
			status: 409, header: jsonCT, keys: []string{"error"}, exact: true},
		{name: "delete grant", doc: "A5 Delete", method: "DELETE", path: "/oauth2PermissionGrants/{grant}", status: 204, noBody: true},
		{name: "appRoleAssignedTo", doc: "A6", method: "POST", path: "/servicePrincipals/{graphSP}/appRoleAssignedTo",
			body:   map[string]any{"principalId": "{sp}", "resourceId": "{graphSP}", "appRoleId": "7ab1d382-f21e-4acd-a863-ba3e13f7da61"},
			status: 201, header: jsonCT, exact: true,
			keys: []string{"@odata.context", "id", "deletedDateTime", "appRoleId", "createdDateTime", "principalDisplayName", "principalId",
				"principalType", "resourceDisplayName", "resourceId"},
			capture: map[string]string{"assignment": "id"}},
		{name: "revoke app role", doc: "A6 Revoke", method: "DELETE", path: "/servicePrincipals/{graphSP}/appRoleAssignedTo/{assignment}",
			status: 204, noBody: true},
		{name: "appRoleAssignments", doc: "A6 Alternative", method: "POST", path: "/servicePrincipals/{sp}/appRoleAssignments",
			body:   map[string]any{"principalId": "{sp}", "resourceId": "{graphSP}", "appRoleId": "7ab1d382-f21e-4acd-a863-ba3e13f7da61"},
			status: 201, header: jsonCT, keys: []string{"id", "appRoleId", "principalId", "principalType", "resourceId"}},
		{name: "find AdminAgents", doc: "A7", method: "GET", path: "/groups?$filter=displayName eq 'AdminAgents'&$select=id",
			status: 200, header: jsonCT, keys: []string{"@odata.context", "value"}, exact: true, capture: map[string]string{"group": "value.0.id"}},
		{name: "add member", doc: "A7", method: "POST", path: "/groups/{group}/members/$ref",
			body: map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/{sp}"}, status: 204, noBody: true},
		{name: "add member again", doc: "A7 already a member", method: "POST", path: "/groups/{group}/members/$ref",
			body:   map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/{sp}"},
			status: 400, header: jsonCT, keys: []string{"error"}, exact: true},
		{name: "insufficient privileges", doc: "A8 Error body", token: "readonly", method: "POST", path: "/applications",
			body: map[string]any{"displayName": "x"}, status: 403, header: jsonCT, keys: []string{"error"}, exact: true},
		{name: "batch", doc: "A10", method: "POST", path: "/$batch",
			body: map[string]any{"requests": []any{
				map[string]any{"id": "1", "method": "GET", "url": "/applications?$filter=appId eq '{appId}'"},
				map[string]any{"id": "2", "method": "GET", "url": "/applications/{app}", "dependsOn": []any{"1"}}}},
			status: 200, header: jsonCT, keys: []string{"responses"}, exact: true},
		{name: "unbilled export", doc: "E Export actions", method: "POST", path: "/reports/partners/billing/usage/unbilled/export",
			body:   map[string]any{"billingPeriod": "current", "currencyCode": "USD", "attributeSet": "full"},
			status: 202, header: map[string]string{"Location": "https://"}, noBody: true},
		{name: "billed export (SDK action segment)", doc: "E Export actions", method: "POST",
			path: "/reports/partners/billing/usage/billed/microsoft.graph.partners.billing.export",
			body: map[string]any{"invoiceId": "G000000001", "attributeSet": "basic"}, status: 202, header: map[string]string{"Location": "https://"}, noBody: true},
		{name: "reconciliation unbilled export", doc: "E Export actions", method: "POST",
			path: "/reports/partners/billing/reconciliation/unbilled/export",
			body: map[string]any{"billingPeriod": "last", "currencyCode": "USD"}, status: 202, header: map[string]string{"Location": "https://"}, noBody: true},
	}
	for _, st := range steps {
		token := st.token
		if token == "" {
			token = "operator"
		}
		var body any
		if st.body != nil {
			body = subBody(st.body)
		}
		r := f.do(token, st.method, sub(st.path), body, st.headers...)
		if r.status != st.status {
			t.Errorf("%s (%s): status %d, want %d\n%s", st.name, st.doc, r.status, st.status, r.raw)
			continue
		}
		for h, prefix := range st.header {
			if v := r.header.Get(h); v == "" || !strings.HasPrefix(v, prefix) {
				t.Errorf("%s (%s): header %s = %q, want prefix %q", st.name, st.doc, h, v, prefix)
			}
		}
		if st.noBody {
			if len(r.raw) != 0 {
				t.Errorf("%s (%s): body %s, want none", st.name, st.doc, r.raw)
			}
			continue
		}
		if st.context != "" {
			if want := f.srv.URL + "/graph/v1.0/$metadata" + sub(st.context); str(r.body, "@odata.context") != want {
				t.Errorf("%s (%s): @odata.context %q, want %q", st.name, st.doc, str(r.body, "@odata.context"), want)
			}
		}
		var got []string
		for k := range r.body {
			got = append(got, k)
		}
		sort.Strings(got)
		want := append([]string(nil), st.keys...)
		sort.Strings(want)
		if st.exact {
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s (%s): keys (-want +got):\n%s", st.name, st.doc, diff)
			}
		} else {
			for _, k := range want {
				if _, ok := r.body[k]; !ok {
					t.Errorf("%s (%s): key %q missing from %v", st.name, st.doc, k, got)
				}
			}
		}
		if e, ok := r.body["error"].(map[string]any); ok {
			var ek []string
			for k := range e {
				ek = append(ek, k)
			}
			sort.Strings(ek)
			if diff := cmp.Diff([]string{"code", "innerError", "message"}, ek); diff != "" {
				t.Errorf("%s: error keys (-want +got):\n%s", st.name, diff)
			}
		}
		for v, path := range st.capture {
			val := any(r.body)
			for _, p := range strings.Split(path, ".") {
				switch x := val.(type) {
				case map[string]any:
					val = x[p]
				case []any:
					if len(x) == 0 {
						val = nil
					} else {
						val = x[0]
					}
				}
			}
			s, _ := val.(string)
			if s == "" {
				t.Fatalf("%s: nothing to capture at %s in %s", st.name, path, r.raw)
			}
			vars[v] = s
		}
	}
	if t.Failed() {
		return
	}
	// The documented poll → manifest sequence of an export (E Asynchronous flow).
	r := f.do("operator", "POST", "/reports/partners/billing/reconciliation/billed/export", map[string]any{"invoiceId": "G000000002"})
	loc := r.header.Get("Location")
	running := f.do("operator", "GET", loc, nil)
	done := f.do("operator", "GET", loc, nil)
	manifest := f.do("operator", "GET", str(done.body, "resourceLocation@odata.navigationLink"), nil)
	for _, c := range []struct {
		name string
		r    resp
		keys []string
	}{
		{"running operation", running, []string{"@odata.type", "id", "status", "createdDateTime", "lastActionDateTime"}},
		{"succeeded operation", done, []string{"@odata.type", "id", "status", "createdDateTime", "lastActionDateTime", "resourceLocation@odata.navigationLink"}},
		{"manifest", manifest, []string{"id", "schemaVersion", "dataFormat", "createdDateTime", "eTag", "partnerTenantId", "rootDirectory",
			"sasToken", "partitionType", "blobCount", "blobs"}},
	} {
		if c.r.status != http.StatusOK {
			t.Errorf("%s: status %d\n%s", c.name, c.r.status, c.r.raw)
		}
		for _, k := range c.keys {
			if _, ok := c.r.body[k]; !ok {
				t.Errorf("%s: key %q missing\n%s", c.name, k, c.r.raw)
			}
		}
	}
	if running.header.Get("Retry-After") == "" {
		t.Errorf("running operation without Retry-After")
	}
}
