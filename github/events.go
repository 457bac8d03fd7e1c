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
	// EventIssueComment is a comment on an issue or a pull request's
	// conversation; EventPullRequestReview a submitted review.
	EventIssueComment      = "issue_comment"
	EventPullRequestReview = "pull_request_review"
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
// *PingEvent, *PushEvent, *PullRequestEvent, *IssueCommentEvent or
// *PullRequestReviewEvent. Other events return
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
	case EventIssueComment:
		v = &IssueCommentEvent{}
	case EventPullRequestReview:
		v = &PullRequestReviewEvent{}
	default:
		return nil, nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return nil, fmt.Errorf("decode %s event: %w", name, err)
	}
	return v, nil
}

// IssueCommentEvent is a comment on an issue or, when Issue.PullRequest
// is set, on a pull request's conversation.
type IssueCommentEvent struct {
	// Action is created, edited or deleted.
	Action     string     `json:"action"`
	Issue      Issue      `json:"issue"`
	Comment    Comment    `json:"comment"`
	Repository Repository `json:"repository"`
	Sender     User       `json:"sender"`
}

// Issue is the part of an issue object Meridian uses.
type Issue struct {
	Number int `json:"number"`
	// PullRequest is set when the issue is a pull request.
	PullRequest *struct {
		URL string `json:"url"`
	} `json:"pull_request"`
}

// PullRequestReviewEvent is a review of a pull request.
type PullRequestReviewEvent struct {
	// Action is submitted, edited or dismissed.
	Action      string      `json:"action"`
	Review      Review      `json:"review"`
	PullRequest PullRequest `json:"pull_request"`
	Repository  Repository  `json:"repository"`
	Sender      User        `json:"sender"`
}

// Review is the part of a pull-request review Meridian uses.
type Review struct {
	ID   int64  `json:"id"`
	Body string `json:"body"`
	// State is approved, changes_requested or commented.
	State string `json:"state"`
	User  User   `json:"user"`
	// CommitID is the head commit the review was given on.
	CommitID string `json:"commit_id"`
}
