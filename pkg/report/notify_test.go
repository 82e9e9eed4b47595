package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// The documented shapes, decoded strictly (an unknown field fails), so a payload that
// drifts from them shows here.

// teamsShape is the message envelope with an Adaptive Card that a Teams Workflows webhook
// posts (https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using).
type teamsShape struct {
	Type        string `json:"type"`
	Attachments []struct {
		ContentType string  `json:"contentType"`
		ContentURL  *string `json:"contentUrl"`
		Content     struct {
			Schema  string `json:"$schema"`
			Type    string `json:"type"`
			Version string `json:"version"`
			Body    []struct {
				Type     string `json:"type"`
				Text     string `json:"text"`
				Wrap     bool   `json:"wrap"`
				Weight   string `json:"weight"`
				Size     string `json:"size"`
				Spacing  string `json:"spacing"`
				IsSubtle bool   `json:"isSubtle"`
			} `json:"body"`
		} `json:"content"`
	} `json:"attachments"`
}

// slackShape is an incoming webhook's message: text (the notification's fallback) and
// Block Kit blocks (https://docs.slack.dev/messaging#payloads).
type slackShape struct {
	Text   string `json:"text"`
	Blocks []struct {
		Type string `json:"type"`
		Text *struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"text"`
		Elements []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"elements"`
	} `json:"blocks"`
}

func strict(t *testing.T, b []byte, v any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Fatalf("the payload does not have the documented shape: %v\n%s", err, b)
	}
}

func changedMessage(t *testing.T) *Message {
	r := fleet(day0)
	m := NewMessage(r, Changes(empty(), NextState(empty(), r, day0), r))
	if m == nil {
		t.Fatal("no message for a first run with problems")
	}
	return m
}

func TestPayloadTeams(t *testing.T) {
	b, err := Payload(FormatTeams, changedMessage(t))
	if err != nil {
		t.Fatal(err)
	}
	goldenFile(t, "notify_teams.json", b)
	var p teamsShape
	strict(t, b, &p)
	if p.Type != "message" || len(p.Attachments) != 1 {
		t.Fatalf("want one attachment in a message: %s", b)
	}
	a := p.Attachments[0]
	if a.ContentType != "application/vnd.microsoft.card.adaptive" || a.Content.Type != "AdaptiveCard" || a.Content.Version == "" {
		t.Errorf("not an Adaptive Card attachment: %+v", a)
	}
	var texts []string
	for _, e := range a.Content.Body {
		if e.Type != "TextBlock" || e.Text == "" {
			t.Errorf("body element %+v: want a TextBlock with text", e)
		}
		texts = append(texts, e.Text)
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{"beta: failing (new → fail)", "run uicctl consent for this tenant", "gamma: warning (new → warn)", "client secret ends 2026-12-14 (warn)"} {
		if !strings.Contains(all, want) {
			t.Errorf("the card lacks %q:\n%s", want, all)
		}
	}
	if len(b) > 28*1024 {
		t.Errorf("%d bytes: Teams takes 28 KB", len(b))
	}
}

func TestPayloadSlack(t *testing.T) {
	b, err := Payload(FormatSlack, changedMessage(t))
	if err != nil {
		t.Fatal(err)
	}
	goldenFile(t, "notify_slack.json", b)
	var p slackShape
	strict(t, b, &p)
	if p.Text == "" || len(p.Blocks) == 0 || len(p.Blocks) > 50 {
		t.Fatalf("want a fallback text and 1 to 50 blocks: %s", b)
	}
	for _, bl := range p.Blocks {
		switch bl.Type {
		case "header":
			if bl.Text == nil || bl.Text.Type != "plain_text" || utf8.RuneCountInString(bl.Text.Text) > 150 {
				t.Errorf("header %+v: plain_text of at most 150 characters", bl.Text)
			}
		case "section":
			if bl.Text == nil || bl.Text.Type != "mrkdwn" || utf8.RuneCountInString(bl.Text.Text) > 3000 {
				t.Errorf("section %+v: mrkdwn of at most 3000 characters", bl.Text)
			}
		case "context":
			if len(bl.Elements) == 0 || len(bl.Elements) > 10 {
				t.Errorf("context: 1 to 10 elements")
			}
		default:
			t.Errorf("unexpected block %s", bl.Type)
		}
	}
	if !strings.Contains(string(b), "run uicctl consent for this tenant") {
		t.Errorf("the message lacks beta's hint")
	}
}

func TestPayloadJSON(t *testing.T) {
	b, err := Payload(FormatJSON, changedMessage(t))
	if err != nil {
		t.Fatal(err)
	}
	goldenFile(t, "notify.json", b)
}

func TestPayloadManyChanges(t *testing.T) {
	m := changedMessage(t)
	for len(m.Changes) < 120 {
		c := m.Changes[0]
		c.Tenant = fmt.Sprintf("t%03d", len(m.Changes))
		m.Changes = append(m.Changes, c)
	}
	for _, f := range []string{FormatTeams, FormatSlack} {
		b, err := Payload(f, m)
		if err != nil {
			t.Fatal(err)
		}
		if f == FormatTeams && len(b) > 28*1024 {
			t.Errorf("teams: %d bytes, over 28 KB", len(b))
		}
		if f == FormatSlack {
			var p slackShape
			strict(t, b, &p)
			if len(p.Blocks) > 50 {
				t.Errorf("slack: %d blocks, over 50", len(p.Blocks))
			}
		}
		if !strings.Contains(string(b), "and 80 more") {
			t.Errorf("%s: the changes left out are not counted", f)
		}
	}
}

func TestParseTarget(t *testing.T) {
	const secret = "sig=c2VjcmV0LXNpZ25hdHVyZS1jYW5hcnk"
	tests := map[string]struct {
		reason, url, format string
		want                string // format, or the error's text
		err                 bool
	}{
		"teams workflows": {reason: "Power Automate's trigger host is Teams", url: "https://prod-42.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?" + secret, want: FormatTeams},
		"teams new host":  {reason: "the environment hosts of Power Platform are Teams", url: "https://default1234.56.environment.api.powerplatform.com/powerautomate/automations/direct/workflows/x/triggers/manual/paths/invoke?" + secret, want: FormatTeams},
		"slack":           {reason: "hooks.slack.com is Slack", url: "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX", want: FormatSlack},
		"other":           {reason: "any other host gets plain JSON", url: "https://alerts.example.com/hook?" + secret, want: FormatJSON},
		"forced":          {reason: "--notify-format wins over the host", url: "https://alerts.example.com/hook", format: FormatSlack, want: FormatSlack},
		"loopback http":   {reason: "http on loopback is a local receiver", url: "http://127.0.0.1:8080/?" + secret, want: FormatJSON},
		"localhost http":  {reason: "localhost is loopback", url: "http://localhost:8080/", want: FormatJSON},
		"plain http":      {reason: "http elsewhere would send the channel's key in clear", url: "http://alerts.example.com/hook?" + secret, err: true, want: "the --notify URL for alerts.example.com is plain http"},
		"other scheme":    {reason: "only https", url: "ftp://alerts.example.com/hook?" + secret, err: true, want: "the --notify URL for alerts.example.com is not https"},
		"user info":       {reason: "credentials in the URL are refused", url: "https://user:pw-canary-value@alerts.example.com/", err: true, want: "carries a user name or password"},
		"not a URL":       {reason: "a relative reference", url: "hooks/" + secret, err: true, want: "a --notify URL is not an absolute URL"},
		"unknown format":  {reason: "the format is one of three", url: "https://a.example.com/", format: "xml", err: true, want: `unknown --notify-format "xml"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tg, err := ParseTarget(tc.url, tc.format)
			if tc.err {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("%s: got %v, want %q", tc.reason, err, tc.want)
				}
				if strings.Contains(err.Error(), "c2VjcmV0") || strings.Contains(err.Error(), "pw-canary") || strings.Contains(err.Error(), tc.url) {
					t.Errorf("the error shows the URL: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", tc.reason, err)
			}
			if tg.Format != tc.want {
				t.Errorf("%s: format %s, want %s", tc.reason, tg.Format, tc.want)
			}
		})
	}
}

// TestSendHidesURL: a receiver that refuses and echoes the request URL in its answer, and
// one that is gone: the errors name the host only.
func TestSendHidesURL(t *testing.T) {
	const key = "canary-webhook-key-0123456789abcdef"
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		http.Error(w, "bad request to "+r.URL.String(), http.StatusBadRequest)
	}))
	defer echo.Close()
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	got := map[bool]bool{}
	for _, base := range []string{echo.URL, gone.URL} {
		tg, err := ParseTarget(base+"/hooks/"+key+"?sig="+key, "")
		if err != nil {
			t.Fatal(err)
		}
		err = Send(context.Background(), &http.Client{}, tg, []byte(`{}`))
		if err == nil {
			t.Fatalf("%s: no error", tg.Host())
		}
		if strings.Contains(err.Error(), key) || strings.Contains(err.Error(), "/hooks/") {
			t.Errorf("the error shows the URL: %v", err)
		}
		if !strings.HasPrefix(err.Error(), "notification to "+tg.Host()+": ") {
			t.Errorf("the error does not name the host: %v", err)
		}
		got[strings.Contains(err.Error(), "400 Bad Request")] = true
	}
	if diff := cmp.Diff(map[bool]bool{true: true, false: true}, got); diff != "" {
		t.Errorf("want one refused answer and one connection error: %s", diff)
	}
}
