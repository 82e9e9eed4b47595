package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/useitcloud/uicctl/internal/scrub"
	"github.com/useitcloud/uicctl/pkg/verify"
)

// The notification formats.
const (
	FormatTeams = "teams" // a Teams Workflows webhook: an Adaptive Card in a message
	FormatSlack = "slack" // a Slack incoming webhook: Block Kit
	FormatJSON  = "json"  // plain JSON, for any other receiver
)

// Target is a webhook to notify. Its URL is a secret (whoever has it can post to the
// channel): only Host is ever shown.
type Target struct {
	u      *url.URL
	Format string
}

// Host is the webhook's host, the only part of its URL that errors and messages show.
func (t Target) Host() string { return t.u.Host }

// ParseTarget checks a webhook URL: https, or http on a loopback address only (a local
// receiver). format "" picks it by the host: Teams Workflows and Microsoft 365 connector
// hosts are Teams, hooks.slack.com is Slack, any other host gets plain JSON. The URL and
// its parts are registered with the scrubber, so no message of a service shows them.
func ParseTarget(raw, format string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		// url.Parse's error quotes the URL.
		return Target{}, errors.New("a --notify URL is not an absolute URL")
	}
	registerSecretURL(u)
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return Target{}, fmt.Errorf("the --notify URL for %s is plain http: only https is allowed, and http only on a loopback address", u.Host)
		}
	default:
		return Target{}, fmt.Errorf("the --notify URL for %s is not https", u.Host)
	}
	if u.User != nil {
		return Target{}, fmt.Errorf("the --notify URL for %s carries a user name or password", u.Host)
	}
	switch format {
	case "":
		format = formatOfHost(u.Hostname())
	case FormatTeams, FormatSlack, FormatJSON:
	default:
		return Target{}, fmt.Errorf("unknown --notify-format %q: use teams, slack or json", format)
	}
	return Target{u: u, Format: format}, nil
}

func registerSecretURL(u *url.URL) {
	vals := []string{u.String(), u.RawQuery, u.EscapedPath()}
	for _, vs := range u.Query() {
		vals = append(vals, vs...)
	}
	// Path segments long enough to be a key (Slack's token, a workflow id); short ones are
	// words ("services", "workflows") that messages use too.
	for _, seg := range strings.Split(u.Path, "/") {
		if len(seg) >= 20 {
			vals = append(vals, seg)
		}
	}
	scrub.Known(vals...)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// formatOfHost: Teams Workflows webhooks are Power Automate trigger URLs
// (*.logic.azure.com, *.powerautomate.com, *.powerplatform.com; the hosts Argo CD's
// teams-workflows service documents: https://argo-cd.readthedocs.io/en/release-3.3/operator-manual/notifications/services/teams-workflows/);
// the retired Microsoft 365 connectors were *.webhook.office.com. UNCONFIRMED by Microsoft's
// documentation, which shows no trigger URL's host: --notify-format teams covers any other. Slack's incoming webhooks
// are https://hooks.slack.com/services/... (https://api.slack.com/messaging/webhooks).
func formatOfHost(host string) string {
	host = strings.ToLower(host)
	for _, s := range []string{".logic.azure.com", ".powerautomate.com", ".powerplatform.com", ".webhook.office.com"} {
		if strings.HasSuffix(host, s) {
			return FormatTeams
		}
	}
	if host == "hooks.slack.com" {
		return FormatSlack
	}
	return FormatJSON
}

// Message is one run's notification: the changes since the last state.
type Message struct {
	Title   string   `json:"title"`
	Summary string   `json:"summary"`
	Changes []Change `json:"-"`
}

// NewMessage is the notification of a run's changes; nil when nothing changed.
func NewMessage(r *verify.Report, changes []Change) *Message {
	if len(changes) == 0 {
		return nil
	}
	n := len(changes)
	noun := "tenants"
	if n == 1 {
		noun = "tenant"
	}
	return &Message{Title: fmt.Sprintf("uicctl verify: %d %s changed", n, noun), Summary: verify.SummaryLine(r.Summary), Changes: changes}
}

// lines are a change's headline and its details (checks with hints, deadlines crossed), as
// plain text every format carries.
func (c Change) lines() (string, []string) {
	from := string(c.From)
	if from == "" {
		from = "new"
	}
	head := fmt.Sprintf("%s: %s (%s → %s)", c.Tenant, c.Kind(), from, c.To)
	var out []string
	for _, p := range c.Problems {
		l := fmt.Sprintf("%s %s: %s", statusViews[p.Status].Icon, p.Name, scrub.Line(p.Message))
		if p.Hint != "" {
			l += " — hint: " + scrub.Line(p.Hint)
		}
		out = append(out, l)
	}
	for _, d := range c.Crossed {
		out = append(out, fmt.Sprintf("⏰ %s %s (%s)", d.Label(), d.At.Format("2006-01-02"), d.Horizon))
	}
	return head, out
}

// jsonMessage is the plain JSON format.
type jsonMessage struct {
	Title   string       `json:"title"`
	Summary string       `json:"summary"`
	Changes []jsonChange `json:"changes"`
}

type jsonChange struct {
	Tenant   string         `json:"tenant"`
	Path     string         `json:"path"`
	Kind     string         `json:"kind"`
	From     verify.Status  `json:"from,omitempty"`
	To       verify.Status  `json:"to"`
	Problems []jsonProblem  `json:"problems,omitempty"`
	Crossed  []jsonDeadline `json:"deadlines,omitempty"`
}

type jsonProblem struct {
	Check   string        `json:"check"`
	Status  verify.Status `json:"status"`
	Message string        `json:"message"`
	Hint    string        `json:"hint,omitempty"`
}

type jsonDeadline struct {
	Kind    string  `json:"kind"`
	At      string  `json:"at"`
	Horizon Horizon `json:"horizon"`
}

// Payload is the request body of a message in a format.
func Payload(format string, m *Message) ([]byte, error) {
	var v any
	switch format {
	case FormatTeams:
		v = teamsPayload(m)
	case FormatSlack:
		v = slackPayload(m)
	default:
		jm := jsonMessage{Title: m.Title, Summary: m.Summary}
		for _, c := range m.Changes {
			jc := jsonChange{Tenant: c.Tenant, Path: c.Path, Kind: c.Kind(), From: c.From, To: c.To}
			for _, p := range c.Problems {
				jc.Problems = append(jc.Problems, jsonProblem{Check: p.Name, Status: p.Status, Message: scrub.Text(p.Message), Hint: scrub.Text(p.Hint)})
			}
			for _, d := range c.Crossed {
				jc.Crossed = append(jc.Crossed, jsonDeadline{Kind: d.Kind, At: d.At.Format("2006-01-02"), Horizon: d.Horizon})
			}
			jm.Changes = append(jm.Changes, jc)
		}
		v = jm
	}
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetIndent("", "  ")
	if err := e.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// maxChanges bounds the changes listed one by one: Slack takes at most 50 blocks a message
// (https://docs.slack.dev/messaging#payloads) and Teams 28 KB
// (https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using#limitations);
// the rest is counted in a last line.
const maxChanges = 40

func listed(m *Message) ([]Change, string) {
	if len(m.Changes) <= maxChanges {
		return m.Changes, ""
	}
	return m.Changes[:maxChanges], fmt.Sprintf("… and %d more: see the verify report", len(m.Changes)-maxChanges)
}

// teamsPayload is an Adaptive Card in the message envelope that Teams Workflows' "When a
// Teams webhook request is received" trigger posts ("Workflows support Adaptive Cards
// only"): {"type":"message","attachments":[{"contentType":
// "application/vnd.microsoft.card.adaptive","content":{AdaptiveCard}}]}
// (https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using).
// Version 1.4: "setting the version property to 1.5 makes your Adaptive Card incompatible
// with older clients ... such as Outlook and Teams"
// (https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/universal-actions-for-adaptive-cards/work-with-universal-actions-for-adaptive-cards),
// and the card uses nothing newer than TextBlock.
func teamsPayload(m *Message) any {
	type textBlock struct {
		Type     string `json:"type"`
		Text     string `json:"text"`
		Wrap     bool   `json:"wrap"`
		Weight   string `json:"weight,omitempty"`
		Size     string `json:"size,omitempty"`
		Spacing  string `json:"spacing,omitempty"`
		IsSubtle bool   `json:"isSubtle,omitempty"`
	}
	body := []textBlock{
		{Type: "TextBlock", Text: m.Title, Wrap: true, Weight: "Bolder", Size: "Medium"},
		{Type: "TextBlock", Text: m.Summary, Wrap: true, IsSubtle: true},
	}
	changes, more := listed(m)
	for _, c := range changes {
		head, details := c.lines()
		body = append(body, textBlock{Type: "TextBlock", Text: teamsEscape(head), Wrap: true, Weight: "Bolder", Spacing: "Medium"})
		for _, d := range details {
			body = append(body, textBlock{Type: "TextBlock", Text: teamsEscape(d), Wrap: true, Spacing: "None"})
		}
	}
	if more != "" {
		body = append(body, textBlock{Type: "TextBlock", Text: more, Wrap: true})
	}
	return map[string]any{
		"type": "message",
		"attachments": []any{map[string]any{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"contentUrl":  nil,
			"content": map[string]any{
				"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
				"type":    "AdaptiveCard",
				"version": "1.4",
				"body":    body,
			},
		}},
	}
}

// teamsEscape keeps a service's text from being read as the TextBlock's Markdown subset.
func teamsEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "#", `\#`).Replace(s)
}

// slackPayload is a Block Kit message for an incoming webhook: text is the notification's
// fallback, blocks what the channel shows (https://api.slack.com/messaging/webhooks;
// https://docs.slack.dev/messaging#payloads). A header's plain_text holds at most 150
// characters (https://docs.slack.dev/reference/block-kit/blocks/header-block), a section's
// text 3000 (https://docs.slack.dev/reference/block-kit/blocks/section-block).
func slackPayload(m *Message) any {
	type text struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	type block struct {
		Type     string `json:"type"`
		Text     *text  `json:"text,omitempty"`
		Elements []text `json:"elements,omitempty"`
	}
	blocks := []block{
		{Type: "header", Text: &text{Type: "plain_text", Text: clip(m.Title, 150)}},
		{Type: "context", Elements: []text{{Type: "mrkdwn", Text: slackEscape(m.Summary)}}},
	}
	changes, more := listed(m)
	for _, c := range changes {
		head, details := c.lines()
		s := "*" + slackEscape(head) + "*"
		for _, d := range details {
			s += "\n" + slackEscape(d)
		}
		blocks = append(blocks, block{Type: "section", Text: &text{Type: "mrkdwn", Text: clip(s, 3000)}})
	}
	if more != "" {
		blocks = append(blocks, block{Type: "context", Elements: []text{{Type: "mrkdwn", Text: more}}})
	}
	return map[string]any{"text": m.Title, "blocks": blocks}
}

// slackEscape escapes the three characters Slack's mrkdwn gives meaning to
// (https://docs.slack.dev/messaging/formatting-message-text#escaping).
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// Send posts a payload to a target with client (its transport carries the retry policy).
// Errors name the host only: neither the URL nor the receiver's answer in full.
func Send(ctx context.Context, client *http.Client, t Target, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notification to %s: cannot make the request", t.Host())
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		// *url.Error quotes the URL: keep only its cause, scrubbed.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("notification to %s: %s", t.Host(), scrub.Line(err.Error()))
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("notification to %s: answered %s: %s", t.Host(), resp.Status, clip(scrub.Line(string(answer)), 200))
	}
	return nil
}
