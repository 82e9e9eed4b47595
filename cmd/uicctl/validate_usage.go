package main

import (
	"github.com/useitcloud/uicctl/pkg/cloud"
	"github.com/useitcloud/uicctl/pkg/spec"
)

// checkUsageCloud refuses a verify.usage that would run the Graph partner billing export in
// a cloud without it: billing-export, and auto when the spec grants PartnerBilling.Read.All
// (auto's choice of the export). An error, not a warning: the nightly check could never
// pass there.
func checkUsageCloud(c cloud.Cloud, tenants []spec.Tenant) []spec.Diagnostic {
	why := c.BillingExportUnavailable()
	if why == "" {
		return nil
	}
	var out []spec.Diagnostic
	for _, t := range tenants {
		p := t.Partner
		if p == nil {
			continue
		}
		application, delegated := p.PartnerBillingGrant()
		var msg, hint string
		switch {
		case p.Verify.Usage == "billing-export":
			msg = "verify.usage billing-export cannot run in cloud " + c.Name + ": " + why
			hint = "set verify.usage: unbilled (Partner Center's unbilled line items are served there)"
		case p.Verify.Usage == "auto" && (application || delegated):
			msg = "verify.usage auto would run the billing export, since the spec grants PartnerBilling.Read.All, and it cannot run in cloud " + c.Name + ": " + why
			hint = "set verify.usage: unbilled, or remove PartnerBilling.Read.All from application.permissions"
		default:
			continue
		}
		at := p.PosOf("verify.usage")
		out = append(out, spec.Diagnostic{File: t.Path, Line: at.Line, Column: at.Column, Path: "verify.usage",
			Severity: spec.SeverityError, Message: msg, Hint: hint})
	}
	return out
}
