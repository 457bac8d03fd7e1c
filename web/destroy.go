package web

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/github"
)

// handlePlanApproveDestroy records an operator's consent to destroy what a
// plan of the watched branch decommissions (its destroy section), so that
// the plan can be applied (POST /plans/{planID}/apply, or auto_apply).
func (s *Server) handlePlanApproveDestroy(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	a, err := s.recon.ApproveDestroy(r.Context(), chi.URLParam(r, "planID"), p.Actor())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, a)
}

// routeDestroy routes the deliveries that concern destroy approvals: the
// approve-destroy command in a pull request's comment or review, and a
// pull request closing (which settles its approvals). ok is false for
// every other delivery.
func (s *Server) routeDestroy(v any) (reply webhookReply, j job, ok bool) {
	command := func(repo string, pr int, actor, head string) (webhookReply, job, bool) {
		if !s.recon.HandlesRepo(repo) {
			r, j, _ := ignored("comment in another repository: " + repo)
			return r, j, true
		}
		a := controlplane.PRApproval{Repo: repo, PR: pr, Actor: actor, Head: head}
		return webhookReply{Status: "accepted"}, func(ctx context.Context) (string, error) {
			_, err := s.recon.ApprovePRDestroy(ctx, a)
			return "", err
		}, true
	}
	switch ev := v.(type) {
	case *github.PullRequestEvent:
		if ev.Action != "closed" {
			return webhookReply{}, nil, false
		}
		if !s.recon.HandlesRepo(ev.Repository.FullName) {
			r, j, _ := ignored("pull request in another repository: " + ev.Repository.FullName)
			return r, j, true
		}
		return webhookReply{Status: "accepted"}, func(ctx context.Context) (string, error) {
			_, err := s.recon.SettlePR(ctx, ev)
			return "", err
		}, true
	case *github.IssueCommentEvent:
		if ev.Action != "created" || ev.Issue.PullRequest == nil || !controlplane.IsApproveDestroy(ev.Comment.Body) {
			r, j, _ := ignored("not a " + controlplane.ApproveDestroyCommand + " comment on a pull request")
			return r, j, true
		}
		return command(ev.Repository.FullName, ev.Issue.Number, ev.Comment.User.Login, "")
	case *github.PullRequestReviewEvent:
		if ev.Action != "submitted" || ev.Review.State == "changes_requested" || !controlplane.IsApproveDestroy(ev.Review.Body) {
			r, j, _ := ignored("not a review with " + controlplane.ApproveDestroyCommand)
			return r, j, true
		}
		return command(ev.Repository.FullName, ev.PullRequest.Number, ev.Review.User.Login, ev.Review.CommitID)
	}
	return webhookReply{}, nil, false
}
