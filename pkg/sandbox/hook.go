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
