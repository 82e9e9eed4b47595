package entra

import (
	"context"
	"net/http"

	"github.com/microsoftgraph/msgraph-sdk-go/groups"
)

var opRemoveMember = operation{"remove the service principal from AdminAgents", PermGroupMemberReadWriteAll}

// RemoveGroupMember removes the directory object memberID from the group groupID
// (DELETE /groups/{id}/members/{memberId}/$ref); a member that is gone already is not an
// error.
func (c *Client) RemoveGroupMember(ctx context.Context, tenantID, groupID, memberID string) error {
	ad, err := c.adapter(tenantID)
	if err != nil {
		return err
	}
	err = c.settle(ctx, func(ctx context.Context) error {
		err := groups.NewGroupsRequestBuilderInternal(map[string]string{}, ad).ByGroupId(groupID).Members().ByDirectoryObjectId(memberID).Ref().Delete(ctx, nil)
		if f, ok := failureOf(err); ok && f.status == http.StatusNotFound {
			return nil
		}
		return err
	})
	if err != nil {
		return classify(tenantID, opRemoveMember, 0, err)
	}
	return nil
}
