// Package report turns pkg/verify's results into what a person reads about a fleet: the
// state file that remembers each tenant's last statuses and deadlines between runs, the
// to-do list grouped by action, the self-contained HTML report with its expiry timeline,
// and the notifications (Teams, Slack, JSON) of what changed since the last run.
//
// Nothing here talks to Microsoft or reads a secrets file: it works on verify.Tenant values
// only, and the state file holds statuses and dates, never a credential or a hash of one.
//
// The Go API is not stable; the uicctl command line is the contract.
package report
