package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/useitcloud/uicctl/pkg/secrets"
)

type secretsCmd struct {
	Set    secretsSetCmd    `cmd:"" help:"Store one key of a secrets file, its value read from stdin (never the command line)."`
	Status secretsStatusCmd `cmd:"" help:"Show a secrets file's state: keyIds, end dates, refresh token age and account, never a value."`
}

type secretsSetCmd struct {
	Path string `arg:"" help:"The secrets file (created under the .sops.yaml creation rules when missing)."`
	Key  string `arg:"" enum:"clientId,clientSecret,clientSecret.keyId,clientSecret.endDateTime,refreshToken,refreshToken.account,refreshToken.issuedAt" help:"One of: clientId, clientSecret, clientSecret.keyId, clientSecret.endDateTime, refreshToken, refreshToken.account, refreshToken.issuedAt."`
	// Extra catches a value typed after the key, so the usage error does not echo it.
	Extra []string `arg:"" optional:"" hidden:""`
}

// testOnlySetNow, when set, is the clock secrets set stamps a new refresh token with.
var testOnlySetNow func() time.Time

func (c *secretsSetCmd) Run(app *App) error {
	if len(c.Extra) > 0 {
		return usageError{fmt.Errorf("secrets set reads the value from stdin, never from the command line (%d extra %s refused, not shown)", len(c.Extra), plural(len(c.Extra), "argument", "arguments"))}
	}
	// One line: typed at the terminal and ended with Enter, or piped (from a password
	// manager, a file) with or without its newline. Piped input is read to its end and a
	// second line is refused rather than dropped: it means the input is not what the user
	// thinks.
	r := io.LimitReader(app.Stdin, 64<<10)
	var in string
	var err error
	if isTerminal(app.Stdin) {
		in, err = bufio.NewReader(r).ReadString('\n')
		if err == io.EOF {
			err = nil
		}
	} else {
		var b []byte
		b, err = io.ReadAll(r)
		in = string(b)
	}
	if err != nil {
		return fmt.Errorf("cannot read the value from stdin: %w", err)
	}
	value := strings.TrimSuffix(strings.TrimSuffix(in, "\n"), "\r")
	if strings.TrimSpace(value) == "" {
		return &initError{"no value on stdin", "pipe or type the value: uicctl secrets set " + c.Path + " " + c.Key + " (then the value and Enter)"}
	}
	// The checks validate applies to the file: one line, the key's format, no credential in
	// a key stored in clear.
	if err := secrets.CheckValue(c.Key, value); err != nil {
		return err
	}
	now := time.Now
	if testOnlySetNow != nil {
		now = testOnlySetNow
	}
	// Formats are checked before the file is opened: a typo costs no decryption.
	var set func(f *secrets.File)
	switch c.Key {
	case "clientId", "clientSecret.keyId":
		id := strings.ToLower(value)
		set = func(f *secrets.File) {
			if c.Key == "clientId" {
				f.ClientID = id
			} else {
				f.ClientSecret.KeyID = id
			}
		}
	case "clientSecret.endDateTime", "refreshToken.issuedAt":
		t, _ := time.Parse(time.RFC3339, value) // CheckValue checked it
		t = t.UTC()
		set = func(f *secrets.File) {
			if c.Key == "refreshToken.issuedAt" {
				f.RefreshToken.IssuedAt = t
			} else {
				f.ClientSecret.EndDateTime = t
			}
		}
	case "clientSecret":
		set = func(f *secrets.File) { f.ClientSecret.Value = secrets.NewValue(value) }
	case "refreshToken":
		set = func(f *secrets.File) {
			// Its age counts from now unless issuedAt is set afterwards: a token kept by hand
			// was issued at least this recently.
			// The account belongs to the token it came with: a new token's account is unknown
			// until refreshToken.account is set (a stale one would name the wrong user).
			if !f.RefreshToken.Value.Equal(secrets.NewValue(value)) {
				f.RefreshToken.IssuedAt = now().UTC().Truncate(time.Second)
				f.RefreshToken.Account = ""
			}
			f.RefreshToken.Value = secrets.NewValue(value)
		}
	case "refreshToken.account":
		set = func(f *secrets.File) { f.RefreshToken.Account = value }
	}
	changed, err := secrets.Update(app.Ctx, c.Path, func(f *secrets.File) error { set(f); return nil })
	if err != nil {
		return err
	}
	state := "unchanged"
	if changed {
		state = "stored"
	}
	_, err = fmt.Fprintf(app.Stdout, "%s %s in %s\n", state, c.Key, c.Path)
	return err
}

type secretsStatusCmd struct {
	Path string `arg:"" help:"The secrets file."`
}

func (c *secretsStatusCmd) Run(app *App) error {
	f, err := secrets.Read(app.Ctx, c.Path)
	if err != nil {
		return err
	}
	now := time.Now
	if testOnlyNow != nil {
		now = testOnlyNow
	}
	w := &errWriter{w: app.Stdout}
	w.printf("file:         %s\n", c.Path)
	w.printf("clientId:     %s\n", orNone(f.ClientID))
	cs := f.ClientSecret
	w.printf("clientSecret: %s", presence(cs.Value))
	if cs.KeyID != "" {
		w.printf(", keyId %s", cs.KeyID)
	}
	if !cs.EndDateTime.IsZero() {
		left := cs.EndDateTime.Sub(now())
		if left > 0 {
			w.printf(", ends %s (in %s)", cs.EndDateTime.UTC().Format(time.RFC3339), ageText(left))
		} else {
			w.printf(", ended %s (%s ago)", cs.EndDateTime.UTC().Format(time.RFC3339), ageText(-left))
		}
	}
	w.printf("\n")
	rt := f.RefreshToken
	w.printf("refreshToken: %s", presence(rt.Value))
	if !rt.IssuedAt.IsZero() {
		w.printf(", issued %s (%s old)", rt.IssuedAt.UTC().Format(time.RFC3339), ageText(now().Sub(rt.IssuedAt)))
	}
	if !rt.LastUsedAt.IsZero() {
		w.printf(", last used %s", rt.LastUsedAt.UTC().Format(time.RFC3339))
	}
	if rt.Account != "" {
		w.printf(", account %s", rt.Account)
	}
	w.printf("\n")
	return w.err
}

func presence(v secrets.Value) string {
	if v.IsZero() {
		return "missing"
	}
	return "set"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// ageText renders a span in whole days, or hours below a day.
func ageText(d time.Duration) string {
	if d >= 24*time.Hour {
		n := int((d + 12*time.Hour) / (24 * time.Hour))
		return count(n, "day", "days")
	}
	return count(int(d/time.Hour), "hour", "hours")
}
