package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	// fakeaz is the Azure CLI after `az login` as sandbox accounts, for uicctl's user mode:
	//
	//	fakeaz UPN...
	//
	// It writes $WORK/azbin/az, a shell script answering what azidentity's
	// AzureCLICredential runs (`az account get-access-token -o json --resource R --tenant T`)
	// with the JSON az prints (accessToken, expiresOn, expires_on, tenant, tokenType): a user
	// access token the sandbox mints for the account of tenant T (UserAccessToken, with the
	// account's directory roles in wids as they are now; run fakeaz again after sandbox roles).
	// Other tenants or resources fail as az does, on stderr. Put $WORK/azbin first on PATH;
	// the tokens are canaries, kept outside $WORK.
	scriptCmds["fakeaz"] = cmdFakeAz
}

// fakeAzResource is the only resource the fake az has tokens for: Microsoft Graph.
const fakeAzResource = "https://graph.microsoft.com"

func cmdFakeAz(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: fakeaz UPN...")
	}
	sb := scriptSandbox(ts)
	tenantOf := map[string]string{}
	for _, t := range sb.World().Tenants {
		for _, a := range t.Accounts {
			tenantOf[strings.ToLower(a.UPN)] = t.TenantID
		}
	}
	w := sb.World()
	tenantOf[strings.ToLower(w.Operator.Consultant.UPN)] = w.Operator.TenantID
	dir := ts.MkAbs("azbin")
	ts.Check(os.MkdirAll(dir, 0o755))
	// The tokens stay outside $WORK, as az keeps them in ~/.azure: canary check scans $WORK.
	cache, err := os.MkdirTemp("", "fakeaz")
	ts.Check(err)
	ts.Defer(func() { os.RemoveAll(cache) })
	var cases strings.Builder
	for _, upn := range args {
		tenant, ok := tenantOf[strings.ToLower(upn)]
		if !ok {
			ts.Fatalf("fakeaz: unknown account %s", upn)
		}
		tok, exp, err := sb.UserAccessToken(upn, fakeAzResource)
		ts.Check(err)
		canarySet(ts).Add("az:"+upn, tok)
		b, err := json.Marshal(map[string]any{"accessToken": tok, "expiresOn": exp.Local().Format("2006-01-02 15:04:05.000000"),
			"expires_on": exp.Unix(), "tenant": tenant, "tokenType": "Bearer"})
		ts.Check(err)
		file := filepath.Join(cache, tenant+".json")
		ts.Check(os.WriteFile(file, b, 0o600))
		fmt.Fprintf(&cases, "%s) exec cat '%s' ;;\n", tenant, file)
	}
	script := `#!/bin/sh
# The Azure CLI after az login (fakeaz): azidentity runs it from /bin.
if [ "$1 $2" != "account get-access-token" ]; then echo "ERROR: fake az: unexpected command: $*" >&2; exit 2; fi
tenant= resource=
while [ $# -gt 0 ]; do
  case "$1" in
    --tenant) tenant=$2; shift ;;
    --resource) resource=$2; shift ;;
  esac
  shift
done
if [ "$resource" != "` + fakeAzResource + `" ]; then echo "ERROR: fake az: no token for resource $resource" >&2; exit 1; fi
case "$tenant" in
` + cases.String() + `*) echo "ERROR: Please run 'az login' to setup account. (tenant $tenant)" >&2; exit 1 ;;
esac
`
	ts.Check(os.WriteFile(filepath.Join(dir, "az"), []byte(script), 0o755))
}
