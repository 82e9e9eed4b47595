package main

import (
	"context"
	"fmt"

	"github.com/useitcloud/uicctl/pkg/apply"
	"github.com/useitcloud/uicctl/pkg/keyvault"
	"github.com/useitcloud/uicctl/pkg/plan"
	"github.com/useitcloud/uicctl/pkg/secrets"
	"github.com/useitcloud/uicctl/pkg/spec"
)

// deliverRefreshToken writes a refresh token that consent or verify --write-back just stored
// in the secrets file to the tenant's vault (nothing without delivery.keyVault), under the
// file's compare-and-swap rule: with old set (the token a write-back redeemed), the vault is
// changed only while it still holds old, so a newer token stored meanwhile stays. It returns
// a line for the user, or "" when there is nothing to say.
func deliverRefreshToken(ctx context.Context, app *App, t spec.Tenant, val, old secrets.Value) (string, error) {
	p := t.Partner
	if p == nil || p.Delivery == nil || p.Delivery.KeyVault == nil {
		return "", nil
	}
	vc, err := vaultClient(app, []spec.Tenant{t})
	if err != nil {
		return "", err
	}
	f, err := secrets.Read(ctx, t.SecretsPath)
	if err != nil {
		return "", err
	}
	var want plan.VaultWant
	for _, w := range plan.VaultWants(p, apply.Meta(f)) {
		if w.Key == "refreshToken" {
			want = w
		}
	}
	kv := p.Delivery.KeyVault
	res, err := vc.DeliverIf(ctx, kv.URL, want, val, old)
	if err != nil {
		return "", err
	}
	switch res {
	case keyvault.Swapped:
		return fmt.Sprintf("%s: refresh token delivered to %s (secret %s)", p.Name, kv.URL, want.Name), nil
	case keyvault.KeptNewer:
		return fmt.Sprintf("warning: %s: the vault %s holds a newer refresh token than the one this run redeemed; it was kept", p.Name, kv.URL), nil
	}
	return "", nil
}
