//go:build linux

package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/useitcloud/uicctl/pkg/sandbox"
)

// openPTY returns the controller and the terminal of a new pseudo-terminal.
func openPTY(t *testing.T) (ctrl, term *os.File) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	var unlock int32
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); errno != 0 {
		t.Fatal(errno)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	ctrl = os.NewFile(uintptr(fd), "/dev/ptmx")
	term, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ctrl, term
}

// TestApplyAsksOnATerminal runs apply with a terminal on stdin: it shows the plan and asks;
// anything but "yes" changes nothing, "yes" applies.
func TestApplyAsksOnATerminal(t *testing.T) {
	e := startE2E(t, sandbox.Options{Tenants: 1, Customers: 1, Seed: 3})
	fleet := e.fleet(t)
	run := func(answer string) (string, error) {
		ctrl, term := openPTY(t)
		defer ctrl.Close()
		cmd := e.command("apply", fleet)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = term, term, term
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		term.Close()
		var out strings.Builder
		r := bufio.NewReader(ctrl)
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(out.String(), "Only 'yes' will be accepted: ") {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("no prompt; the terminal showed:\n%s", out.String())
			}
			b, err := r.ReadByte()
			if err != nil {
				t.Fatalf("reading the terminal: %v\n%s", err, out.String())
			}
			out.WriteByte(b)
		}
		ctrl.Write([]byte(answer + "\n"))
		done := make(chan struct{})
		go func() {
			for {
				b, err := r.ReadByte()
				if err != nil {
					close(done)
					return
				}
				out.WriteByte(b)
			}
		}()
		err := cmd.Wait()
		ctrl.Close()
		<-done
		return out.String(), err
	}

	out, err := run("no")
	if err == nil || !strings.Contains(out, "apply cancelled: nothing was changed") {
		t.Fatalf("answer no: err %v, want the cancellation; terminal:\n%s", err, out)
	}
	if !strings.Contains(out, "Plan: 6 to create") {
		t.Errorf("the plan must be shown before the question; terminal:\n%s", out)
	}
	plan, _ := e.command("plan", "--detailed-exitcode", fleet).CombinedOutput()
	if !strings.Contains(string(plan), "Plan: 6 to create") {
		t.Fatalf("after no, the tenant must be unchanged:\n%s", plan)
	}

	out, err = run("yes")
	if err != nil || !strings.Contains(out, "Apply complete: 6 changes made in 1 tenant, 0 tenants failed") {
		t.Fatalf("answer yes: err %v; terminal:\n%s", err, out)
	}
	if plan, err := e.command("plan", "--detailed-exitcode", fleet).CombinedOutput(); err != nil {
		t.Fatalf("after yes, plan: %v\n%s", err, plan)
	}
}
