package graph

import (
	"fmt"
	"sync"
	"testing"
)

// TestConcurrentClients runs writers, readers and batches at once; with -race it checks
// the locking, and the final count checks that no create was lost.
func TestConcurrentClients(t *testing.T) {
	f := newFixture(t)
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan string, workers*each*3)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				r := f.do("operator", "POST", "/applications", map[string]any{"displayName": fmt.Sprintf("c-%d-%d", w, i)})
				if r.status != 201 {
					errs <- fmt.Sprintf("create: %d %s", r.status, r.raw)
					continue
				}
				id := str(r.body, "id")
				if r := f.do("operator", "POST", "/applications/"+id+"/addPassword", nil); r.status != 200 {
					errs <- fmt.Sprintf("addPassword: %d %s", r.status, r.raw)
				}
				if r := f.do("operator", "GET", "/applications?$filter=startswith(displayName,'c-')&$top=5", nil); r.status != 200 {
					errs <- fmt.Sprintf("list: %d %s", r.status, r.raw)
				}
				if r := f.do("operator", "POST", "/$batch", map[string]any{"requests": []any{
					map[string]any{"id": "1", "method": "GET", "url": "/applications/" + id},
					map[string]any{"id": "2", "method": "PATCH", "url": "/applications/" + id,
						"headers": map[string]any{"content-type": "application/json"}, "body": map[string]any{"notes": "n"}},
				}}); r.status != 200 {
					errs <- fmt.Sprintf("batch: %d %s", r.status, r.raw)
				}
			}
		}(w)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < each; i++ {
			if _, err := f.svc.Snapshot(); err != nil {
				errs <- err.Error()
			}
			f.svc.AppRoles(testTenant, operatorApp, GraphAppID)
		}
	}()
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	r := f.do("operator", "GET", "/applications?$filter=startswith(displayName,'c-')&$count=true&$top=1", nil, "ConsistencyLevel", "eventual")
	if got := int(r.body["@odata.count"].(float64)); got != workers*each {
		t.Errorf("%d applications after %d concurrent creates", got, workers*each)
	}
}
