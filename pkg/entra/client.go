package entra

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	abs "github.com/microsoft/kiota-abstractions-go"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	graphauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	kjson "github.com/microsoft/kiota-serialization-json-go"
	ktext "github.com/microsoft/kiota-serialization-text-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/useitcloud/uicctl/pkg/cloud"
)

// Options tune a Client. The zero value is what the CLI uses.
type Options struct {
	// MaxRetries bounds how often one request answered 429, 503 or 504 is retried
	// (retryHandler, honouring Retry-After). 0 means 10, kiota's cap: a fleet run sends
	// hundreds of requests, and with 30% of them throttled six retries would still leave
	// one request in 5,000 failing.
	MaxRetries int
	// Timeout bounds one request with its retries. 0 means 5 minutes.
	Timeout time.Duration
	// SettleTimeout is the per-operation deadline of a write refused because an object it
	// refers to was created moments ago and has not replicated yet: it is tried again with
	// backoff until then. 0 means 60 s.
	SettleTimeout time.Duration
	// Log, when set, receives a debug record per HTTP attempt (method, path, status,
	// duration): never a header, a query value that could hold a secret, or a body.
	Log *slog.Logger
}

// A Client reads and writes Microsoft Graph for any tenant the credential may sign in to.
// It is safe for concurrent use: tenants share one HTTP client and its connections.
type Client struct {
	cloud     cloud.Cloud
	cred      azcore.TokenCredential
	hc        *http.Client
	blobHC    *http.Client // no Graph middleware: billing export blobs, authorised by their SAS
	graphHost string
	scopes    []string

	settleTimeout time.Duration
	maxRetries    int
	log           *slog.Logger
}

var registerOnce sync.Once

// register installs the JSON and text (de)serialisers the generated request builders look
// up (the root msgraph package would do this, and doubles the build), and the error
// factory of $batch items.
func register() {
	registerOnce.Do(func() {
		abs.RegisterDefaultSerializer(func() absser.SerializationWriterFactory { return kjson.NewJsonSerializationWriterFactory() })
		abs.RegisterDefaultSerializer(func() absser.SerializationWriterFactory { return ktext.NewTextSerializationWriterFactory() })
		abs.RegisterDefaultDeserializer(func() absser.ParseNodeFactory { return kjson.NewJsonParseNodeFactory() })
		abs.RegisterDefaultDeserializer(func() absser.ParseNodeFactory { return ktext.NewTextParseNodeFactory() })
		msgraphcore.RegisterError(msgraphcore.BatchRequestErrorRegistryKey, abs.ErrorMappings{
			"4XX": odataerrors.CreateODataErrorFromDiscriminatorValue,
			"5XX": odataerrors.CreateODataErrorFromDiscriminatorValue,
		})
	})
}

// fleetTransport is the one transport of a run, shared by token requests and Graph calls.
// A fleet run talks to a few hosts from many goroutines: it keeps up to 64 idle connections
// per host (net/http keeps 2), so tenants reuse connections instead of handshaking anew.
var fleetTransport = sync.OnceValue(func() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return tr
})

// New returns a Graph client for cloud c that signs in with cred, one token per tenant.
func New(c cloud.Cloud, cred azcore.TokenCredential, opts Options) (*Client, error) {
	if cred == nil {
		return nil, errors.New("no credential")
	}
	u, err := url.Parse(c.Graph)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" {
		return nil, fmt.Errorf("invalid Graph base URL %q: must be absolute https", c.Graph)
	}
	register()
	if opts.MaxRetries <= 0 {
		opts.MaxRetries = 10
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Minute
	}
	if opts.SettleTimeout <= 0 {
		opts.SettleTimeout = time.Minute
	}
	parent := testOnlyTransport
	if parent == nil {
		parent = fleetTransport()
	}
	var mw []khttp.Middleware
	for _, m := range msgraphcore.GetDefaultMiddlewaresWithOptions(&msgraphcore.GraphClientOptions{}) {
		switch m.(type) {
		case *khttp.RetryHandler:
			// Ours: see retryHandler for what kiota's gets wrong in a fleet run.
			m = retryHandler{defaults: khttp.RetryHandlerOptions{MaxRetries: opts.MaxRetries}}
		case *khttp.CompressionHandler:
			// Dropped: it gzips the body of a request copy but sets Content-Encoding on the
			// header map the copy shares with the original, so a POST retried after a 429
			// goes out as plain JSON labelled gzip and Graph answers 400 (kiota-http-go
			// v1.5.4, seen with 30% 429s). Our bodies are a few kilobytes.
			continue
		}
		mw = append(mw, m)
	}
	if opts.Log != nil {
		// Innermost, so that every attempt the retry handler makes is logged.
		mw = append(mw, logHandler{opts.Log})
	}
	audience := c.GraphAudience
	if audience == "" {
		audience = cloud.PublicGraphAudience
	}
	return &Client{
		cloud:     c,
		cred:      cred,
		hc:        &http.Client{Timeout: opts.Timeout, Transport: khttp.NewCustomTransportWithParentTransport(parent, mw...)},
		blobHC:    &http.Client{Timeout: opts.Timeout, Transport: parent},
		graphHost: u.Hostname(),
		scopes:    []string{cloud.Scope(audience)},

		settleTimeout: opts.SettleTimeout,
		maxRetries:    opts.MaxRetries,
		log:           opts.Log,
	}, nil
}

// adapter returns a request adapter whose token is for tenantID. Adapters are cheap; the
// HTTP client and the credential's token cache are shared.
func (c *Client) adapter(tenantID string) (*msgraphcore.GraphRequestAdapterBase, error) {
	auth, err := graphauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(
		tenantCredential{cred: c.cred, tenant: tenantID, log: c.log}, c.scopes, []string{c.graphHost})
	if err != nil {
		return nil, fmt.Errorf("cannot set up Graph authentication: %w", err)
	}
	a, err := msgraphcore.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		auth, msgraphcore.GraphClientOptions{}, nil, nil, c.hc)
	if err != nil {
		return nil, fmt.Errorf("cannot set up the Graph client: %w", err)
	}
	a.SetBaseUrl(c.cloud.Graph)
	return a, nil
}

// logHandler is a kiota middleware that logs each request attempt at debug level.
type logHandler struct{ log *slog.Logger }

func (h logHandler) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	start := time.Now()
	res, err := p.Next(req, i)
	attrs := []any{"method", req.Method, "path", req.URL.Path, "ms", time.Since(start).Milliseconds()}
	if err != nil {
		h.log.Debug("graph request failed", append(attrs, "error", err.Error())...)
		return res, err
	}
	h.log.Debug("graph request", append(attrs, "status", res.StatusCode)...)
	return res, nil
}
