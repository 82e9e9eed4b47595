package plan

import (
	"fmt"
	"time"

	"github.com/useitcloud/uicctl/pkg/spec"
)

// SecretLifetime is the lifetime a new client secret gets: application.clientSecret.lifetime,
// capped by the app management policy that applies to the app (Entra refuses a longer one:
// "Credential lifetime exceeds the max value allowed as per assigned policy"). note says
// which policy capped it ("" when none did). The error is a lifetime that cannot be met: the
// policy forbids new passwords, or caps them at or below renewBefore, so that every apply
// would rotate the secret. Plan and apply both use it, so apply never meets the refusal.
func SecretLifetime(cs spec.ClientSecret, pol *PasswordPolicy) (time.Duration, string, error) {
	life := time.Duration(cs.Lifetime)
	if pol == nil {
		return life, "", nil
	}
	if pol.Blocked {
		return 0, "", &ComputeError{
			Msg:      fmt.Sprintf("no client secret can be created: %s forbids new password credentials (restriction passwordAddition)", pol.Source),
			HintText: "have an admin exempt the application: assign it an app management policy that allows passwords (Entra admin center > Applications > App management policies), or create the secret by hand and record it with uicctl secrets set",
		}
	}
	if pol.MaxLifetime <= 0 || life <= pol.MaxLifetime {
		return life, "", nil
	}
	max := spec.Duration(pol.MaxLifetime)
	if pol.MaxLifetime <= time.Duration(cs.RenewBefore) {
		return 0, "", &ComputeError{
			Msg: fmt.Sprintf("application.clientSecret.lifetime %s cannot be met: %s caps new passwords at %s, not more than renewBefore %s, so every apply would replace the secret",
				cs.Lifetime, pol.Source, max, cs.RenewBefore),
			HintText: fmt.Sprintf("set application.clientSecret.renewBefore below %s (and lifetime to %s), or have an admin raise the policy's maxLifetime", max, max),
		}
	}
	return pol.MaxLifetime, fmt.Sprintf("lifetime %s clamped to %s: %s caps new passwords at %s", cs.Lifetime, max, pol.Source, max), nil
}
