package consent

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/useitcloud/uicctl/pkg/cloud"
)

func testFlow(t *testing.T, port int) *Flow {
	t.Helper()
	c := cloud.Public
	f, err := New(c, "tenant-1", "client-1", RedirectURI(port), "svc@contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func listen(t *testing.T) *Listener {
	t.Helper()
	ln, err := Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// get requests the callback at the listener's port and returns the status and page.
func get(t *testing.T, host string, port int, q url.Values) (int, string) {
	t.Helper()
	u := "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/?" + q.Encode()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestListenLoopbackOnly checks that the listener binds loopback addresses only and cannot
// be reached on any other address of this machine.
func TestListenLoopbackOnly(t *testing.T) {
	ln := listen(t)
	for _, a := range ln.Addrs() {
		if ip := a.(*net.TCPAddr).IP; !ip.IsLoopback() {
			t.Errorf("listening on %s, not a loopback address", a)
		}
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	tried := 0
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() {
			continue
		}
		host := ipn.IP.String()
		if ipn.IP.IsLinkLocalUnicast() && ipn.IP.To4() == nil {
			continue // needs a zone; not routable anyway
		}
		tried++
		c, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(ln.Port())), time.Second)
		if err == nil {
			c.Close()
			t.Errorf("the listener answered on %s", host)
		}
	}
	t.Logf("checked %d non-loopback addresses", tried)
	// And it does answer on each loopback address (else the check above proves nothing).
	for _, a := range ln.Addrs() {
		c, err := net.DialTimeout("tcp", a.String(), time.Second)
		if err != nil {
			t.Fatalf("loopback %s: %v", a, err)
		}
		c.Close()
	}
	t.Logf("listening on %v", ln.Addrs())
}

// TestListenPortTaken checks the clear error and hint when the port is held.
func TestListenPortTaken(t *testing.T) {
	ln := listen(t)
	_, err := Listen(ln.Port())
	var pe *PortInUseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %T %v, want *PortInUseError", err, err)
	}
	if !strings.Contains(pe.Error(), "the port is taken") || !strings.Contains(pe.Hint(), "--port") {
		t.Errorf("error %q, hint %q", pe.Error(), pe.Hint())
	}
}

// TestWait drives the listener with callbacks as a browser would.
func TestWait(t *testing.T) {
	cases := map[string]struct {
		reason    string
		before    func(f *Flow) url.Values // a callback sent first, answered with wantFirst
		wantFirst int
		callback  func(f *Flow) url.Values
		exchange  error
		wantErr   string
		wantPage  string
		exchanges int32
	}{
		"Code": {
			reason:   "the code reaches the exchange and the browser sees success",
			callback: func(f *Flow) url.Values { return url.Values{"code": {"c1"}, "state": {f.State()}} },
			wantPage: "Consent complete", exchanges: 1,
		},
		"WrongStateThenRight": {
			reason:    "a wrong state is refused with 400 and the flow completes with the right one",
			before:    func(f *Flow) url.Values { return url.Values{"code": {"forged"}, "state": {"other"}} },
			wantFirst: http.StatusBadRequest,
			callback:  func(f *Flow) url.Values { return url.Values{"code": {"c1"}, "state": {f.State()}} },
			wantPage:  "Consent complete", exchanges: 1,
		},
		"NoState": {
			reason:    "a callback without state is refused too",
			before:    func(f *Flow) url.Values { return url.Values{"code": {"forged"}} },
			wantFirst: http.StatusBadRequest,
			callback:  func(f *Flow) url.Values { return url.Values{"code": {"c1"}, "state": {f.State()}} },
			wantPage:  "Consent complete", exchanges: 1,
		},
		"ErrorCallback": {
			reason: "an error callback ends the flow with its error_description, nothing exchanged",
			callback: func(f *Flow) url.Values {
				return url.Values{"error": {"access_denied"}, "error_description": {"AADSTS65004: User declined to consent.\r\nTrace ID: x"}, "state": {f.State()}}
			},
			wantErr:  "sign-in failed: access_denied: AADSTS65004: User declined to consent.",
			wantPage: "User declined to consent",
		},
		"ExchangeFails": {
			reason:   "the exchange's error is the result and is shown to the browser",
			callback: func(f *Flow) url.Values { return url.Values{"code": {"c1"}, "state": {f.State()}} },
			exchange: &MFAError{Account: "svc@contoso.example"},
			wantErr:  "svc@contoso.example signed in without multi-factor authentication; nothing was stored",
			wantPage: "Consent failed", exchanges: 1,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ln := listen(t)
			f := testFlow(t, ln.Port())
			var n atomic.Int32
			errc := make(chan error, 1)
			go func() {
				errc <- ln.Wait(context.Background(), f, func(ctx context.Context, code string) error {
					n.Add(1)
					if code != "c1" {
						t.Errorf("exchange got code %q", code)
					}
					return tc.exchange
				})
			}()
			if tc.before != nil {
				if st, _ := get(t, "127.0.0.1", ln.Port(), tc.before(f)); st != tc.wantFirst {
					t.Errorf("%s\nfirst callback: status %d, want %d", tc.reason, st, tc.wantFirst)
				}
			}
			_, body := get(t, "127.0.0.1", ln.Port(), tc.callback(f))
			if !strings.Contains(body, tc.wantPage) {
				t.Errorf("%s\npage %q does not contain %q", tc.reason, body, tc.wantPage)
			}
			err := <-errc
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.wantErr, got); diff != "" {
				t.Errorf("%s\nerror -want +got:\n%s", tc.reason, diff)
			}
			if n.Load() != tc.exchanges {
				t.Errorf("%s\n%d exchanges, want %d", tc.reason, n.Load(), tc.exchanges)
			}
		})
	}
}

// TestWaitReplay sends the same callback twice while the first is being exchanged: the
// replay is answered "already done" and exchanges nothing; after Wait, nothing listens.
func TestWaitReplay(t *testing.T) {
	ln := listen(t)
	f := testFlow(t, ln.Port())
	q := url.Values{"code": {"c1"}, "state": {f.State()}}
	var n atomic.Int32
	release := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- ln.Wait(context.Background(), f, func(ctx context.Context, code string) error {
			n.Add(1)
			<-release
			return nil
		})
	}()
	first := make(chan string, 1)
	go func() { _, b := get(t, "127.0.0.1", ln.Port(), q); first <- b }()
	for n.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	st, body := get(t, "127.0.0.1", ln.Port(), q)
	if st != http.StatusConflict || !strings.Contains(body, "already received") {
		t.Errorf("replay: status %d, page %q", st, body)
	}
	close(release)
	if b := <-first; !strings.Contains(b, "Consent complete") {
		t.Errorf("first callback's page %q", b)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if n.Load() != 1 {
		t.Errorf("%d exchanges, want 1", n.Load())
	}
	if _, err := http.Get("http://127.0.0.1:" + strconv.Itoa(ln.Port()) + "/?" + q.Encode()); err == nil {
		t.Errorf("a callback after Wait returned still reached a listener")
	}
}

// TestWaitTimeout checks that Wait gives up when its context ends and exchanges nothing,
// even for a callback that arrives afterwards.
func TestWaitTimeout(t *testing.T) {
	ln := listen(t)
	f := testFlow(t, ln.Port())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var n atomic.Int32
	err := ln.Wait(ctx, f, func(context.Context, string) error { n.Add(1); return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want DeadlineExceeded", err)
	}
	if n.Load() != 0 {
		t.Errorf("%d exchanges after the timeout", n.Load())
	}
}
