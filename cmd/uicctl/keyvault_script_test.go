package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/useitcloud/uicctl/internal/vaultrest"
)

func init() {
	scriptCmds["vault"] = cmdVault
}

// cmdVault reads and changes a tenant's sandbox vault over plain REST, doing Key Vault's
// challenge flow itself (401, then an operator token for the tenant and resource the
// challenge names), so what uicctl wrote is checked without uicctl's own client:
//
//	vault latest I NAME =VALUE | FILE:SOPS-PATH   the latest version equals the value (a
//	                                             literal, or decrypted from a sops file);
//	                                             prints "NAME: equal, enabled, version V"
//	vault versions I NAME                        prints "N versions, M enabled"
//	vault set I NAME VALUE                       a new version, out of band
//	vault delete I NAME                          soft delete
//	vault roles I [ROLE...]                      the operator's roles on the vault
//
// I is the tenant's index in the world. Values are never printed.
func cmdVault(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: vault latest|versions|set|delete|roles I ...")
	}
	sb := scriptSandbox(ts)
	i, err := strconv.Atoi(args[1])
	ts.Check(err)
	ten := sb.World().Tenants[i]
	if args[0] == "roles" {
		ts.Check(sb.SetOperatorVaultRoles(ten.Name, append([]string{}, args[2:]...)))
		return
	}
	if len(args) < 3 {
		ts.Fatalf("usage: vault %s I NAME ...", args[0])
	}
	hc, err := sandboxHTTPClient(sb)
	ts.Check(err)
	tr := hc.Transport.(*http.Transport).Clone()
	proxy, _ := url.Parse(sb.URL())
	tr.Proxy = http.ProxyURL(proxy) // only vault hosts are asked for below
	raw := &vaultrest.Client{HTTP: &http.Client{Transport: tr}, Token: func(_ context.Context, tenant, scope string) (string, error) {
		return operatorToken(sb, hc, tenant, scope)
	}}
	do := func(method, path string, body any) *vaultrest.Response {
		res, err := raw.Do(context.Background(), method, ten.KeyVault.URL, path, body)
		ts.Check(err)
		if !res.Challenged {
			ts.Fatalf("%s %s was answered without the 401 challenge", method, path)
		}
		return res
	}
	name := args[2]
	switch args[0] {
	case "latest":
		if len(args) != 4 {
			ts.Fatalf("usage: vault latest I NAME =VALUE|FILE:SOPS-PATH")
		}
		want := strings.TrimPrefix(args[3], "=")
		if !strings.HasPrefix(args[3], "=") {
			file, path, _ := strings.Cut(args[3], ":")
			if err := ts.Exec("sops", "decrypt", "--extract", path, file); err != nil {
				ts.Fatalf("sops decrypt: %v\n%s", err, ts.ReadFile("stderr"))
			}
			want = strings.TrimSpace(ts.ReadFile("stdout"))
		}
		res := do("GET", "/secrets/"+name, nil)
		var got struct {
			ID         string `json:"id"`
			Value      string `json:"value"`
			Attributes struct {
				Enabled bool   `json:"enabled"`
				Exp     *int64 `json:"exp"`
			} `json:"attributes"`
		}
		if res.Status != http.StatusOK || res.JSON(&got) != nil {
			ts.Fatalf("vault %s: status %d", name, res.Status)
		}
		equal := got.Value == want && want != ""
		if equal == neg {
			ts.Fatalf("vault %s: equal %v, want %v", name, equal, !neg)
		}
		if equal {
			fmt.Fprintf(ts.Stdout(), "%s: equal, enabled %v, version %s\n", name, got.Attributes.Enabled, got.ID[strings.LastIndex(got.ID, "/")+1:])
		}
	case "versions":
		res := do("GET", "/secrets/"+name+"/versions", nil)
		var list struct {
			Value []struct {
				Attributes struct {
					Enabled bool `json:"enabled"`
				} `json:"attributes"`
			} `json:"value"`
		}
		ts.Check(res.JSON(&list))
		enabled := 0
		for _, v := range list.Value {
			if v.Attributes.Enabled {
				enabled++
			}
		}
		fmt.Fprintf(ts.Stdout(), "%d versions, %d enabled\n", len(list.Value), enabled)
	case "set":
		if len(args) != 4 {
			ts.Fatalf("usage: vault set I NAME VALUE")
		}
		if res := do("PUT", "/secrets/"+name, map[string]any{"value": args[3]}); res.Status != http.StatusOK {
			ts.Fatalf("vault set %s: status %d", name, res.Status)
		}
	case "delete":
		if res := do("DELETE", "/secrets/"+name, nil); res.Status != http.StatusOK {
			ts.Fatalf("vault delete %s: status %d", name, res.Status)
		}
	default:
		ts.Fatalf("usage: vault latest|versions|set|delete|roles I ...")
	}
}
