package report

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/useitcloud/uicctl/pkg/verify"
)

// Action is what a person does about a failed or warned check.
type Action string

// The actions, in the order the to-do list gives them.
const (
	ActionValidate      Action = "fix the spec or secrets file"
	ActionConsent       Action = "consent again"
	ActionApply         Action = "apply"
	ActionAppManagement Action = "register in App management"
	ActionLookInto      Action = "look into"
)

var actionOrder = []Action{ActionValidate, ActionConsent, ActionApply, ActionAppManagement, ActionLookInto}

// Group is the tenants that need one action, with the commands that do it.
type Group struct {
	Action   Action
	Tenants  []string // names, in report order
	Commands []string
}

// Todo is the to-do list of a run: a group per action that some tenant needs, and the
// number of tenants that need nothing.
type Todo struct {
	Groups  []Group
	Nothing int
}

// actionOf classifies a failed or warned check. The hint names the command when there is
// one (verify's hints are written for people, and pkg/verify writes them); the check
// decides otherwise.
func actionOf(c verify.Check) Action {
	switch {
	case strings.Contains(c.Hint, "uicctl consent"):
		return ActionConsent
	case strings.Contains(c.Hint, "App management"):
		return ActionAppManagement
	case strings.Contains(c.Hint, "uicctl apply"):
		return ActionApply
	case strings.Contains(c.Hint, "uicctl validate"):
		return ActionValidate
	}
	switch c.Name {
	case verify.CheckSpec:
		return ActionValidate
	case verify.CheckRefreshToken, verify.CheckPartnerAPI:
		return ActionConsent
	case verify.CheckClientSecret, verify.CheckDrift:
		return ActionApply
	case verify.CheckAppManagement:
		return ActionAppManagement
	}
	return ActionLookInto
}

// Actions are what a tenant needs, in the to-do list's order; none when it passed.
func Actions(t *verify.Tenant) []Action {
	need := map[Action]bool{}
	for _, c := range t.Checks {
		if c.Status == verify.Fail || c.Status == verify.Warn {
			need[actionOf(c)] = true
		}
	}
	var out []Action
	for _, a := range actionOrder {
		if need[a] {
			out = append(out, a)
		}
	}
	return out
}

// NewTodo groups the tenants of a report by the actions they need.
func NewTodo(r *verify.Report) Todo {
	var td Todo
	dirs := map[Action][]string{}
	names := map[Action][]string{}
	for i := range r.Tenants {
		t := &r.Tenants[i]
		as := Actions(t)
		if len(as) == 0 {
			td.Nothing++
		}
		for _, a := range as {
			names[a] = append(names[a], key(t))
			dirs[a] = append(dirs[a], filepath.Dir(t.Path))
		}
	}
	for _, a := range actionOrder {
		if len(names[a]) == 0 {
			continue
		}
		g := Group{Action: a, Tenants: names[a]}
		switch a {
		case ActionConsent:
			// consent signs one tenant in at a time: a command each.
			for _, d := range dirs[a] {
				g.Commands = append(g.Commands, "uicctl consent "+d)
			}
		case ActionApply:
			g.Commands = []string{"uicctl apply " + strings.Join(dirs[a], " ")}
		case ActionValidate:
			g.Commands = []string{"uicctl validate " + strings.Join(dirs[a], " ")}
		case ActionAppManagement:
			g.Commands = []string{"Partner Center: Account settings > App management, add each tenant's app (its client ID is in the secrets file)"}
		case ActionLookInto:
			g.Commands = []string{"read the messages above, then uicctl verify " + strings.Join(dirs[a], " ")}
		}
		td.Groups = append(td.Groups, g)
	}
	return td
}

// WriteTodoText writes the to-do list as the text report's last lines.
func WriteTodoText(w io.Writer, td Todo) error {
	var b strings.Builder
	b.WriteString("\nto do:\n")
	for _, g := range td.Groups {
		fmt.Fprintf(&b, "  %s (%d): %s\n", g.Action, len(g.Tenants), strings.Join(g.Tenants, ", "))
		for _, c := range g.Commands {
			fmt.Fprintf(&b, "    %s\n", c)
		}
	}
	fmt.Fprintf(&b, "  nothing to do: %d\n", td.Nothing)
	_, err := io.WriteString(w, b.String())
	return err
}
