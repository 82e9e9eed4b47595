package report

import (
	"sort"
	"time"

	"github.com/useitcloud/uicctl/pkg/spec"
	"github.com/useitcloud/uicctl/pkg/verify"
)

// The deadlines of a tenant's credentials.
const (
	// DeadlineClientSecret is the client secret's endDateTime; verify warns from
	// end - renewBefore on, when apply rotates it.
	DeadlineClientSecret = "client-secret"
	// DeadlineRefreshToken is the refresh token's last use + 90 days, when Entra stops
	// redeeming an unused token (AADSTS700082); its warn horizon is the consent maxAge.
	DeadlineRefreshToken = "refresh-token-idle"
	// DeadlineConsentMaxAge is the last use + partnerCenter.consent.maxAge, from which on
	// verify warns about the refresh token.
	DeadlineConsentMaxAge = "consent-max-age"
)

// Horizon is where a deadline stands on a run's day.
type Horizon string

const (
	HorizonOK      Horizon = "ok"      // before its warn horizon
	HorizonWarn    Horizon = "warn"    // within its warn horizon
	HorizonExpired Horizon = "expired" // passed
)

func (h Horizon) rank() int {
	switch h {
	case HorizonWarn:
		return 1
	case HorizonExpired:
		return 2
	}
	return 0
}

// Deadline is a date a credential stops working (or verify starts warning), with the warn
// horizon before it.
type Deadline struct {
	At       time.Time `json:"at"`
	Horizon  Horizon   `json:"horizon"`
	Kind     string    `json:"-"`
	WarnFrom time.Time `json:"warnFrom"`
}

// Label names a deadline for people.
func (d Deadline) Label() string {
	switch d.Kind {
	case DeadlineClientSecret:
		return "client secret ends"
	case DeadlineRefreshToken:
		return "refresh token idle for 90 days"
	case DeadlineConsentMaxAge:
		return "consent maxAge reached"
	}
	return d.Kind
}

// Deadlines are the dates a run learnt of, in a stable order (by kind), with their horizon
// at now.
func Deadlines(e verify.Expiry, now time.Time) []Deadline {
	var out []Deadline
	add := func(kind string, at, warnFrom time.Time) {
		at, warnFrom = at.UTC().Truncate(time.Second), warnFrom.UTC().Truncate(time.Second)
		d := Deadline{Kind: kind, At: at, WarnFrom: warnFrom, Horizon: HorizonOK}
		switch {
		case !now.Before(at):
			d.Horizon = HorizonExpired
		case !now.Before(warnFrom):
			d.Horizon = HorizonWarn
		}
		out = append(out, d)
	}
	if !e.ClientSecretEnd.IsZero() {
		add(DeadlineClientSecret, e.ClientSecretEnd, e.ClientSecretEnd.Add(-e.RenewBefore))
	}
	if lu := e.RefreshTokenLastUse; !lu.IsZero() {
		idle := lu.Add(time.Duration(spec.MaxConsentAge))
		maxAge := idle
		if e.ConsentMaxAge > 0 && e.ConsentMaxAge < time.Duration(spec.MaxConsentAge) {
			maxAge = lu.Add(e.ConsentMaxAge)
		}
		add(DeadlineRefreshToken, idle, maxAge)
		add(DeadlineConsentMaxAge, maxAge, maxAge)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out
}
