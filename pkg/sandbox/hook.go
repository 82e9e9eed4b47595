package sandbox

import "net/http"

// onServed wraps h so that opts.OnServed sees every request after it was handled and before
// its response is flushed: a test can stop a client there, after the server made a change
// and before the client learned of it (the worst moment for a crash).
func (s *Sandbox) onServed(h http.Handler) http.Handler {
	if s.opts.OnServed == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		s.opts.OnServed(r, sw.status)
	})
}

// testOnlyRewrite, when a test sets it before Start, rewrites the body of every answer: the
// documented-shapes test renames a field with it to show that its comparison notices.
var testOnlyRewrite func(r *http.Request, body []byte) []byte

func rewriteBodies(h http.Handler) http.Handler {
	rw := testOnlyRewrite
	if rw == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bw := &bufferWriter{header: http.Header{}, status: http.StatusOK}
		h.ServeHTTP(bw, r)
		body := rw(r, bw.body)
		for k, v := range bw.header {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(bw.status)
		w.Write(body)
	})
}

// bufferWriter holds an answer for rewriteBodies.
type bufferWriter struct {
	header http.Header
	status int
	body   []byte
}

func (b *bufferWriter) Header() http.Header  { return b.header }
func (b *bufferWriter) WriteHeader(code int) { b.status = code }
func (b *bufferWriter) Write(p []byte) (int, error) {
	b.body = append(b.body, p...)
	return len(p), nil
}
