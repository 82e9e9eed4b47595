package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/useitcloud/uicctl/pkg/sandbox"
)

func init() {
	scriptCmds["sandbox"] = cmdSandbox
}

// running holds each script's in-process sandbox.
var running sync.Map // *testscript.TestScript -> *sandbox.Sandbox

// cmdSandbox controls an in-process sandbox for the script:
//
//	sandbox start [--tenants N] [--seed N] [--env-file F] [--world F] [--request-log F] [--state F] [fault flags]
//	sandbox stop            (also done at script end; writes the state file and request log)
//	sandbox flush           (writes buffered request log lines)
//	sandbox mfa UPN on|off  sandbox revoke UPN  sandbox appmgmt TENANT APPID on|off
//	sandbox roles UPN [ROLE_TEMPLATE_ID...]  (the account's active directory roles: wids)
//	sandbox policy TENANT FILE (the tenant's default app management policy, Graph JSON)
//	sandbox oidc [subject=S] [lifetime=D]  (the GitHub Actions job of the OIDC issuer)
//	sandbox signin UPN FILE (the user at the browser: opens the first authorize URL found in
//	                         FILE, signs in as UPN and follows the redirect, e.g. to
//	                         uicctl consent's loopback listener; for an admin consent URL
//	                         it prints where the browser is sent instead: Microsoft's page)
//
// start sets UICCTL_CLOUD, SSL_CERT_FILE, SSL_CERT_DIR (an empty directory: only the sandbox
// CA is trusted), CURL_CA_BUNDLE, UICCTL_SANDBOX_URL and AZURE_TENANT_ID, AZURE_CLIENT_ID,
// AZURE_CLIENT_SECRET of the operator app in the script's environment, and the GitHub
// Actions OIDC request (ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN; "env AZURE_CLIENT_SECRET="
// makes uicctl sign in with it).
func cmdSandbox(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! sandbox")
	}
	if len(args) == 0 {
		ts.Fatalf("usage: sandbox start|stop|flush|mfa|revoke|appmgmt ...")
	}
	get := func() *sandbox.Sandbox {
		v, ok := running.Load(ts)
		if !ok {
			ts.Fatalf("no sandbox running: use sandbox start")
		}
		return v.(*sandbox.Sandbox)
	}
	onOff := func(s string) bool {
		switch s {
		case "on":
			return true
		case "off":
			return false
		}
		ts.Fatalf("want on or off, got %q", s)
		return false
	}
	switch args[0] {
	case "start":
		startScriptSandbox(ts, args[1:])
	case "stop":
		sb := get()
		running.Delete(ts)
		ts.Check(sb.Close())
	case "flush":
		ts.Check(get().FlushRequestLog())
	case "mfa":
		if len(args) != 3 {
			ts.Fatalf("usage: sandbox mfa UPN on|off")
		}
		ts.Check(get().SetMFA(args[1], onOff(args[2])))
	case "roles":
		if len(args) < 2 {
			ts.Fatalf("usage: sandbox roles UPN [ROLE_TEMPLATE_ID...]")
		}
		ts.Check(get().SetDirectoryRoles(args[1], args[2:]))
	case "revoke":
		if len(args) != 2 {
			ts.Fatalf("usage: sandbox revoke UPN")
		}
		ts.Check(get().RevokeRefreshTokens(args[1]))
	case "policy":
		// sandbox policy TENANT FILE: the tenant's default app management policy, as Graph's
		// tenantAppManagementPolicy JSON in FILE.
		if len(args) != 3 {
			ts.Fatalf("usage: sandbox policy TENANT FILE")
		}
		ts.Check(get().SetDefaultAppManagementPolicy(args[1], []byte(ts.ReadFile(args[2]))))
	case "appmgmt":
		if len(args) != 4 {
			ts.Fatalf("usage: sandbox appmgmt TENANT APPID on|off")
		}
		ts.Check(get().SetAppManagement(args[1], args[2], onOff(args[3])))
	case "oidc":
		// sandbox oidc subject=S lifetime=D: the GitHub Actions job the issuer speaks for.
		var sub string
		var life time.Duration
		for _, a := range args[1:] {
			k, v, _ := strings.Cut(a, "=")
			switch k {
			case "subject":
				sub = v
			case "lifetime":
				d, err := sandbox.ParseDuration(v)
				ts.Check(err)
				life = d
			default:
				ts.Fatalf("usage: sandbox oidc [subject=S] [lifetime=D]")
			}
		}
		ts.Check(get().SetActionsJob(sub, life))
	case "signin":
		// sandbox signin UPN FILE [PAGE]: sign in at the authorize URL found in FILE and follow
		// the redirect; PAGE keeps the page the redirect URI answered (consent's result
		// page), and the account's password becomes a canary.
		if len(args) != 3 && len(args) != 4 {
			ts.Fatalf("usage: sandbox signin UPN FILE [PAGE]")
		}
		sb := get()
		u := authorizeURLIn(ts.ReadFile(args[2]), sb.URL())
		if u == "" {
			ts.Fatalf("no authorize URL of the sandbox in %s", args[2])
		}
		if strings.Contains(u, "/v2.0/adminconsent?") {
			loc, err := sb.SignIn(context.Background(), u, args[1])
			ts.Check(err)
			fmt.Fprintf(ts.Stdout(), "redirected to %s\n", loc)
			return
		}
		if len(args) == 3 {
			ts.Check(sb.Browse(context.Background(), u, args[1]))
			return
		}
		for _, t := range sb.World().Tenants {
			for _, a := range t.Accounts {
				if strings.EqualFold(a.UPN, args[1]) {
					canarySet(ts).Add("password:"+a.UPN, a.Password)
				}
			}
		}
		loc, err := sb.SignIn(context.Background(), u, args[1])
		ts.Check(err)
		res, err := http.Get(loc)
		ts.Check(err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(args[3]), b, 0o600))
	default:
		ts.Fatalf("unknown sandbox subcommand %q", args[0])
	}
}

func startScriptSandbox(ts *testscript.TestScript, args []string) {
	if _, ok := running.Load(ts); ok {
		ts.Fatalf("a sandbox is already running")
	}
	fs := flag.NewFlagSet("sandbox start", flag.ContinueOnError)
	fs.SetOutput(ts.Stderr())
	var c sandboxCmd
	fs.IntVar(&c.Tenants, "tenants", 1, "")
	fs.IntVar(&c.Customers, "customers", 3, "")
	fs.Int64Var(&c.Seed, "seed", 1, "")
	fs.StringVar(&c.EnvFile, "env-file", "", "")
	fs.StringVar(&c.World, "world", "", "")
	fs.StringVar(&c.RequestLog, "request-log", "", "")
	fs.StringVar(&c.State, "state", "", "")
	fs.StringVar(&c.Latency, "latency", "", "")
	fs.Float64Var(&c.Rate429, "rate-429", 0, "")
	fs.StringVar(&c.RetryAfter, "retry-after", "", "")
	fs.Float64Var(&c.Rate5xx, "rate-5xx", 0, "")
	fs.Float64Var(&c.ResetRate, "reset-rate", 0, "")
	fs.StringVar(&c.ReplicationLag, "replication-lag", "", "")
	fs.StringVar(&c.ClockOffset, "clock-offset", "", "")
	fs.StringVar(&c.OIDCTokenLifetime, "oidc-token-lifetime", "", "")
	fs.IntVar(&c.PageSize, "page-size", 0, "")
	fs.BoolVar(&c.UtilizationReady, "utilization-ready", false, "")
	fs.StringVar(&c.OperatorConsent, "operator-consent", "all", "")
	scope := fs.String("fault-scope", "", "comma-separated services")
	if err := fs.Parse(args); err != nil {
		ts.Fatalf("sandbox start: %v", err)
	}
	if *scope != "" {
		c.FaultScope = strings.Split(*scope, ",")
	}
	abs := func(p string) string {
		if p == "" {
			return ""
		}
		return ts.MkAbs(p)
	}
	c.State, c.RequestLog, c.Dir = abs(c.State), abs(c.RequestLog), ts.MkAbs(".sandbox")
	opts, err := c.options()
	ts.Check(err)
	opts.Addr = ""
	dir := c.Dir
	sb, err := sandbox.Start(context.Background(), opts)
	ts.Check(err)
	running.Store(ts, sb)
	ts.Defer(func() {
		if _, ok := running.LoadAndDelete(ts); ok {
			sb.Close()
		}
	})
	if c.EnvFile != "" {
		ts.Check(sb.WriteEnvFile(abs(c.EnvFile)))
	}
	if c.World != "" {
		ts.Check(sb.WriteWorldFile(abs(c.World)))
	}
	emptyCerts := filepath.Join(dir, "no-certs")
	ts.Check(os.MkdirAll(emptyCerts, 0o755))
	tid, cid, secret := sb.Operator()
	reqURL, reqToken := sb.ActionsTokenRequest()
	for k, v := range map[string]string{
		"UICCTL_CLOUD": sb.CloudFile(), "SSL_CERT_FILE": sb.CAFile(), "SSL_CERT_DIR": emptyCerts, "CURL_CA_BUNDLE": sb.CAFile(),
		"UICCTL_SANDBOX_URL": sb.URL(), "AZURE_TENANT_ID": tid, "AZURE_CLIENT_ID": cid, "AZURE_CLIENT_SECRET": secret,
		// A GitHub Actions job's OIDC request; the secret wins while it is set.
		"ACTIONS_ID_TOKEN_REQUEST_URL": reqURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": reqToken,
		// The vaults (NAME.vault.azure.net) are reached through the sandbox as a proxy.
		"HTTPS_PROXY": sb.URL(), "NO_PROXY": "127.0.0.1,localhost", "AZURE_ADDITIONALLY_ALLOWED_TENANTS": "*",
		// What sops (azidentity's default chain) signs in at; uicctl itself takes the cloud file.
		"AZURE_AUTHORITY_HOST": sb.URL() + "/",
	} {
		ts.Setenv(k, v)
	}
	fmt.Fprintf(ts.Stdout(), "sandbox listening on %s\n", sb.URL())
}

// authorizeURLIn finds the first URL of the sandbox's authorize endpoint in text.
func authorizeURLIn(text, base string) string {
	for _, f := range strings.Fields(text) {
		f = strings.Trim(f, "<>\"'()")
		if strings.HasPrefix(f, base+"/") && (strings.Contains(f, "/oauth2/v2.0/authorize?") || strings.Contains(f, "/v2.0/adminconsent?")) {
			return f
		}
	}
	return ""
}
