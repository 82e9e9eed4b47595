package entra

import (
	"context"
	"sort"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/applications"
)

var opFindApps = operation{"find applications by display name", PermApplicationReadWriteAll}

// AppSummary is an application found by FindApplications.
type AppSummary struct {
	ObjectID, AppID, DisplayName string
}

// FindApplications lists the applications of the tenant whose displayName is exactly name
// (one GET with $filter), sorted by appId. Display names are not unique: the caller decides
// what several matches mean.
func (c *Client) FindApplications(ctx context.Context, tenantID, name string) ([]AppSummary, error) {
	ad, err := c.adapter(tenantID)
	if err != nil {
		return nil, err
	}
	// OData string literals escape a quote by doubling it.
	filter := "displayName eq '" + strings.ReplaceAll(name, "'", "''") + "'"
	top := int32(999)
	res, err := applications.NewApplicationsRequestBuilderInternal(map[string]string{}, ad).
		Get(ctx, &applications.ApplicationsRequestBuilderGetRequestConfiguration{
			QueryParameters: &applications.ApplicationsRequestBuilderGetQueryParameters{
				Filter: &filter, Select: []string{"id", "appId", "displayName"}, Top: &top}})
	if err != nil {
		return nil, classify(tenantID, opFindApps, 0, err)
	}
	var out []AppSummary
	for _, a := range res.GetValue() {
		// The filter is exact in Graph; checked again so a lenient server cannot widen it.
		if strOf(a.GetDisplayName()) != name {
			continue
		}
		out = append(out, AppSummary{ObjectID: strOf(a.GetId()), AppID: strings.ToLower(strOf(a.GetAppId())), DisplayName: strOf(a.GetDisplayName())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AppID < out[j].AppID })
	return out, nil
}
