package graph

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxBody is Graph's request size limit (4 MB).
const maxBody = 4 << 20

// contentType is what Graph writes on JSON responses.
const contentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// ctx is one request being served.
type ctx struct {
	s           *Service
	w           http.ResponseWriter
	r           *http.Request
	p           Principal
	now         time.Time
	base        string // absolute Graph base, e.g. https://127.0.0.1:PORT/graph/v1.0
	root        string // scheme://host
	reqID       string
	clientReqID string
	segs        []string // path segments after /v1.0, unescaped one by one
	inBatch     bool
	lag         time.Duration // replication lag in force for this request
	ownedOnly   int8          // 0 unknown, 1 yes, -1 no: see ownedByOnly
}

// ServeHTTP serves Graph; paths start with /v1.0/.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := s.newCtx(w, r)
	if !strings.HasPrefix(r.URL.Path, "/v1.0/") && r.URL.Path != "/v1.0" {
		// UNCONFIRMED: Graph's answer for an unknown API version.
		c.fail(http.StatusBadRequest, "BadRequest", "Invalid version.")
		return
	}
	h := r.Header.Get("Authorization")
	if h == "" || !strings.HasPrefix(h, "Bearer ") || strings.TrimSpace(h[len("Bearer "):]) == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`)
		c.fail(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
		return
	}
	if s.opts.Authenticate == nil {
		c.fail(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure.")
		return
	}
	p, err := s.opts.Authenticate(r)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`)
		c.fail(http.StatusUnauthorized, "InvalidAuthenticationToken", err.Error())
		return
	}
	if p.Audience != "https://graph.microsoft.com" && p.Audience != "https://graph.microsoft.com/" && p.Audience != GraphAppID {
		c.fail(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
		return
	}
	c.p = p
	s.mu.RLock()
	_, ok := s.tenants[p.TenantID]
	s.mu.RUnlock()
	if !ok {
		// UNCONFIRMED: a token for a tenant the sandbox does not host.
		c.fail(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure.")
		return
	}
	c.route()
}

func (s *Service) newCtx(w http.ResponseWriter, r *http.Request) *ctx {
	c := &ctx{s: s, w: w, r: r, now: s.opts.Now().UTC(), reqID: newGUID(), lag: s.opts.ReplicationLag()}
	c.clientReqID = r.Header.Get("client-request-id")
	if c.clientReqID == "" {
		c.clientReqID = c.reqID
	}
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	c.root = scheme + "://" + r.Host
	// The router strips its prefix (/graph) from URL.Path; RequestURI keeps it.
	prefix := ""
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil {
		if i := strings.Index(u.Path, "/v1.0"); i > 0 {
			prefix = u.Path[:i]
		}
	}
	c.base = c.root + prefix + "/v1.0"
	h := w.Header()
	h.Set("request-id", c.reqID)
	h.Set("client-request-id", c.clientReqID)
	h.Set("x-ms-ags-diagnostic", `{"ServerInfo":{"DataCenter":"Sandbox","Slice":"E","Ring":"1","ScaleUnit":"000","RoleInstance":"sandbox"}}`)
	h.Set("Strict-Transport-Security", "max-age=31536000")
	return c
}

// graphError is the OData error body.
type graphError struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code       string         `json:"code"`
	Message    string         `json:"message"`
	Details    []errorItem    `json:"details,omitempty"`
	InnerError map[string]any `json:"innerError"`
}

type errorItem struct {
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
	Target  string `json:"target"`
}

func (c *ctx) errorBody(code, msg string, details ...errorItem) graphError {
	return graphError{Error: errorDetail{Code: code, Message: msg, Details: details, InnerError: map[string]any{
		"date": c.now.Format("2006-01-02T15:04:05"), "request-id": c.reqID, "client-request-id": c.clientReqID,
	}}}
}

func (c *ctx) fail(status int, code, msg string, details ...errorItem) {
	c.json(status, c.errorBody(code, msg, details...))
}

func (c *ctx) notFound(id string) {
	c.fail(http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.")
}

func (c *ctx) denied() {
	c.fail(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
}

func (c *ctx) badSegment(seg string) {
	c.fail(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+seg+"'.")
}

func (c *ctx) methodNotAllowed() {
	// UNCONFIRMED: Graph answers an unsupported method on a known resource with 405.
	c.fail(http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
}

func (c *ctx) json(status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"InternalServerError","message":"cannot encode response"}}`)
	}
	c.w.Header().Set("Content-Type", contentType)
	c.w.Header().Set("OData-Version", "4.0")
	c.w.WriteHeader(status)
	_, _ = c.w.Write(b)
}

func (c *ctx) noContent() {
	c.w.WriteHeader(http.StatusNoContent)
}

// body reads the JSON object of the request, gunzipping it when the client compressed it
// (kiota's default CompressionHandler gzips every body). It writes the error itself and
// returns nil, false when the body is unusable.
// writeBody is the start of every write: the caller may write (perms), and the JSON body is
// a valid typ. On false the error answer is already written.
func (c *ctx) writeBody(perms []string, typ string) (map[string]any, bool) {
	if !c.allow(perms) {
		return nil, false
	}
	body, ok := c.body()
	if !ok || !c.validBody(typ, body) {
		return nil, false
	}
	return body, true
}

func (c *ctx) body() (map[string]any, bool) {
	raw, ok := c.rawBody()
	if !ok {
		return nil, false
	}
	m, err := decodeObject(raw)
	if err != nil {
		c.fail(http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
		return nil, false
	}
	return m, true
}

// optionalBody is body for actions whose parameters are all optional: no body is {}.
func (c *ctx) optionalBody() (map[string]any, bool) {
	raw, ok := c.rawBody()
	if !ok {
		return nil, false
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return map[string]any{}, true
	}
	m, err := decodeObject(raw)
	if err != nil {
		c.fail(http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
		return nil, false
	}
	return m, true
}

// rawBody reads the request body, gunzipped, and checks its size and content type.
func (c *ctx) rawBody() ([]byte, bool) {
	var rd io.Reader = io.LimitReader(c.r.Body, maxBody+1)
	switch strings.ToLower(strings.TrimSpace(c.r.Header.Get("Content-Encoding"))) {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(rd)
		if err != nil {
			c.fail(http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
			return nil, false
		}
		defer zr.Close()
		rd = io.LimitReader(zr, maxBody+1)
	default:
		// UNCONFIRMED: Graph's text; 415 makes kiota resend the body uncompressed.
		c.fail(http.StatusUnsupportedMediaType, "UnsupportedMediaType", "The Content-Encoding of the request is not supported.")
		return nil, false
	}
	raw, err := io.ReadAll(rd)
	if err != nil {
		c.fail(http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
		return nil, false
	}
	if len(raw) > maxBody {
		c.fail(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request body exceeds the 4 MB limit.")
		return nil, false
	}
	ct := strings.ToLower(c.r.Header.Get("Content-Type"))
	if len(bytes.TrimSpace(raw)) > 0 && ct != "" && !strings.HasPrefix(ct, "application/json") {
		// Graph's payload-reading error names the Content-Type header; curl -d without
		// -H 'Content-Type: application/json' sends a form type and lands here.
		// UNCONFIRMED: that a wrong content type gets this 400 rather than a 415.
		c.fail(http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
		return nil, false
	}
	return raw, true
}

func decodeObject(raw []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, errors.New("empty body")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data")
	}
	if m == nil {
		return nil, errors.New("not an object")
	}
	return m, nil
}

// validBody validates m against type name and writes the 400 itself.
func (c *ctx) validBody(name string, m map[string]any) bool {
	if err := validate(types[name], m, false); err != nil {
		var be *bodyError
		if errors.As(err, &be) {
			c.fail(http.StatusBadRequest, be.code, be.msg)
		} else {
			c.fail(http.StatusBadRequest, "BadRequest", err.Error())
		}
		return false
	}
	return true
}

// appOnly reports whether the token carries application permissions rather than a user.
func (c *ctx) appOnly() bool { return len(c.p.Scopes) == 0 }

// has reports whether the token carries one of perms: roles for app-only tokens, scopes
// for delegated ones (where Directory.AccessAsUser.All acts with the user's own rights).
// Delegated calls also need a directory role of the signed-in user; the sandbox treats
// every signed-in account as able to do what its scopes allow.
func (c *ctx) has(perms ...string) bool {
	held := c.p.Roles
	if !c.appOnly() {
		held = c.p.Scopes
		for _, h := range held {
			if h == "Directory.AccessAsUser.All" {
				return true
			}
		}
	}
	for _, h := range held {
		for _, p := range perms {
			if strings.EqualFold(h, p) {
				return true
			}
		}
	}
	return false
}

// visible reports whether e has replicated: with replication lag switched on, objects
// created less than the lag ago are not yet seen by reads and references.
func (c *ctx) visible(e *entity) bool {
	return c.lag <= 0 || e.Created.IsZero() || c.now.Sub(e.Created) >= c.lag
}

// route dispatches on the path after /v1.0.
func (c *ctx) route() {
	rest := strings.TrimPrefix(c.r.URL.EscapedPath(), "/")
	// EscapedPath keeps %2F inside a key such as (uniqueName='a%2Fb') from splitting it.
	if i := strings.Index(rest, "/"); i >= 0 {
		rest = rest[i+1:]
	} else {
		rest = ""
	}
	for _, raw := range strings.Split(rest, "/") {
		if raw == "" {
			continue
		}
		seg, err := url.PathUnescape(raw)
		if err != nil {
			c.fail(http.StatusBadRequest, "BadRequest", "The request URI is not valid.")
			return
		}
		if isGUID(seg) {
			seg = strings.ToLower(seg) // object ids match whatever their case
		}
		c.segs = append(c.segs, seg)
	}
	if len(c.segs) == 0 {
		c.json(http.StatusOK, map[string]any{"@odata.context": c.base + "/$metadata", "value": []any{}})
		return
	}
	head, key, keyValue := splitKey(c.segs[0])
	switch head {
	case "$batch":
		if len(c.segs) != 1 || key != "" || c.inBatch {
			c.badSegment(c.segs[0])
			return
		}
		if c.r.Method != http.MethodPost {
			c.methodNotAllowed()
			return
		}
		c.batch()
	case "applications":
		c.applications(key, keyValue)
	case "servicePrincipals":
		c.servicePrincipals(key, keyValue)
	case "oauth2PermissionGrants":
		c.grants()
	case "groups":
		c.groups()
	case "directoryObjects":
		c.directoryObjects()
	case "organization":
		c.organization()
	case "reports":
		c.reports()
	case "policies":
		c.policies()
	default:
		c.badSegment(c.segs[0])
	}
}

// splitKey splits "applications(appId='x')" into "applications", "appId", "x". A key
// without a name, "applications('x')", is the object id.
func splitKey(seg string) (head, key, value string) {
	i := strings.IndexByte(seg, '(')
	if i < 0 || !strings.HasSuffix(seg, ")") {
		return seg, "", ""
	}
	head, inner := seg[:i], seg[i+1:len(seg)-1]
	if j := strings.IndexByte(inner, '='); j >= 0 && !strings.HasPrefix(inner, "'") {
		key, inner = inner[:j], inner[j+1:]
	} else {
		key = "id"
	}
	if len(inner) >= 2 && inner[0] == '\'' && inner[len(inner)-1] == '\'' {
		inner = strings.ReplaceAll(inner[1:len(inner)-1], "''", "'")
	}
	return head, key, inner
}

// entityOut renders e with the given @odata.context, applying $select.
func (c *ctx) entityOut(e object, context string, sel []string) object {
	out := make(object, len(e)+1)
	if sel != nil {
		for _, name := range sel {
			if v, ok := e[name]; ok {
				out[name] = v
			}
		}
	} else {
		for k, v := range e {
			out[k] = v
		}
	}
	out["@odata.context"] = context
	return out
}
