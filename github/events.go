package github

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Event names Meridian handles (the X-GitHub-Event header).
const (
	EventPing        = "ping"
	EventPush        = "push"
	EventPullRequest = "pull_request"
)

// Repository is the part of a webhook's repository object Meridian uses.
type Repository struct {
	// FullName is OWNER/NAME.
	FullName      string `json:"full_name"`
	HTMLURL       string `json:"html_url"`
	CloneURL      string `json:"clone_url"`
	DefaultBranch string `json:"default_branch"`
}

// User is a GitHub account.
type User struct {
	Login string `json:"login"`
}

// PingEvent is sent when a webhook is created.
type PingEvent struct {
	Zen    string `json:"zen"`
	HookID int64  `json:"hook_id"`
}

// PushEvent is a push to a branch or tag.
type PushEvent struct {
	// Ref is the full ref pushed, e.g. refs/heads/main.
	Ref    string `json:"ref"`
	Before string `json:"before"`
	After  string `json:"after"`
	// Deleted is set when the push deleted Ref.
	Deleted    bool       `json:"deleted"`
	Repository Repository `json:"repository"`
	Sender     User       `json:"sender"`
}

// Branch returns the branch name pushed, and false for tags and other refs.
func (e *PushEvent) Branch() (string, bool) {
	return strings.CutPrefix(e.Ref, "refs/heads/")
}

// PullRequestEvent is an action on a pull request.
type PullRequestEvent struct {
	// Action is opened, synchronize, reopened, closed, edited, ...
	Action      string      `json:"action"`
	Number      int         `json:"number"`
	PullRequest PullRequest `json:"pull_request"`
	Repository  Repository  `json:"repository"`
	Sender      User        `json:"sender"`
}

// PullRequest is the part of a pull request object Meridian uses.
type PullRequest struct {
	Number  int    `json:"number"`
	HTMLURL string `json:"html_url"`
	Title   string `json:"title"`
	State   string `json:"state"`
	Merged  bool   `json:"merged"`
	Head    Ref    `json:"head"`
	Base    Ref    `json:"base"`
}

// Ref is a pull request's head or base.
type Ref struct {
	// Ref is the branch name.
	Ref string `json:"ref"`
	SHA string `json:"sha"`
	// Repo is nil when a fork was deleted.
	Repo *Repository `json:"repo"`
}

// Decode unmarshals a delivery's body into the event type for name:
// *PingEvent, *PushEvent or *PullRequestEvent. Other events return
// (nil, nil): they are valid but Meridian ignores them.
func Decode(name string, body []byte) (any, error) {
	var v any
	switch name {
	case EventPing:
		v = &PingEvent{}
	case EventPush:
		v = &PushEvent{}
	case EventPullRequest:
		v = &PullRequestEvent{}
	default:
		return nil, nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return nil, fmt.Errorf("decode %s event: %w", name, err)
	}
	return v, nil
}
