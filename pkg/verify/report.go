package verify

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the checks of a fleet.
type Report struct {
	Tenants []Tenant `json:"tenants"`
	Summary Summary  `json:"summary"`
}

// Summary counts tenants by their worst status and checks by status.
type Summary struct {
	Tenants       int `json:"tenants"`
	TenantsPassed int `json:"tenantsPassed"`
	TenantsWarned int `json:"tenantsWarned"`
	TenantsFailed int `json:"tenantsFailed"`
	Pass          int `json:"pass"`
	Warn          int `json:"warn"`
	Fail          int `json:"fail"`
	Skip          int `json:"skip"`
}

// NewReport counts the tenants' checks.
func NewReport(ts []Tenant) *Report {
	r := &Report{Tenants: ts}
	s := &r.Summary
	s.Tenants = len(ts)
	for i := range ts {
		switch ts[i].Worst() {
		case Fail:
			s.TenantsFailed++
		case Warn:
			s.TenantsWarned++
		default:
			s.TenantsPassed++
		}
		for _, c := range ts[i].Checks {
			switch c.Status {
			case Pass:
				s.Pass++
			case Warn:
				s.Warn++
			case Fail:
				s.Fail++
			case Skip:
				s.Skip++
			}
		}
	}
	return r
}

// WriteText writes a table per tenant and the fleet summary.
func WriteText(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, t := range r.Tenants {
		fmt.Fprintf(tw, "%s (%s): %s\n", t.Name, t.Path, t.Worst())
		fmt.Fprintf(tw, "  CHECK\tSTATUS\tTIME\tMESSAGE\n")
		for _, c := range t.Checks {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", c.Name, c.Status, c.Duration.Round(time.Millisecond), oneLine(c.Message))
			if c.Hint != "" && (c.Status == Fail || c.Status == Warn) {
				fmt.Fprintf(tw, "  \t\t\thint: %s\n", oneLine(c.Hint))
			}
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintln(tw, SummaryLine(r.Summary))
	return tw.Flush()
}

// SummaryLine is the fleet's summary in one line, as the text report ends.
func SummaryLine(s Summary) string {
	noun := "tenants"
	if s.Tenants == 1 {
		noun = "tenant"
	}
	return fmt.Sprintf("%d %s: %d passed, %d with warnings, %d failed (checks: %d pass, %d warn, %d fail, %d skip)",
		s.Tenants, noun, s.TenantsPassed, s.TenantsWarned, s.TenantsFailed, s.Pass, s.Warn, s.Fail, s.Skip)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(r)
}

// JUnit XML: a testsuite per tenant, a testcase per check; fail is a failure, skip is
// skipped, and a warning passes with its message in system-out. The text of every case
// (message, then "hint: ..." when there is one) is in the failure's body or in system-out,
// so a reader that shows only one of them still has the hint. The errors attribute is
// always 0 (a check that cannot run fails) but present: stricter readers, after the Ant
// schema, require it.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string           `xml:"name,attr"`
	Tests      int              `xml:"tests,attr"`
	Failures   int              `xml:"failures,attr"`
	Skipped    int              `xml:"skipped,attr"`
	Errors     int              `xml:"errors,attr"`
	Time       string           `xml:"time,attr"`
	Properties *junitProperties `xml:"properties,omitempty"`
	Cases      []junitCase      `xml:"testcase"`
}

// junitProperties carry the tenant's MS-CorrelationId, for a support case.
type junitProperties struct {
	Property []junitProperty `xml:"property"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes the report as JUnit XML.
func WriteJUnit(w io.Writer, r *Report) error {
	out := junitSuites{Name: "uicctl verify"}
	var all time.Duration
	for _, t := range r.Tenants {
		s := junitSuite{Name: t.Name}
		if t.CorrelationID != "" {
			s.Properties = &junitProperties{Property: []junitProperty{{Name: "MS-CorrelationId", Value: t.CorrelationID}}}
		}
		var total time.Duration
		for _, c := range t.Checks {
			jc := junitCase{Name: c.Name, Classname: t.Name, Time: seconds(c.Duration)}
			total += c.Duration
			text := c.Message
			if c.Hint != "" {
				text += "\nhint: " + c.Hint
			}
			switch c.Status {
			case Fail:
				jc.Failure = &junitMessage{Message: c.Message, Text: text}
				s.Failures++
			case Skip:
				jc.Skipped = &junitMessage{Message: c.Message}
				jc.SystemOut = text
				s.Skipped++
			case Warn:
				jc.SystemOut = "warning: " + text
			default:
				jc.SystemOut = text
			}
			s.Cases = append(s.Cases, jc)
			s.Tests++
		}
		s.Time = seconds(total)
		all += total
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Skipped += s.Skipped
		out.Suites = append(out.Suites, s)
	}
	out.Time = seconds(all)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	e := xml.NewEncoder(w)
	e.Indent("", "  ")
	if err := e.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// WriteAnnotations writes GitHub Actions workflow commands: an error per failed check and
// a warning per warning, so the run's summary lists them.
func WriteAnnotations(w io.Writer, r *Report) error {
	esc := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	escProp := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
	for _, t := range r.Tenants {
		for _, c := range t.Checks {
			kind := map[Status]string{Fail: "error", Warn: "warning"}[c.Status]
			if kind == "" {
				continue
			}
			msg := c.Message
			if c.Hint != "" {
				msg += " (hint: " + c.Hint + ")"
			}
			if _, err := fmt.Fprintf(w, "::%s file=%s,title=%s::%s\n", kind, escProp.Replace(t.Path), escProp.Replace(t.Name+" "+c.Name), esc.Replace(msg)); err != nil {
				return err
			}
		}
	}
	return nil
}
