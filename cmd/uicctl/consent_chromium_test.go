package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/useitcloud/uicctl/pkg/sandbox"
)

const chromiumPath = "/usr/bin/chromium"

// TestConsentChromium is the sign-in as a person does it: uicctl consent runs as its own
// process and opens the browser with the platform opener (xdg-open, here a stand-in on PATH
// that hands the URL to the test); a real headless Chromium loads the sandbox's sign-in
// page, the account's password and MFA code are typed into its form, and Chromium follows
// the redirect to uicctl's loopback listener. make test installs Chromium through apt.
func TestConsentChromium(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skip("Chromium is not installed at " + chromiumPath + " (make test installs it through apt)")
	}
	e := startE2E(t, sandbox.Options{Tenants: 1, Customers: 1})
	tenant := e.sb.World().Tenants[0]
	acct := tenant.Accounts[0]
	fleet := newFleetFor(t, t.TempDir(), tenant, e.id)
	dir := filepath.Join(fleet, "tenants", tenant.Name)
	g, err := newGraphCaller(e.sb, tenant.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provision(g, e.sb.URL(), tenant.Name, dir, provisionOpts{secretDays: 180, noToken: true}); err != nil {
		t.Fatal(err)
	}

	// The platform opener, as uicctl finds it on PATH: it only hands the URL over.
	bin := t.TempDir()
	opened := filepath.Join(t.TempDir(), "opened-url")
	script := "#!/bin/sh\nprintf '%s\\n' \"$1\" > " + opened + ".tmp && mv " + opened + ".tmp " + opened + "\n"
	if err := os.WriteFile(filepath.Join(bin, "xdg-open"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	cmd := e.command("consent", "--port", strconv.Itoa(port), "--timeout", "60s", dir)
	for i, kv := range cmd.Env {
		if strings.HasPrefix(kv, "PATH=") {
			cmd.Env[i] = "PATH=" + bin + ":" + strings.TrimPrefix(kv, "PATH=")
		}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })

	var authURL string
	for deadline := time.Now().Add(20 * time.Second); authURL == ""; {
		if b, err := os.ReadFile(opened); err == nil {
			authURL = strings.TrimSpace(string(b))
		} else if time.Now().After(deadline) {
			t.Fatalf("the browser was never opened; stderr:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	br := startChromium(t, sandboxSPKI(t, e.sb))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	br.navigate(ctx, t, authURL)
	br.waitFor(ctx, t, `!!document.querySelector('input[name=passwd]')`)
	js := fmt.Sprintf(`(() => {
		const f = document.forms[0];
		f.login.value = %q; f.passwd.value = %q; f.otc.value = %q;
		f.querySelector('button[type=submit]').click();
		return true;
	})()`, acct.UPN, acct.Password, acct.MFACode)
	br.eval(ctx, t, js)

	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("uicctl consent: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		}
	case <-ctx.Done():
		t.Fatalf("uicctl consent did not finish; stderr:\n%s", stderr.String())
	}
	// What the browser shows after the redirect.
	br.waitFor(ctx, t, `document.title === 'uicctl: Consent complete'`)
	if got := br.eval(ctx, t, `location.origin`); got != fmt.Sprintf(`"http://localhost:%d"`, port) {
		t.Errorf("the browser ended on %s, want the loopback listener", got)
	}
	for _, want := range []string{
		tenant.Name + ": refresh token for " + acct.UPN + " stored in ",
		"  Partner Center token: ok (" + acct.UPN + ", with MFA)\n",
		"  Partner API (price sheet) token: ok (" + acct.UPN + ", with MFA)\n",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	for _, secret := range []string{acct.Password} {
		if strings.Contains(stdout.String()+stderr.String(), secret) {
			t.Errorf("a secret reached uicctl's output")
		}
	}
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// sandboxSPKI is the base64 SHA-256 of the sandbox certificate's public key: Chromium is
// told to trust that one key, not to ignore certificate errors in general.
func sandboxSPKI(t *testing.T, sb *sandbox.Sandbox) string {
	pem, err := os.ReadFile(sb.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	u, _ := url.Parse(sb.URL())
	c, err := tls.Dial("tcp", u.Host, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sum := sha256.Sum256(c.ConnectionState().PeerCertificates[0].RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// chromium is a headless Chromium driven through the DevTools protocol on a pipe
// (--remote-debugging-pipe: JSON messages ended by NUL on file descriptors 3 and 4).
type chromium struct {
	w       *os.File
	session string
	mu      sync.Mutex
	nextID  int
	waiting map[int]chan cdpReply
	onEvent func(method string, params json.RawMessage) // nil: events are dropped
}

type cdpReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

func startChromium(t testing.TB, spki string) *chromium {
	toChrome, cmdW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fromR, fromChrome, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--headless", "--remote-debugging-pipe", "--user-data-dir=" + t.TempDir(), "--no-first-run",
		"--disable-gpu", "--disable-dev-shm-usage", "--ignore-certificate-errors-spki-list=" + spki, "about:blank"}
	if os.Geteuid() == 0 {
		args = append(args, "--no-sandbox") // Chromium refuses to run as root with its sandbox
	}
	cmd := exec.Command(chromiumPath, args...)
	cmd.ExtraFiles = []*os.File{toChrome, fromChrome}
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	toChrome.Close()
	fromChrome.Close()
	t.Cleanup(func() {
		cmdW.Close()
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("chromium stderr:\n%s", logs.String())
		}
	})
	b := &chromium{w: cmdW, waiting: map[int]chan cdpReply{}}
	go b.read(fromR)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var target struct {
		TargetID string `json:"targetId"`
	}
	b.call(ctx, t, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var att struct {
		SessionID string `json:"sessionId"`
	}
	b.call(ctx, t, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att)
	b.session = att.SessionID
	return b
}

func (b *chromium) read(r *os.File) {
	br := bufio.NewReader(r)
	for {
		msg, err := br.ReadBytes(0)
		if err != nil {
			return
		}
		var m struct {
			ID     int             `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
			cdpReply
		}
		if json.Unmarshal(msg[:len(msg)-1], &m) != nil {
			continue
		}
		if m.ID == 0 { // an event
			b.mu.Lock()
			on := b.onEvent
			b.mu.Unlock()
			if on != nil && m.Method != "" {
				on(m.Method, m.Params)
			}
			continue
		}
		b.mu.Lock()
		ch := b.waiting[m.ID]
		delete(b.waiting, m.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- m.cdpReply
		}
	}
}

func (b *chromium) call(ctx context.Context, t testing.TB, session, method string, params any, out any) {
	t.Helper()
	if err := b.try(ctx, session, method, params, out); err != nil {
		t.Fatal(err)
	}
}

// try is call that returns the error: evaluating while a page navigates may fail.
func (b *chromium) try(ctx context.Context, session, method string, params any, out any) error {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan cdpReply, 1)
	b.waiting[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	data, _ := json.Marshal(msg)
	if _, err := b.w.Write(append(data, 0)); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case r := <-ch:
		if r.Error != nil {
			return fmt.Errorf("%s: %s", method, r.Error.Message)
		}
		if out != nil {
			if err := json.Unmarshal(r.Result, out); err != nil {
				return fmt.Errorf("%s: %w", method, err)
			}
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: no answer from Chromium", method)
	}
}

func (b *chromium) navigate(ctx context.Context, t testing.TB, u string) {
	t.Helper()
	var r struct {
		ErrorText string `json:"errorText"`
	}
	b.call(ctx, t, b.session, "Page.navigate", map[string]any{"url": u}, &r)
	if r.ErrorText != "" {
		t.Fatalf("navigate: %s", r.ErrorText)
	}
}

// eval runs expr in the page and returns its value as JSON ("" when it could not run, for
// example while the page navigates).
func (b *chromium) eval(ctx context.Context, t testing.TB, expr string) string {
	t.Helper()
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := b.try(ctx, b.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &r); err != nil {
		t.Logf("%v", err)
		return ""
	}
	if r.ExceptionDetails != nil {
		return ""
	}
	return string(r.Result.Value)
}

// waitFor polls expr until it is true (pages load and redirect in between).
func (b *chromium) waitFor(ctx context.Context, t testing.TB, expr string) {
	t.Helper()
	for {
		if b.eval(ctx, t, expr) == "true" {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the page never satisfied %s; it shows %s", expr, b.eval(context.Background(), t, `location.href + ' ' + document.title`))
		case <-time.After(50 * time.Millisecond):
		}
	}
}
