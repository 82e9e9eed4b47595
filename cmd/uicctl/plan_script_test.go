package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/useitcloud/uicctl/pkg/sandbox"
	"github.com/useitcloud/uicctl/pkg/secrets"
	"github.com/useitcloud/uicctl/pkg/spec"
)

func init() {
	scriptCmds["sbenv"] = cmdSBEnv
	scriptCmds["graphcall"] = cmdGraphCall
	scriptCmds["provision"] = cmdProvision
	scriptCmds["requests"] = cmdRequests
	scriptCmds["faults"] = cmdFaults
}

// cmdFaults switches the running sandbox's faults, for a script that sets up a tenant
// undisturbed first: faults [rate-429=F] [retry-after=D] [rate-5xx=F] [latency=D] [scope=a,b]
// ("faults" alone switches them off).
func cmdFaults(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("usage: faults [key=value...]")
	}
	var f sandbox.Faults
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		var err error
		switch k {
		case "rate-429":
			f.Rate429, err = strconv.ParseFloat(v, 64)
		case "rate-5xx":
			f.Rate5xx, err = strconv.ParseFloat(v, 64)
		case "retry-after":
			f.RetryAfter, err = time.ParseDuration(v)
		case "latency":
			f.Latency, err = time.ParseDuration(v)
		case "scope":
			f.Scope = strings.Split(v, ",")
		default:
			ts.Fatalf("unknown fault %q", k)
		}
		ts.Check(err)
	}
	ts.Check(scriptSandbox(ts).SetFaults(f))
}

// cmdRequests counts round trips from the sandbox request log: "requests mark FILE" notes
// where the log ends, "requests since FILE" prints the requests made since the mark (method,
// path, status), one per line, for stdout assertions.
func cmdRequests(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: requests mark|since FILE")
	}
	ts.Check(scriptSandbox(ts).FlushRequestLog())
	lines := strings.Split(strings.TrimSpace(ts.ReadFile(args[1])), "\n")
	switch args[0] {
	case "mark":
		ts.Setenv("REQUESTS_MARK", strconv.Itoa(len(lines)))
	case "since":
		from, _ := strconv.Atoi(ts.Getenv("REQUESTS_MARK"))
		for _, l := range lines[from:] {
			var e struct {
				Method, Path string
				Status       int
			}
			ts.Check(json.Unmarshal([]byte(l), &e))
			fmt.Fprintf(ts.Stdout(), "%s %s %d\n", e.Method, e.Path, e.Status)
		}
		fmt.Fprintf(ts.Stdout(), "%d requests\n", len(lines)-from)
	default:
		ts.Fatalf("usage: requests mark|since FILE")
	}
}

func scriptSandbox(ts *testscript.TestScript) *sandbox.Sandbox {
	v, ok := running.Load(ts)
	if !ok {
		ts.Fatalf("no sandbox running: use sandbox start")
	}
	return v.(*sandbox.Sandbox)
}

// cmdSBEnv exports the sandbox world for scripts (TENANT_ID_0, TENANT_NAME_0, CONSENT_UPN_0,
// ...) and a fresh age key pair: AGE_RECIPIENT for uicctl init and SOPS_AGE_KEY so uicctl can
// decrypt what it encrypts.
func cmdSBEnv(ts *testscript.TestScript, neg bool, args []string) {
	w := scriptSandbox(ts).World()
	for i, t := range w.Tenants {
		ts.Setenv(fmt.Sprintf("TENANT_ID_%d", i), t.TenantID)
		ts.Setenv(fmt.Sprintf("TENANT_NAME_%d", i), t.Name)
		if len(t.Accounts) > 0 {
			ts.Setenv(fmt.Sprintf("CONSENT_UPN_%d", i), t.Accounts[0].UPN)
		}
	}
	id, err := age.GenerateX25519Identity()
	ts.Check(err)
	ts.Setenv("AGE_RECIPIENT", id.Recipient().String())
	ts.Setenv("SOPS_AGE_KEY", id.String())
}

// operatorHTTP returns a client trusting the sandbox CA and an operator token for tenant.
func operatorHTTP(ts *testscript.TestScript, tenant string) (*http.Client, string) {
	sb := scriptSandbox(ts)
	pem, err := os.ReadFile(sb.CAFile())
	ts.Check(err)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	_, cid, secret := sb.Operator()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {cid}, "client_secret": {secret}, "scope": {"https://graph.microsoft.com/.default"}}
	resp, err := hc.PostForm(sb.URL()+"/"+tenant+"/oauth2/v2.0/token", form)
	ts.Check(err)
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	ts.Check(json.NewDecoder(resp.Body).Decode(&tok))
	if tok.AccessToken == "" {
		ts.Fatalf("operator token for %s: status %d", tenant, resp.StatusCode)
	}
	return hc, tok.AccessToken
}

func graphDo(ts *testscript.TestScript, hc *http.Client, token, method, path string, body any) (int, []byte) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		ts.Check(err)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, scriptSandbox(ts).URL()+"/graph/v1.0"+path, r)
	ts.Check(err)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method == http.MethodPatch && strings.Contains(path, "(uniqueName=") {
		req.Header.Set("Prefer", "create-if-missing") // the upsert uicctl itself uses
	}
	resp, err := hc.Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	ts.Check(err)
	return resp.StatusCode, out
}

// cmdGraphCall makes a raw Graph call as the operator: graphcall TENANT METHOD PATH [JSON].
// The response body goes to stdout; a status >= 400 fails unless negated.
func cmdGraphCall(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 3 || len(args) > 4 {
		ts.Fatalf("usage: graphcall TENANT METHOD PATH [JSON]")
	}
	hc, token := operatorHTTP(ts, args[0])
	var body any
	if len(args) == 4 {
		ts.Check(json.Unmarshal([]byte(args[3]), &body))
	}
	status, out := graphDo(ts, hc, token, args[1], args[2], body)
	fmt.Fprintf(ts.Stdout(), "%s\n", out)
	if failed := status >= 400; failed != neg {
		ts.Fatalf("graph %s %s: status %d: %s", args[1], args[2], status, out)
	}
}

// cmdProvision onboards a sandbox tenant the way the manual procedure does, with raw Graph
// calls: the app (by uniqueName uicctl-NAME) with the default spec's redirect URI and
// permissions, its service principal, admin consent grants, a client secret, and the
// secrets file DIR/secrets.sops.yaml holding its keyId and a refresh token. Flags shape the
// result: -secret-days N (secret lifetime), -token-age N (days since consent), -no-token,
// -preconsent.
//
//	provision TENANT NAME DIR [flags]
func cmdProvision(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: provision TENANT NAME DIR [flags]")
	}
	fs := flag.NewFlagSet("provision", flag.ContinueOnError)
	secretDays := fs.Int("secret-days", 180, "")
	tokenAge := fs.Int("token-age", 1, "")
	noToken := fs.Bool("no-token", false, "")
	preconsent := fs.Bool("preconsent", false, "")
	noSecret := fs.Bool("no-secret", false, "")
	ts.Check(fs.Parse(args[3:]))
	tenant, name, dir := args[0], args[1], ts.MkAbs(args[2])
	hc, token := operatorHTTP(ts, tenant)
	call := func(method, path string, body any) map[string]any {
		status, out := graphDo(ts, hc, token, method, path, body)
		if status >= 400 {
			ts.Fatalf("provision: %s %s: %d %s", method, path, status, out)
		}
		var m map[string]any
		if len(out) > 0 {
			ts.Check(json.Unmarshal(out, &m))
		}
		return m
	}
	pc, _ := spec.LookupAPI("partner-center")
	mp, _ := spec.LookupAPI("microsoft-partner")
	app := call("PATCH", "/applications(uniqueName='uicctl-"+name+"')", map[string]any{
		"displayName": spec.DefaultDisplayName, "signInAudience": spec.DefaultAudience,
		"web": map[string]any{"redirectUris": []string{spec.DefaultRedirectURI}},
		"requiredResourceAccess": []any{
			map[string]any{"resourceAppId": pc.AppID, "resourceAccess": []any{map[string]any{"id": pc.Delegated[0].ID, "type": "Scope"}}},
			map[string]any{"resourceAppId": mp.AppID, "resourceAccess": []any{map[string]any{"id": mp.Delegated[0].ID, "type": "Scope"}}},
		},
	})
	appID, _ := app["appId"].(string)
	if appID == "" {
		ts.Fatalf("provision: the app already existed")
	}
	sp := call("POST", "/servicePrincipals", map[string]any{"appId": appID})
	spID := sp["id"].(string)
	for _, res := range []spec.KnownAPI{pc, mp} {
		r := call("GET", "/servicePrincipals(appId='"+res.AppID+"')?$select=id", nil)
		g := call("POST", "/oauth2PermissionGrants", map[string]any{"clientId": spID, "consentType": "AllPrincipals", "resourceId": r["id"], "scope": "user_impersonation"})
		ts.Setenv("GRANT_ID_"+strings.ToUpper(strings.ReplaceAll(res.Alias, "-", "_")), g["id"].(string))
	}
	if *preconsent {
		g := call("GET", "/groups?$filter=displayName%20eq%20'AdminAgents'&$select=id", nil)
		gid := g["value"].([]any)[0].(map[string]any)["id"].(string)
		call("POST", "/groups/"+gid+"/members/$ref", map[string]any{"@odata.id": scriptSandbox(ts).URL() + "/graph/v1.0/directoryObjects/" + spID})
	}
	// A negative -secret-days makes a secret that has already expired: it started 30 days
	// before its end.
	end := time.Now().Add(time.Duration(*secretDays) * 24 * time.Hour).UTC().Truncate(time.Second)
	start := time.Now().UTC().Truncate(time.Second)
	if s := end.Add(-30 * 24 * time.Hour); s.Before(start) {
		start = s
	}
	pw := call("POST", "/applications(appId='"+appID+"')/addPassword", map[string]any{
		"passwordCredential": map[string]any{"displayName": "uicctl", "startDateTime": start.Format(time.RFC3339), "endDateTime": end.Format(time.RFC3339)}})
	f := &secrets.File{ClientID: appID}
	if !*noSecret {
		f.ClientSecret.Value = secrets.NewValue(pw["secretText"].(string))
		f.ClientSecret.KeyID = pw["keyId"].(string)
		f.ClientSecret.EndDateTime = end
	}
	if !*noToken {
		f.RefreshToken.Value = secrets.NewValue("1.AQ-canary-refresh-token-" + strconv.Itoa(len(name)))
		f.RefreshToken.IssuedAt = time.Now().Add(-time.Duration(*tokenAge) * 24 * time.Hour).UTC().Truncate(time.Second)
		f.RefreshToken.Account = "svc@" + name + ".example"
	}
	ts.Check(os.MkdirAll(dir, 0o755))
	ctx := context.Background()
	// Encrypting needs only the recipients of the .sops.yaml above dir, not a private key.
	ts.Check(secrets.Create(ctx, filepath.Join(dir, "secrets.sops.yaml"), f))
	// For cmpenv goldens: IDs and dates the sandbox chose.
	ts.Setenv("APP_ID", appID)
	ts.Setenv("APP_OBJECT_ID", app["id"].(string))
	ts.Setenv("SP_ID", spID)
	ts.Setenv("KEY_ID", pw["keyId"].(string))
	ts.Setenv("SECRET_END", end.Format(time.RFC3339))
	ts.Setenv("SECRET_DAY", end.Format("2006-01-02"))
	fmt.Fprintf(ts.Stdout(), "provisioned %s app %s\n", name, appID)
}
