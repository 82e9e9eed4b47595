package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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
	scriptCmds["canaryfrom"] = cmdCanaryFrom
}

// cmdCanaryFrom makes a secret that uicctl itself stored a canary: it decrypts one value of
// a secrets file with the real sops CLI (never in this process, whose environment scripts
// share) and adds it to the script's canaries. Usage: canaryfrom FILE SOPS-PATH NAME
func cmdCanaryFrom(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: canaryfrom FILE SOPS-PATH NAME")
	}
	if err := ts.Exec("sops", "decrypt", "--extract", args[1], args[0]); err != nil {
		ts.Fatalf("sops decrypt: %v\n%s", err, ts.ReadFile("stderr"))
	}
	v := strings.TrimSpace(ts.ReadFile("stdout"))
	if v == "" {
		ts.Fatalf("%s has no value at %s", args[0], args[1])
	}
	canarySet(ts).Add(args[2], v)
}

// cmdFaults switches the running sandbox's faults, for a script that sets up a tenant
// undisturbed first: faults [rate-429=F] [retry-after=D] [rate-5xx=F] [reset-rate=F]
// [latency=D] [replication-lag=D] [echo=true] [scope=a,b] [clock-offset=D|Nd] ("faults" alone switches
// them off and keeps the clock offset). scope takes the sandbox's --fault-scope names, e.g.
// scope=partnercenter-usage for Partner Center's usage calls only.
func cmdFaults(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("usage: faults [key=value...]")
	}
	// The clock is not a fault: faults keeps the offset sbclock or the admin API set, unless
	// clock-offset is given.
	sb := scriptSandbox(ts)
	f := sandbox.Faults{ClockOffset: sb.Faults().ClockOffset}
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
		case "echo":
			f.Echo, err = strconv.ParseBool(v)
		case "reset-rate":
			f.ResetRate, err = strconv.ParseFloat(v, 64)
		case "replication-lag":
			f.ReplicationLag, err = time.ParseDuration(v)
		case "clock-offset":
			f.ClockOffset, err = sandbox.ParseDuration(v)
		default:
			ts.Fatalf("unknown fault %q", k)
		}
		ts.Check(err)
	}
	ts.Check(sb.SetFaults(f))
}

// cmdRequests counts round trips from the sandbox request log: "requests mark FILE" notes
// where the log ends, "requests since FILE" prints the requests made since the mark (method,
// path, status), one per line, for stdout assertions, and "requests wait FILE REGEXP" waits
// (up to 20 s) until one of them matches: a script waits for a background uicctl to reach
// a step instead of sleeping.
func cmdRequests(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || (args[0] == "wait") != (len(args) == 3) || len(args) > 3 {
		ts.Fatalf("usage: requests mark|since FILE, or requests wait FILE REGEXP")
	}
	switch args[0] {
	case "mark":
		ts.Check(scriptSandbox(ts).FlushRequestLog())
		lines := strings.Split(strings.TrimSpace(ts.ReadFile(args[1])), "\n")
		ts.Setenv("REQUESTS_MARK", strconv.Itoa(len(lines)))
	case "since":
		reqs := requestsSince(ts, args[1])
		for _, r := range reqs {
			fmt.Fprintln(ts.Stdout(), r)
		}
		fmt.Fprintf(ts.Stdout(), "%d requests\n", len(reqs))
	case "wait":
		re, err := regexp.Compile(args[2])
		ts.Check(err)
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if slices.ContainsFunc(requestsSince(ts, args[1]), re.MatchString) {
				return
			}
			if time.Now().After(deadline) {
				ts.Fatalf("no request matching %q within 20s", args[2])
			}
		}
	default:
		ts.Fatalf("usage: requests mark|since FILE, or requests wait FILE REGEXP")
	}
}

// requestsSince reads the request log's lines after the mark as "METHOD PATH STATUS".
func requestsSince(ts *testscript.TestScript, file string) []string {
	ts.Check(scriptSandbox(ts).FlushRequestLog())
	lines := strings.Split(strings.TrimSpace(ts.ReadFile(file)), "\n")
	from, _ := strconv.Atoi(ts.Getenv("REQUESTS_MARK"))
	var out []string
	for _, l := range lines[min(from, len(lines)):] {
		var e struct {
			Method, Path string
			Status       int
		}
		ts.Check(json.Unmarshal([]byte(l), &e))
		out = append(out, fmt.Sprintf("%s %s %d", e.Method, e.Path, e.Status))
	}
	return out
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
// decrypt what it encrypts. The operator secret and the GitHub Actions request token become
// canaries.
func cmdSBEnv(ts *testscript.TestScript, neg bool, args []string) {
	w := scriptSandbox(ts).World()
	for i, t := range w.Tenants {
		ts.Setenv(fmt.Sprintf("TENANT_ID_%d", i), t.TenantID)
		ts.Setenv(fmt.Sprintf("TENANT_NAME_%d", i), t.Name)
		if len(t.Accounts) > 0 {
			ts.Setenv(fmt.Sprintf("CONSENT_UPN_%d", i), t.Accounts[0].UPN)
		}
		ts.Setenv(fmt.Sprintf("VAULT_URL_%d", i), t.KeyVault.URL)
		ts.Setenv(fmt.Sprintf("SOPS_KEY_URL_%d", i), t.KeyVault.SopsKey)
		for _, a := range t.Accounts {
			if a.Admin {
				ts.Setenv(fmt.Sprintf("ADMIN_UPN_%d", i), a.UPN)
			}
		}
	}
	ts.Setenv("OPERATOR_TENANT_ID", w.Operator.TenantID)
	ts.Setenv("CONSULTANT_UPN", w.Operator.Consultant.UPN)
	id, err := age.GenerateX25519Identity()
	ts.Check(err)
	ts.Setenv("AGE_RECIPIENT", id.Recipient().String())
	ts.Setenv("SOPS_AGE_KEY", id.String())
	_, _, operatorSecret := scriptSandbox(ts).Operator()
	canarySet(ts).Add("operatorSecret", operatorSecret)
	_, actionsToken := scriptSandbox(ts).ActionsTokenRequest()
	canarySet(ts).Add("actionsRequestToken", actionsToken)
}

// operatorHTTP returns a client trusting the sandbox CA and an operator token for tenant.
func operatorHTTP(ts *testscript.TestScript, tenant string) (*http.Client, string) {
	g, err := newGraphCaller(scriptSandbox(ts), tenant)
	ts.Check(err)
	return g.hc, g.token
}

// graphCaller makes raw Graph calls to a sandbox as its operator app, for set-up that must
// not depend on uicctl's own client.
type graphCaller struct {
	hc      *http.Client
	token   string
	baseURL string
}

func newGraphCaller(sb *sandbox.Sandbox, tenant string) (*graphCaller, error) {
	hc, err := sandboxHTTPClient(sb)
	if err != nil {
		return nil, err
	}
	tok, err := operatorToken(sb, hc, tenant, "https://graph.microsoft.com/.default")
	if err != nil {
		return nil, err
	}
	return &graphCaller{hc: hc, token: tok, baseURL: sb.URL() + "/graph/v1.0"}, nil
}

// operatorToken gets a client-credentials token of the sandbox's operator app for scope in
// tenant.
func operatorToken(sb *sandbox.Sandbox, hc *http.Client, tenant, scope string) (string, error) {
	_, cid, secret := sb.Operator()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {cid}, "client_secret": {secret}, "scope": {scope}}
	resp, err := hc.PostForm(sb.URL()+"/"+tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("operator token for %s: status %d", tenant, resp.StatusCode)
	}
	return tok.AccessToken, nil
}

func (g *graphCaller) do(method, path string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, g.baseURL+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+g.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method == http.MethodPatch && strings.Contains(path, "(uniqueName=") {
		req.Header.Set("Prefer", "create-if-missing") // the upsert uicctl itself uses
	}
	resp, err := g.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// call is do for set-up steps that must succeed; it decodes the JSON answer.
func (g *graphCaller) call(method, path string, body any) (map[string]any, error) {
	status, out, err := g.do(method, path, body)
	if err != nil {
		return nil, err
	}
	if status >= 400 {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, status, out)
	}
	var m map[string]any
	if len(out) > 0 {
		if err := json.Unmarshal(out, &m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func graphDo(ts *testscript.TestScript, hc *http.Client, token, method, path string, body any) (int, []byte) {
	g := &graphCaller{hc: hc, token: token, baseURL: scriptSandbox(ts).URL() + "/graph/v1.0"}
	status, out, err := g.do(method, path, body)
	ts.Check(err)
	return status, out
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
	var o provisionOpts
	fs.IntVar(&o.secretDays, "secret-days", 180, "")
	fs.IntVar(&o.tokenAge, "token-age", 1, "")
	fs.BoolVar(&o.noToken, "no-token", false, "")
	fs.BoolVar(&o.preconsent, "preconsent", false, "")
	fs.BoolVar(&o.noSecret, "no-secret", false, "")
	ts.Check(fs.Parse(args[3:]))
	sb := scriptSandbox(ts)
	g, err := newGraphCaller(sb, args[0])
	ts.Check(err)
	r, err := provision(g, sb.URL(), args[1], ts.MkAbs(args[2]), o)
	ts.Check(err)
	// The values in the secrets file are canaries: "canary check" fails a script that lets
	// one reach an output or a file.
	canarySet(ts).Add("clientSecret-"+args[1], r.secret)
	if !o.noToken {
		canarySet(ts).Add("refreshToken-"+args[1], r.refreshToken)
	}
	// For goldens and later calls: IDs and dates the sandbox chose.
	for k, v := range map[string]string{"APP_ID": r.appID, "APP_OBJECT_ID": r.objectID, "SP_ID": r.spID, "KEY_ID": r.keyID,
		"SECRET_END": r.end.Format(time.RFC3339), "SECRET_DAY": r.end.Format("2006-01-02"),
		"GRANT_ID_PARTNER_CENTER": r.grants["partner-center"], "GRANT_ID_MICROSOFT_PARTNER": r.grants["microsoft-partner"]} {
		ts.Setenv(k, v)
	}
	fmt.Fprintf(ts.Stdout(), "provisioned %s app %s\n", args[1], r.appID)
}

type provisionOpts struct {
	secretDays, tokenAge          int
	noToken, preconsent, noSecret bool
}

type provisioned struct {
	appID, objectID, spID, keyID string
	secret, refreshToken         string // the values in the secrets file
	end                          time.Time
	grants                       map[string]string // alias -> grant id
}

// provision onboards a tenant the way the manual procedure does, with raw Graph calls: the
// app (by uniqueName uicctl-NAME) with the default spec's redirect URI and permissions, its
// service principal, admin consent grants, optionally AdminAgents membership, a client
// secret, and the secrets file DIR/secrets.sops.yaml (encrypted to the recipients of the
// .sops.yaml above DIR) with its keyId and a refresh token. A negative secretDays makes a
// secret that has already expired (it started 30 days before its end).
func provision(g *graphCaller, sandboxURL, name, dir string, o provisionOpts) (*provisioned, error) {
	pc, _ := spec.LookupAPI("partner-center")
	mp, _ := spec.LookupAPI("microsoft-partner")
	gr, _ := spec.LookupAPI("microsoft-graph")
	billing := gr.Application[slices.IndexFunc(gr.Application, func(ps spec.PermScope) bool { return ps.Value == spec.PartnerBillingReadAll })]
	app, err := g.call("PATCH", "/applications(uniqueName='uicctl-"+name+"')", map[string]any{
		"displayName": spec.DefaultDisplayName, "signInAudience": spec.DefaultAudience,
		"web": map[string]any{"redirectUris": []string{spec.DefaultRedirectURI}},
		"requiredResourceAccess": []any{
			map[string]any{"resourceAppId": pc.AppID, "resourceAccess": []any{map[string]any{"id": pc.Delegated[0].ID, "type": "Scope"}}},
			map[string]any{"resourceAppId": mp.AppID, "resourceAccess": []any{map[string]any{"id": mp.Delegated[0].ID, "type": "Scope"}}},
			map[string]any{"resourceAppId": gr.AppID, "resourceAccess": []any{map[string]any{"id": billing.ID, "type": "Role"}}},
		},
	})
	if err != nil {
		return nil, err
	}
	r := &provisioned{grants: map[string]string{}}
	r.appID, _ = app["appId"].(string)
	r.objectID, _ = app["id"].(string)
	if r.appID == "" {
		return nil, fmt.Errorf("provision %s: the app already existed", name)
	}
	sp, err := g.call("POST", "/servicePrincipals", map[string]any{"appId": r.appID})
	if err != nil {
		return nil, err
	}
	r.spID = sp["id"].(string)
	for _, res := range []spec.KnownAPI{pc, mp} {
		rs, err := g.call("GET", "/servicePrincipals(appId='"+res.AppID+"')?$select=id", nil)
		if err != nil {
			return nil, err
		}
		gr, err := g.call("POST", "/oauth2PermissionGrants", map[string]any{"clientId": r.spID, "consentType": "AllPrincipals", "resourceId": rs["id"], "scope": "user_impersonation"})
		if err != nil {
			return nil, err
		}
		r.grants[res.Alias] = gr["id"].(string)
	}
	// The Graph billing export's application permission, as uicctl init's spec grants it.
	gsp, err := g.call("GET", "/servicePrincipals(appId='"+gr.AppID+"')?$select=id", nil)
	if err != nil {
		return nil, err
	}
	if _, err := g.call("POST", "/servicePrincipals/"+r.spID+"/appRoleAssignments", map[string]any{"principalId": r.spID, "resourceId": gsp["id"], "appRoleId": billing.ID}); err != nil {
		return nil, err
	}
	if o.preconsent {
		grp, err := g.call("GET", "/groups?$filter=displayName%20eq%20'AdminAgents'&$select=id", nil)
		if err != nil {
			return nil, err
		}
		gid := grp["value"].([]any)[0].(map[string]any)["id"].(string)
		if _, err := g.call("POST", "/groups/"+gid+"/members/$ref", map[string]any{"@odata.id": sandboxURL + "/graph/v1.0/directoryObjects/" + r.spID}); err != nil {
			return nil, err
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	r.end = now.Add(time.Duration(o.secretDays) * 24 * time.Hour)
	start := now
	if s := r.end.Add(-30 * 24 * time.Hour); s.Before(start) {
		start = s
	}
	pw, err := g.call("POST", "/applications(appId='"+r.appID+"')/addPassword", map[string]any{
		"passwordCredential": map[string]any{"displayName": "uicctl", "startDateTime": start.Format(time.RFC3339), "endDateTime": r.end.Format(time.RFC3339)}})
	if err != nil {
		return nil, err
	}
	r.keyID = pw["keyId"].(string)
	r.secret = pw["secretText"].(string)
	f := &secrets.File{ClientID: r.appID}
	if !o.noSecret {
		f.ClientSecret.Value = secrets.NewValue(pw["secretText"].(string))
		f.ClientSecret.KeyID = r.keyID
		f.ClientSecret.EndDateTime = r.end
	}
	if !o.noToken {
		r.refreshToken = "1.AQ-canary-refresh-token-" + name
		f.RefreshToken.Value = secrets.NewValue(r.refreshToken)
		f.RefreshToken.IssuedAt = now.Add(-time.Duration(o.tokenAge) * 24 * time.Hour)
		f.RefreshToken.Account = "svc@" + name + ".example"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return r, secrets.Create(context.Background(), filepath.Join(dir, "secrets.sops.yaml"), f)
}
