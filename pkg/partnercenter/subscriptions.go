package partnercenter

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// LegacyAzureOfferPrefix starts the offer IDs of legacy Microsoft Azure subscriptions
// (MS-AZR-0145P and its kin), the only ones the Azure utilization API supports: "this API
// isn't supported for Azure plans"
// (https://learn.microsoft.com/partner-center/developer/get-a-customer-s-utilization-record-for-azure).
const LegacyAzureOfferPrefix = "MS-AZR-"

// UtilizationSubscription is the subscription LegacyAzureSubscription found (ID empty when
// none), with how much it looked through.
type UtilizationSubscription struct {
	CustomerID, ID, OfferID string
	Customers, Seen         int // customers and subscriptions looked at
}

// LegacyAzureSubscription finds a subscription whose Azure utilization can be asked for: the
// first legacy Azure one (offer ID MS-AZR-*) of the customers on the first page. Azure plans
// and licence-based subscriptions (Microsoft 365, ...) are skipped: the utilization API
// answers 400 for them.
func (c *Client) LegacyAzureSubscription(ctx context.Context) (UtilizationSubscription, error) {
	var out UtilizationSubscription
	var cs Page
	if err := c.get(ctx, strings.TrimSuffix(c.Base, "/")+"/customers?size=100", nil, &cs); err != nil {
		return out, err
	}
	for _, raw := range cs.Items {
		var cu struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(raw, &cu) != nil || cu.ID == "" {
			continue
		}
		out.Customers++
		var ss Page
		if err := c.get(ctx, fmt.Sprintf("%s/customers/%s/subscriptions", strings.TrimSuffix(c.Base, "/"), url.PathEscape(cu.ID)), nil, &ss); err != nil {
			return out, err
		}
		for _, sraw := range ss.Items {
			var sub struct {
				ID      string `json:"id"`
				OfferID string `json:"offerId"`
			}
			if json.Unmarshal(sraw, &sub) != nil || sub.ID == "" {
				continue
			}
			out.Seen++
			if strings.HasPrefix(strings.ToUpper(sub.OfferID), LegacyAzureOfferPrefix) {
				out.CustomerID, out.ID, out.OfferID = cu.ID, sub.ID, sub.OfferID
				return out, nil
			}
		}
	}
	return out, nil
}
