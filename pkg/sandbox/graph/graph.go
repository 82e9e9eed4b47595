package graph

import (
	"crypto/rand"
	"net/http"
	"sync"
	"time"
)

// Principal is who a validated access token speaks for. A's token verifier produces it.
type Principal struct {
	TenantID string   // tid
	AppID    string   // appid / azp
	ObjectID string   // oid: the user, or the service principal for app-only tokens
	Audience string   // aud
	Scopes   []string // scp (delegated tokens)
	Roles    []string // roles (app-only tokens)
	MFA      bool     // amr contains "mfa"
}

// Options configures a Service.
type Options struct {
	// Authenticate validates the bearer token of r for the Graph audience (signature,
	// expiry, audience). It returns an error whose text is the Graph 401 message.
	Authenticate func(r *http.Request) (Principal, error)
	// Now is the sandbox clock (with its offset). Nil means time.Now.
	Now func() time.Time
	// ReplicationLag: nil or 0 is off. >0: objects created less than this ago are not yet
	// visible to reads/references (404 Request_ResourceNotFound, 400 "does not reference a
	// valid application object").
	ReplicationLag func() time.Duration
	// UsageRows, when set, supplies the line items of a partner billing export for the
	// partner tenant: kind is "usage" or "reconciliation"; billed exports pass the invoice
	// id as period, unbilled ones "current" or "last" with the requested currency. ok false
	// (and a nil UsageRows) generates deterministic rows per tenant instead.
	UsageRows func(partnerTenantID, kind string, billed bool, period, currency string) (rows []map[string]any, ok bool)
	// BatchItemThrottle, when set, is asked once per $batch item: throttled answers that item
	// 429 TooManyRequests with Retry-After, as Graph throttles items one by one
	// (json-batching). Nil never throttles items.
	BatchItemThrottle func() (retryAfter string, throttled bool)
}

// Service is the Graph emulation. It is safe for concurrent use.
type Service struct {
	opts Options

	mu      sync.RWMutex
	tenants map[string]*tenant
	apps    map[string]appLoc // appId -> where the application object lives
	blobKey []byte            // signs export blob URLs (the SAS token)
}

// New returns an empty Graph emulation; AddTenant creates directories in it.
func New(opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ReplicationLag == nil {
		opts.ReplicationLag = func() time.Duration { return 0 }
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return &Service{opts: opts, tenants: map[string]*tenant{}, apps: map[string]appLoc{}, blobKey: key}
}

// App is a read-only snapshot of an application for the sign-in emulation.
type App struct {
	TenantID, ObjectID, AppID, DisplayName, SignInAudience string
	RedirectURIs                                           []string // web.redirectUris as stored
	Passwords                                              []Password
}

// Password is a password credential of an application, without its secret.
type Password struct {
	KeyID                      string
	StartDateTime, EndDateTime time.Time
}
