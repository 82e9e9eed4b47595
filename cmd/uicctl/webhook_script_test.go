package main

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["webhook"] = cmdWebhook
}

// receiver is a local webhook: it keeps every body posted to its secret path.
type receiver struct {
	mu     sync.Mutex
	bodies [][]byte
	fail   int // answer the next fail posts failStatus, with the request URL in the body
	// failStatus is 500 unless webhook fail says otherwise; 429 and 503 come with
	// Retry-After: 1, as a throttling receiver answers.
	failStatus int
}

var receivers sync.Map // *testscript.TestScript -> *receiver

// cmdWebhook runs a local webhook receiver for verify --notify.
//
//	webhook start     listen on loopback; WEBHOOK_URL is http://127.0.0.1:PORT/hook/KEY,
//	                  WEBHOOK_HOST its host; KEY is planted as the canary "webhook" (canary
//	                  check then proves the URL is in no output or file)
//	webhook fail N [STATUS]  answer the next N posts STATUS (500; 429 and 503 with
//	                  Retry-After: 1), echoing the request URL in the body
//	webhook count N   fail unless N messages were received (failed posts do not count)
//	webhook last FILE write the last message received to FILE
func cmdWebhook(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: webhook start | fail N | count N | last FILE")
	}
	get := func() *receiver {
		v, ok := receivers.Load(ts)
		if !ok {
			ts.Fatalf("no webhook receiver: use webhook start")
		}
		return v.(*receiver)
	}
	number := func() int {
		if len(args) != 2 {
			ts.Fatalf("usage: webhook %s N", args[0])
		}
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		return n
	}
	switch args[0] {
	case "start":
		b := make([]byte, 16)
		rand.Read(b)
		key := "canarywebhook" + hex.EncodeToString(b)
		canarySet(ts).Add("webhook", key)
		r := &receiver{}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		ts.Check(err)
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			body, _ := io.ReadAll(req.Body)
			if req.Method != http.MethodPost || req.URL.Path != "/hook/"+key || req.Header.Get("Content-Type") != "application/json" {
				http.Error(w, "not the hook", http.StatusNotFound)
				return
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.fail > 0 {
				r.fail--
				if r.failStatus == http.StatusTooManyRequests || r.failStatus == http.StatusServiceUnavailable {
					w.Header().Set("Retry-After", "1")
				}
				http.Error(w, "failed "+req.URL.String(), r.failStatus)
				return
			}
			r.bodies = append(r.bodies, body)
			w.WriteHeader(http.StatusAccepted) // what a Teams Workflows trigger answers
		})}
		go srv.Serve(ln)
		ts.Defer(func() { srv.Close() })
		receivers.Store(ts, r)
		ts.Defer(func() { receivers.Delete(ts) })
		ts.Setenv("WEBHOOK_URL", "http://"+ln.Addr().String()+"/hook/"+key)
		ts.Setenv("WEBHOOK_HOST", ln.Addr().String())
	case "fail":
		r := get()
		status := http.StatusInternalServerError
		if len(args) == 3 {
			var err error
			status, err = strconv.Atoi(args[2])
			ts.Check(err)
			args = args[:2]
		}
		n := number()
		r.mu.Lock()
		r.fail, r.failStatus = n, status
		r.mu.Unlock()
	case "count":
		r := get()
		n := number()
		r.mu.Lock()
		got := len(r.bodies)
		r.mu.Unlock()
		if got != n {
			ts.Fatalf("the webhook received %d messages, want %d", got, n)
		}
	case "last":
		if len(args) != 2 {
			ts.Fatalf("usage: webhook last FILE")
		}
		r := get()
		r.mu.Lock()
		defer r.mu.Unlock()
		if len(r.bodies) == 0 {
			ts.Fatalf("the webhook received nothing")
		}
		ts.Check(os.WriteFile(ts.MkAbs(args[1]), r.bodies[len(r.bodies)-1], 0o644))
	default:
		ts.Fatalf("usage: webhook start | fail N | count N | last FILE")
	}
}
