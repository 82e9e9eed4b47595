// Package retry is the one retry policy of every service uicctl talks to: sign-in (token
// requests), Microsoft Graph, Partner Center, the Partner API and billing blobs.
//
//   - 429, 502, 503 and 504 are waited out: Retry-After is honoured up to MaxWait (30 s);
//     without one the wait is a capped exponential backoff with jitter.
//   - Connection errors (reset, EOF, timeout) are retried only for requests that
//     are safe to send twice: GET, HEAD, PUT, DELETE, OPTIONS, and requests whose context
//     was marked with Idempotent (token requests, a $batch of reads, a PATCH upsert). A
//     request that creates something (addPassword) is not marked: its caller resolves a
//     lost answer by observing, as apply's crash safety does.
//   - Every operation has a budget (DefaultBudget, 2 minutes; WithBudget changes it): a wait
//     that would end past the budget is cut to what is left, for one last try, and when the
//     budget is spent the error is an *Exhausted naming the service and the cause, with a
//     hint that fits the cause (a network failure never blames the credentials).
//   - A wait longer than 2 s is announced through the Notify function of the context
//     ("Graph throttled, retrying in 30s"), so a long pause is never silent.
//
// Transport applies the policy to an http.Client; Op is the loop for callers that retry
// something other than one HTTP request (the items of a Graph $batch).
package retry
