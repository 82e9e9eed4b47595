package graph

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxBatch is the documented limit of requests in one $batch (json-batching).
const maxBatch = 20

type batchItem struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	DependsOn []string          `json:"dependsOn"`
}

type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

func (c *ctx) batchFail(msg string) {
	// UNCONFIRMED: the texts; the status (400 for a malformed batch) is documented.
	c.fail(http.StatusBadRequest, "BadRequest", msg)
}

// batch serves POST /$batch: at most 20 requests, run in dependsOn order; a request whose
// dependency failed gets 424.
func (c *ctx) batch() {
	raw, ok := c.rawBody()
	if !ok {
		return
	}
	var req struct {
		Requests []batchItem `json:"requests"`
	}
	if err := json.Unmarshal(raw, &req); err != nil || req.Requests == nil {
		c.batchFail("Invalid batch payload format.")
		return
	}
	if len(req.Requests) == 0 {
		c.batchFail("Invalid batch payload format.")
		return
	}
	if len(req.Requests) > maxBatch {
		c.batchFail("The number of requests in the batch exceeds the limit of 20.")
		return
	}
	byID := map[string]int{}
	for i, it := range req.Requests {
		if it.ID == "" || it.Method == "" || it.URL == "" {
			c.batchFail("Invalid batch payload format.")
			return
		}
		k := strings.ToLower(it.ID)
		if _, dup := byID[k]; dup {
			c.batchFail("Batch request ids must be unique.")
			return
		}
		byID[k] = i
		hasBody := len(it.Body) > 0 && string(it.Body) != "null"
		if hasBody && headerValue(it.Headers, "Content-Type") == "" {
			c.batchFail("Content-Type header must be specified for requests with a body.")
			return
		}
	}
	for _, it := range req.Requests {
		for _, d := range it.DependsOn {
			if _, ok := byID[strings.ToLower(d)]; !ok || strings.EqualFold(d, it.ID) {
				c.batchFail("Batch request dependsOn refers to an unknown request id.")
				return
			}
		}
	}
	// Run in dependency order; a cycle leaves requests that never become ready.
	status := make([]int, len(req.Requests))
	done := make([]bool, len(req.Requests))
	out := make([]batchResponse, 0, len(req.Requests))
	for len(out) < len(req.Requests) {
		progressed := false
		for i, it := range req.Requests {
			if done[i] {
				continue
			}
			ready, failed := true, ""
			for _, d := range it.DependsOn {
				j := byID[strings.ToLower(d)]
				if !done[j] {
					ready = false
					break
				}
				if status[j] >= 400 {
					failed = req.Requests[j].ID
				}
			}
			if !ready {
				continue
			}
			progressed = true
			done[i] = true
			var resp batchResponse
			if failed != "" {
				body, _ := json.Marshal(c.errorBody("FailedDependency", "The request depends on request '"+failed+"', which failed."))
				// UNCONFIRMED: the body of a 424 item.
				resp = batchResponse{ID: it.ID, Status: http.StatusFailedDependency,
					Headers: map[string]string{"Content-Type": "application/json"}, Body: body}
			} else if retry, ok := c.throttleItem(); ok {
				body, _ := json.Marshal(c.errorBody("TooManyRequests", "Too many requests from Identifier:sandbox under category:throttle.aad.ags.tenant. Please try again later."))
				resp = batchResponse{ID: it.ID, Status: http.StatusTooManyRequests,
					Headers: map[string]string{"Content-Type": "application/json", "Retry-After": retry}, Body: body}
			} else {
				resp = c.runItem(it)
			}
			status[i] = resp.Status
			out = append(out, resp)
		}
		if !progressed {
			c.batchFail("Batch request dependsOn contains a cycle.")
			return
		}
	}
	c.w.Header().Set("Content-Type", "application/json")
	c.w.Header().Set("OData-Version", "4.0")
	c.w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(c.w).Encode(map[string]any{"responses": out})
}

func (c *ctx) throttleItem() (string, bool) {
	if c.s.opts.BatchItemThrottle == nil {
		return "", false
	}
	return c.s.opts.BatchItemThrottle()
}

func headerValue(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// runItem serves one batch request with the batch's principal.
func (c *ctx) runItem(it batchItem) batchResponse {
	u := it.URL
	if abs, err := url.Parse(u); err == nil && abs.IsAbs() {
		// Items are relative; the SDK strips the base URL itself. Accept an absolute one on
		// this service by keeping its path after /v1.0.
		if i := strings.Index(abs.EscapedPath(), "/v1.0"); i >= 0 {
			u = abs.EscapedPath()[i+len("/v1.0"):]
			if abs.RawQuery != "" {
				u += "?" + abs.RawQuery
			}
		}
	}
	if !strings.HasPrefix(u, "/") {
		u = "/" + u
	}
	var body io.Reader = http.NoBody
	hasBody := len(it.Body) > 0 && string(it.Body) != "null"
	if hasBody {
		body = bytes.NewReader(it.Body)
	}
	r, err := http.NewRequestWithContext(c.r.Context(), strings.ToUpper(it.Method), "/v1.0"+u, body)
	if err != nil {
		b, _ := json.Marshal(c.errorBody("BadRequest", "Invalid request URL."))
		return batchResponse{ID: it.ID, Status: http.StatusBadRequest, Headers: map[string]string{"Content-Type": "application/json"}, Body: b}
	}
	for k, v := range it.Headers {
		r.Header.Set(k, v) // item header names arrive lower-case from the SDK; Set canonicalises
	}
	if !hasBody {
		r.ContentLength = 0
	}
	r.Host = c.r.Host
	r.TLS = c.r.TLS
	rec := &recorder{h: http.Header{}}
	ic := &ctx{s: c.s, w: rec, r: r, p: c.p, now: c.now, base: c.base, root: c.root, reqID: c.reqID,
		clientReqID: c.clientReqID, inBatch: true, lag: c.lag}
	ic.route()
	resp := batchResponse{ID: it.ID, Status: rec.status, Headers: map[string]string{}}
	if resp.Status == 0 {
		resp.Status = http.StatusOK
	}
	// The SDK reads Content-Type from item headers case-sensitively.
	for _, name := range []string{"Content-Type", "Location", "Retry-After"} {
		if v := rec.h.Get(name); v != "" {
			resp.Headers[name] = v
		}
	}
	if rec.buf.Len() > 0 {
		resp.Body = json.RawMessage(rec.buf.Bytes())
	}
	return resp
}

// recorder captures one batch item's response.
type recorder struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.buf.Write(b)
}
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
