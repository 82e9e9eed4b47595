package sandbox

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/google/go-cmp/cmp"

	"github.com/useitcloud/uicctl/internal/vaultrest"
	"github.com/useitcloud/uicctl/pkg/sandbox/keyvault"
)

// vaultClient reaches the sandbox's vaults through its proxy, with the challenge flow done
// by hand and the operator's client-credentials tokens.
func (e *env) vaultClient(t testing.TB) *vaultrest.Client {
	t.Helper()
	tr := e.hc.Transport.(*http.Transport).Clone()
	proxy, _ := url.Parse(e.sb.URL())
	tr.Proxy = proxyVaults(proxy)
	return &vaultrest.Client{HTTP: &http.Client{Transport: tr}, Token: func(_ context.Context, tenant, scope string) (string, error) {
		return e.appToken(t, tenant, strings.TrimSuffix(scope, "/.default")), nil
	}}
}

// proxyVaults proxies what HTTPS_PROXY would: everything but loopback.
func proxyVaults(proxy *url.URL) func(*http.Request) (*url.URL, error) {
	return func(r *http.Request) (*url.URL, error) {
		if r.URL.Hostname() == "127.0.0.1" {
			return nil, nil
		}
		return proxy, nil
	}
}

func vaultDo(t *testing.T, c *vaultrest.Client, method, vault, path string, body any) (int, map[string]any) {
	t.Helper()
	res, err := c.Do(context.Background(), method, vault, path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if !res.Challenged {
		t.Errorf("%s %s: answered without the 401 challenge", method, path)
	}
	var m map[string]any
	if len(res.Body) > 0 {
		if err := res.JSON(&m); err != nil {
			t.Fatalf("%s %s: %d not JSON: %s", method, path, res.Status, res.Body)
		}
	}
	return res.Status, m
}

func errorCodes(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	code, _ := e["code"].(string)
	if in, ok := e["innererror"].(map[string]any); ok {
		c, _ := in["code"].(string)
		code += "/" + c
	}
	return code
}

// TestVaultChallenge: a request without a token gets Key Vault's 401 with the challenge
// that names the vault's tenant and the Key Vault resource.
func TestVaultChallenge(t *testing.T) {
	e := start(t, Options{Tenants: 1})
	ten := e.sb.World().Tenants[0]
	c := e.vaultClient(t)
	req, _ := http.NewRequest(http.MethodGet, ten.KeyVault.URL+"secrets/x?api-version=7.5", nil)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", resp.StatusCode)
	}
	tenant, resource, err := vaultrest.Challenge(resp.Header.Get("WWW-Authenticate"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{ten.TenantID, "https://vault.azure.net"}, []string{tenant, resource}); diff != "" {
		t.Errorf("challenge (-want +got):\n%s", diff)
	}
	// A token of another tenant (the operator's home) is refused with the challenge again.
	opTenant, _, _ := e.sb.Operator()
	tok := e.appToken(t, opTenant, keyvault.Resource)
	req, _ = http.NewRequest(http.MethodGet, ten.KeyVault.URL+"secrets/x?api-version=7.5", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err = c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("foreign tenant's token: status %d, want 401 with a challenge", resp.StatusCode)
	}
}

// TestVaultSecrets walks a secret through set, versions, update, soft delete, the 409 of a
// deleted name, recover and purge, and shows RBAC's 403.
func TestVaultSecrets(t *testing.T) {
	e := start(t, Options{Tenants: 1})
	ten := e.sb.World().Tenants[0]
	v := ten.KeyVault.URL
	c := e.vaultClient(t)
	exp := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC).Unix()

	st, m := vaultDo(t, c, "PUT", v, "/secrets/s1", map[string]any{"value": "one", "contentType": "text/plain", "tags": map[string]string{"keyId": "k1"}, "attributes": map[string]any{"exp": exp}})
	if st != 200 || m["value"] != "one" {
		t.Fatalf("set: %d %v", st, m)
	}
	id1 := m["id"].(string)
	if !strings.HasPrefix(id1, "https://"+keyvault.Host(ten.KeyVault.Name)+"/secrets/s1/") {
		t.Errorf("id %q", id1)
	}
	vaultDo(t, c, "PUT", v, "/secrets/s1", map[string]any{"value": "two"})
	st, m = vaultDo(t, c, "GET", v, "/secrets/s1", nil)
	if st != 200 || m["value"] != "two" {
		t.Fatalf("latest: %d %v", st, m)
	}
	ver1 := id1[strings.LastIndex(id1, "/")+1:]
	st, m = vaultDo(t, c, "GET", v, "/secrets/s1/"+ver1, nil)
	attrs, _ := m["attributes"].(map[string]any)
	if st != 200 || m["value"] != "one" || attrs["exp"] != float64(exp) || m["contentType"] != "text/plain" {
		t.Fatalf("version 1: %d %v", st, m)
	}
	st, m = vaultDo(t, c, "GET", v, "/secrets/s1/versions", nil)
	if items, _ := m["value"].([]any); st != 200 || len(items) != 2 || items[0].(map[string]any)["value"] != nil {
		t.Fatalf("versions: %d %v", st, m)
	}
	st, m = vaultDo(t, c, "PATCH", v, "/secrets/s1/"+ver1, map[string]any{"attributes": map[string]any{"enabled": false}})
	if st != 200 || m["value"] != nil {
		t.Fatalf("patch: %d %v", st, m)
	}
	if st, m = vaultDo(t, c, "GET", v, "/secrets/s1/"+ver1, nil); st != 403 || errorCodes(m) != "Forbidden/SecretDisabled" {
		t.Errorf("disabled version: %d %v", st, m)
	}
	if st, m = vaultDo(t, c, "GET", v, "/secrets/nope", nil); st != 404 || errorCodes(m) != "SecretNotFound" {
		t.Errorf("missing: %d %v", st, m)
	}
	if st, m = vaultDo(t, c, "DELETE", v, "/secrets/s1", nil); st != 200 || m["recoveryId"] == nil {
		t.Fatalf("delete: %d %v", st, m)
	}
	if st, m = vaultDo(t, c, "PUT", v, "/secrets/s1", map[string]any{"value": "three"}); st != 409 || errorCodes(m) != "Conflict/ObjectIsDeletedButRecoverable" {
		t.Errorf("set a deleted name: %d %v", st, m)
	}
	if st, _ = vaultDo(t, c, "GET", v, "/deletedsecrets/s1", nil); st != 200 {
		t.Errorf("get deleted: %d", st)
	}
	if st, _ = vaultDo(t, c, "POST", v, "/deletedsecrets/s1/recover", nil); st != 200 {
		t.Errorf("recover: %d", st)
	}
	if st, m = vaultDo(t, c, "GET", v, "/secrets/s1", nil); st != 200 || m["value"] != "two" {
		t.Errorf("after recover: %d %v", st, m)
	}
	vaultDo(t, c, "DELETE", v, "/secrets/s1", nil)
	if st, _ = vaultDo(t, c, "DELETE", v, "/deletedsecrets/s1", nil); st != 204 {
		t.Errorf("purge: %d", st)
	}
	if st, _ = vaultDo(t, c, "PUT", v, "/secrets/s1", map[string]any{"value": "four"}); st != 200 {
		t.Errorf("set after purge: %d", st)
	}

	if err := e.sb.SetOperatorVaultRoles(ten.Name, []string{keyvault.CryptoUser}); err != nil {
		t.Fatal(err)
	}
	st, m = vaultDo(t, c, "GET", v, "/secrets/s1", nil)
	msg, _ := m["error"].(map[string]any)["message"].(string)
	if st != 403 || errorCodes(m) != "Forbidden/ForbiddenByRbac" || !strings.Contains(msg, "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'") {
		t.Errorf("without a secrets role: %d %v", st, m)
	}
}

// TestVaultSDKs: Microsoft's own clients (azsecrets, and azkeys as sops uses it) work
// against the sandbox's vaults with their default options, the challenge resource check
// included, reaching the vault by its real name through the proxy.
func TestVaultSDKs(t *testing.T) {
	e := start(t, Options{Tenants: 1})
	ten := e.sb.World().Tenants[0]
	tr := e.hc.Transport.(*http.Transport).Clone()
	proxy, _ := url.Parse(e.sb.URL())
	tr.Proxy = proxyVaults(proxy)
	co := azcore.ClientOptions{Transport: &http.Client{Transport: tr}}
	opTenant, clientID, secret := e.sb.Operator()
	cred, err := azidentity.NewClientSecretCredential(opTenant, clientID, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:              azcore.ClientOptions{Transport: co.Transport, Cloud: azcloud.Configuration{ActiveDirectoryAuthorityHost: e.sb.URL() + "/"}},
		AdditionallyAllowedTenants: []string{"*"}, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sc, err := azsecrets.NewClient(ten.KeyVault.URL, cred, &azsecrets.ClientOptions{ClientOptions: co})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.SetSecret(ctx, "sdk", azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil); err != nil {
		t.Fatalf("SetSecret: %v", err)
	}
	got, err := sc.GetSecret(ctx, "sdk", "", nil)
	if err != nil || *got.Value != "v" {
		t.Fatalf("GetSecret: %v", err)
	}
	kc, err := azkeys.NewClient(ten.KeyVault.URL, cred, &azkeys.ClientOptions{ClientOptions: co})
	if err != nil {
		t.Fatal(err)
	}
	k, err := kc.GetKey(ctx, "sops", "", nil)
	if err != nil {
		t.Fatalf("GetKey: %v", err)
	}
	dataKey := sha256.Sum256([]byte("data key"))
	enc, err := kc.Encrypt(ctx, "sops", k.Key.KID.Version(), azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: dataKey[:]}, nil)
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	dec, err := kc.Decrypt(ctx, "sops", k.Key.KID.Version(), azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: enc.Result}, nil)
	if err != nil || string(dec.Result) != string(dataKey[:]) {
		t.Fatalf("Decrypt: %v", err)
	}
	wrapped, err := kc.WrapKey(ctx, "sops", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: dataKey[:]}, nil)
	if err != nil {
		t.Fatalf("WrapKey: %v", err)
	}
	unwrapped, err := kc.UnwrapKey(ctx, "sops", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: wrapped.Result}, nil)
	if err != nil || string(unwrapped.Result) != string(dataKey[:]) {
		t.Fatalf("UnwrapKey: %v", err)
	}
}

// TestVaultStatePersists: with --state, a restart keeps the vaults' secrets and keys, so a
// file sops encrypted with a vault key still decrypts.
func TestVaultStatePersists(t *testing.T) {
	stateFile := t.TempDir() + "/state.json"
	e := start(t, Options{Tenants: 1, StateFile: stateFile})
	ten := e.sb.World().Tenants[0]
	c := e.vaultClient(t)
	vaultDo(t, c, "PUT", ten.KeyVault.URL, "/secrets/kept", map[string]any{"value": "kept-value"})
	st, m := vaultDo(t, c, "POST", ten.KeyVault.URL, "/keys/sops/encrypt", map[string]any{"alg": "RSA-OAEP-256", "value": "ZGF0YS1rZXk"})
	if st != 200 {
		t.Fatalf("encrypt: %d %v", st, m)
	}
	if err := e.sb.Close(); err != nil {
		t.Fatal(err)
	}
	e2 := start(t, Options{StateFile: stateFile})
	c2 := e2.vaultClient(t)
	if st, m := vaultDo(t, c2, "GET", ten.KeyVault.URL, "/secrets/kept", nil); st != 200 || m["value"] != "kept-value" {
		t.Errorf("secret after restart: %d %v", st, m)
	}
	st, m = vaultDo(t, c2, "POST", ten.KeyVault.URL, "/keys/sops/decrypt", map[string]any{"alg": "RSA-OAEP-256", "value": m["value"]})
	if st != 200 || m["value"] != "ZGF0YS1rZXk" {
		t.Errorf("decrypt after restart: %d %v", st, m)
	}
}
