package sandbox

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/useitcloud/uicctl/pkg/sandbox/keyvault"
	"math"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	guid "github.com/google/uuid"
)

// A LogEntry is one line of the request log.
type LogEntry struct {
	// Time is when the request arrived, by the real clock (not the sandbox clock a clock
	// offset moves): scripts measure the gaps between polls with it.
	Time   time.Time `json:"time"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Status int       `json:"status"` // 0: the connection was reset without an answer
	Tenant string    `json:"tenant"` // the tenant of the token, or of the sign-in path
	MS     float64   `json:"ms"`
	// The Partner Center request headers (https://learn.microsoft.com/en-us/partner-center/developer/headers):
	// the two ids when they are GUIDs ("not a GUID" otherwise: the log never holds other
	// header values), and whether MS-Contract-Version was sent.
	RequestID       string `json:"requestId,omitempty"`
	CorrelationID   string `json:"correlationId,omitempty"`
	ContractVersion bool   `json:"contractVersion,omitempty"`
}

// logID is a request id header as the log records it: a GUID, or that it was not one.
func logID(v string) string {
	if v == "" {
		return ""
	}
	if _, err := guid.Parse(v); err != nil || len(v) != 36 {
		return "not a GUID"
	}
	return strings.ToLower(v)
}

type requestLog struct {
	mu sync.Mutex
	f  *os.File
	w  *bufio.Writer
}

func openRequestLog(path string) (*requestLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot open request log: %w", err)
	}
	return &requestLog{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

func (l *requestLog) write(e LogEntry) {
	b, _ := json.Marshal(e)
	l.mu.Lock()
	l.w.Write(b)
	l.w.WriteByte('\n')
	// Flush per line while idle would cost a syscall per request; tests read the log after
	// Close or after Flush (the admin API flushes when the log is read through it).
	l.mu.Unlock()
}

func (l *requestLog) flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Flush()
}

func (l *requestLog) Close() error {
	err := l.flush()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// statusWriter records the status code; it keeps Hijack and Flush working.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.status, w.wrote = 0, true
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func (w *statusWriter) Flush() { http.NewResponseController(w.ResponseWriter).Flush() }

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Sandbox) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.log == nil {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		path := r.URL.Path
		if proxied(r) {
			// A vault's (or login.microsoftonline.com's) request: its host says which.
			path = strings.ToLower(r.Host) + path
		}
		defer func() {
			s.log.write(LogEntry{Time: start.UTC(), Method: r.Method, Path: path, Status: sw.status, Tenant: requestTenant(r),
				MS:        math.Round(float64(time.Since(start).Microseconds())) / 1000,
				RequestID: logID(r.Header.Get("MS-RequestId")), CorrelationID: logID(r.Header.Get("MS-CorrelationId")),
				ContractVersion: r.Header.Get("MS-Contract-Version") != ""})
		}()
		next.ServeHTTP(sw, r)
	})
}

// proxied reports whether r came through the sandbox's proxy, to a host other than its own.
func proxied(r *http.Request) bool {
	return keyvault.IsVaultHost(r.Host) || strings.EqualFold(r.Host, discoveryHost)
}

// requestTenant names the tenant a request acts in: the tid of its bearer token (read
// without verification: the log records what was asked, the handlers decide), else the
// tenant segment of a sign-in path.
func requestTenant(r *http.Request) string {
	if raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		parts := strings.Split(raw, ".")
		if len(parts) == 3 {
			if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
				var c struct {
					Tid string `json:"tid"`
				}
				if json.Unmarshal(b, &c) == nil && c.Tid != "" {
					return c.Tid
				}
			}
		}
	}
	if serviceOf(r.URL.Path) == "login" && !proxied(r) {
		seg, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		return seg
	}
	return ""
}
