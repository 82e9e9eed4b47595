// Command leakcheck proves that the demo showed no secret: it reads the client secrets and
// refresh tokens of every sops file under a fleet (and the values of the environment
// variables it is told to), then searches the given files and folders for them in every
// form internal/canary knows (clear, base64, hex, URL-escaped, quoted). It names a leak by
// where and which secret, never by value; exit 1 on a leak.
//
//	leakcheck -fleet DIR [-env NAME]... PATH...
package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/useitcloud/uicctl/internal/canary"
	"github.com/useitcloud/uicctl/pkg/secrets"
)

type names []string

func (n *names) String() string     { return strings.Join(*n, ",") }
func (n *names) Set(v string) error { *n = append(*n, v); return nil }

func main() {
	var envs names
	fleet := flag.String("fleet", "", "the fleet whose secrets files hold the values to look for")
	flag.Var(&envs, "env", "an environment variable whose value is a secret too (repeatable)")
	flag.Parse()
	if *fleet == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: leakcheck -fleet DIR [-env NAME]... PATH...")
		os.Exit(2)
	}
	if err := run(*fleet, envs, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "leakcheck:", err)
		os.Exit(1)
	}
}

func run(fleet string, envs, paths []string) error {
	var set canary.Set
	n := 0
	add := func(name, v string) {
		if v != "" {
			set.Add(name, v)
			n++
		}
	}
	err := filepath.WalkDir(fleet, func(p string, d fs.DirEntry, err error) error {
		// .sops.yaml is sops's configuration, not a secrets file.
		if err != nil || d.IsDir() || d.Name() == ".sops.yaml" || !strings.HasSuffix(p, ".sops.yaml") {
			return err
		}
		f, err := secrets.Read(context.Background(), p)
		if err != nil {
			return err
		}
		add(p+" clientSecret", f.ClientSecret.Value.Reveal())
		add(p+" refreshToken", f.RefreshToken.Value.Reveal())
		return nil
	})
	if err != nil {
		return err
	}
	for _, e := range envs {
		add("$"+e, os.Getenv(e))
	}
	if n == 0 {
		return fmt.Errorf("no secret found under %s to look for", fleet)
	}
	var leaks []canary.Leak
	files := 0
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		if !st.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			leaks = append(leaks, set.Scan(p, b)...)
			files++
			continue
		}
		l, err := set.ScanDir(p, func(string) bool { files++; return false })
		if err != nil {
			return err
		}
		leaks = append(leaks, l...)
	}
	if len(leaks) > 0 {
		return fmt.Errorf("secrets shown:\n%s", canary.Report(leaks))
	}
	fmt.Printf("no secret in any output: %d secret values looked for in %d files, in clear, base64, hex, URL-escaped and quoted\n", n, files)
	return nil
}
