package main

import (
	"context"
	"errors"
	"net"
	"os"
	"regexp"
	"strconv"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["waitfor"] = cmdWaitFor
	scriptCmds["freeport"] = cmdFreePort
	scriptCmds["signinpaste"] = cmdSignInPaste
}

// cmdSignInPaste is the consultant on a remote shell: it signs in as UPN on the first
// authorize URL of the sandbox found in FILE and writes the address the browser ends on
// (the redirect it cannot load) as a line to OUT, for example a FIFO that uicctl consent
// --paste reads. Usage: signinpaste UPN FILE OUT
func cmdSignInPaste(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: signinpaste UPN FILE OUT")
	}
	sb := scriptSandbox(ts)
	u := authorizeURLIn(ts.ReadFile(args[1]), sb.URL())
	if u == "" {
		ts.Fatalf("no authorize URL of the sandbox in %s", args[1])
	}
	loc, err := sb.SignIn(context.Background(), u, args[0])
	ts.Check(err)
	f, err := os.OpenFile(ts.MkAbs(args[2]), os.O_WRONLY|os.O_APPEND, 0)
	ts.Check(err)
	_, err = f.WriteString(loc + "\n")
	ts.Check(errors.Join(err, f.Close()))
}

// cmdWaitFor waits (up to 20 s) until FILE, which a background command writes, matches
// REGEXP: a script starts uicctl consent with & and must not sign in before the listener
// is up. Usage: waitfor FILE REGEXP
func cmdWaitFor(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitfor FILE REGEXP")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, err := os.ReadFile(ts.MkAbs(args[0])); err == nil && re.Match(b) {
			return
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(ts.MkAbs(args[0]))
			ts.Fatalf("%s did not match %q within 20s:\n%s", args[0], args[1], b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cmdFreePort sets VAR to a loopback port nothing listens on, so that scripts running in
// parallel do not fight over consent's default 8400. Usage: freeport VAR
func cmdFreePort(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: freeport VAR")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	port := ln.Addr().(*net.TCPAddr).Port
	ts.Check(ln.Close())
	ts.Setenv(args[0], strconv.Itoa(port))
}
