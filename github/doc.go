// Package github is Meridian's small client for the parts of GitHub it
// uses: verifying webhook deliveries (X-Hub-Signature-256), decoding the
// pull_request, push and ping events, and the three REST calls a pull-request
// report needs (create or update an issue comment, create a commit status).
//
// It has no dependency on the rest of the server, so that it can be tested
// against recorded payloads and an httptest server standing in for
// api.github.com.
package github
