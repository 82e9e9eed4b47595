package consent

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/useitcloud/uicctl/internal/scrub"
)

// Listener receives the sign-in's redirect on the loopback addresses only: 127.0.0.1, and
// ::1 where the machine has it (a browser may resolve localhost to either). It never binds
// to all interfaces: the code in the callback is worth a refresh token to whoever has the
// client secret.
type Listener struct {
	lns []net.Listener
}

// PortInUseError is a loopback port another program holds.
type PortInUseError struct {
	Addr string
	Err  error
}

func (e *PortInUseError) Error() string {
	return fmt.Sprintf("cannot listen on %s for the sign-in callback: the port is taken", e.Addr)
}
func (e *PortInUseError) Unwrap() error { return e.Err }

// Hint says how to get around it.
func (e *PortInUseError) Hint() string {
	return "another uicctl consent (or another program) uses the port: stop it, or pick another with --port (Entra ignores the port of http://localhost)"
}

// Listen binds port on 127.0.0.1 and on ::1 when the machine has IPv6 loopback.
func Listen(port int) (*Listener, error) {
	l := &Listener{}
	for _, host := range []string{"127.0.0.1", "::1"} {
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			if host == "::1" && (errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EAFNOSUPPORT)) {
				break // no IPv6 loopback: browsers cannot resolve localhost to it either
			}
			l.Close()
			if errors.Is(err, syscall.EADDRINUSE) {
				return nil, &PortInUseError{Addr: addr, Err: err}
			}
			return nil, fmt.Errorf("cannot listen on %s for the sign-in callback: %w", addr, err)
		}
		l.lns = append(l.lns, ln)
		if port == 0 {
			// The kernel chose a port for 127.0.0.1: ask for the same one on ::1.
			port = ln.Addr().(*net.TCPAddr).Port
		}
	}
	return l, nil
}

// Port is the port listened on.
func (l *Listener) Port() int { return l.lns[0].Addr().(*net.TCPAddr).Port }

// Addrs are the addresses listened on.
func (l *Listener) Addrs() []net.Addr {
	var out []net.Addr
	for _, ln := range l.lns {
		out = append(out, ln.Addr())
	}
	return out
}

// Close stops listening.
func (l *Listener) Close() error {
	var errs []error
	for _, ln := range l.lns {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Wait serves the redirect until a callback with this flow's state arrives or ctx ends.
// Callbacks with another state are refused and waiting goes on. The first callback with the
// right state is the only one acted on: its code is handed to exchange, and the browser is
// shown the outcome; a replay of it gets a page and exchanges nothing. Wait closes the
// listener before it returns.
func (l *Listener) Wait(ctx context.Context, f *Flow, exchange func(ctx context.Context, code string) error) error {
	done := make(chan error, 1)
	var mu sync.Mutex
	taken := false
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		code, err := f.ParseCallback(r.URL.Query())
		if errors.Is(err, ErrWrongState) {
			page(w, http.StatusBadRequest, "Not this sign-in", "This response does not belong to the uicctl consent that is waiting (its state does not match), so it was ignored. Finish the sign-in from the link uicctl printed.")
			return
		}
		mu.Lock()
		first := !taken
		taken = true
		mu.Unlock()
		if !first {
			page(w, http.StatusConflict, "Already done", "This sign-in was already received; nothing more was done. You can close this tab.")
			return
		}
		if err == nil {
			// ctx, not the request's: Ctrl-C or the timeout stop the exchange, and Wait then
			// waits for its outcome so that nothing is stored after Wait returned.
			err = exchange(ctx, code)
		}
		if err != nil {
			page(w, http.StatusOK, "Consent failed", "uicctl could not complete the consent: "+err.Error()+". The terminal says what to do next.")
		} else {
			page(w, http.StatusOK, "Consent complete", "uicctl stored the refresh token. You can close this tab and return to the terminal.")
		}
		done <- err
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	for _, ln := range l.lns {
		go srv.Serve(ln)
	}
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		mu.Lock()
		inFlight := taken
		taken = true // later callbacks get the "already done" page and exchange nothing
		mu.Unlock()
		if inFlight {
			err = <-done
		} else {
			err = ctx.Err()
		}
	}
	// Let the outcome page reach the browser, but do not wait on stragglers.
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	l.Close()
	return err
}

// page shows title and text, scrubbed (text carries errors from the sign-in service) and
// HTML-escaped.
func page(w http.ResponseWriter, status int, title, text string) {
	text = scrub.Text(text)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><html><head><meta charset=\"utf-8\"><title>uicctl: %s</title></head><body style=\"font-family:sans-serif;margin:3em\"><h1 id=\"title\">%s</h1><p id=\"text\">%s</p></body></html>\n",
		html.EscapeString(title), html.EscapeString(title), html.EscapeString(text))
}
