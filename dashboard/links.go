package dashboard

import (
	"net/url"
	"strconv"
	"strings"
)

// SourceLink returns where file:line of the config repo at commit can be
// read: a web link for a repository on github.com or gitlab.com (or a
// host named gitlab.*), and "" otherwise, when the page shows the plain
// path. The link never carries the repo URL's user info, query or
// fragment, whatever the URL held: credentials travel there. text is
// always "file:line" (or "file" without a line).
func SourceLink(repo, commit, file string, line int) (href, text string) {
	text = file
	if line > 0 {
		text += ":" + strconv.Itoa(line)
	}
	if file == "" || commit == "" {
		return "", text
	}
	u, err := url.Parse(strings.TrimSpace(repo))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", text
	}
	host := strings.ToLower(u.Hostname())
	var blob string
	switch {
	case host == "github.com" || host == "www.github.com":
		blob = "/blob/"
	case host == "gitlab.com" || strings.HasPrefix(host, "gitlab."):
		blob = "/-/blob/"
	default:
		return "", text
	}
	project := strings.TrimSuffix(strings.Trim(u.Path, "/"), ".git")
	if project == "" || strings.Contains(project, "..") {
		return "", text
	}
	out := url.URL{Scheme: "https", Host: u.Host, Path: "/" + project + blob + commit + "/" + strings.TrimPrefix(file, "/")}
	if line > 0 {
		out.Fragment = "L" + strconv.Itoa(line)
	}
	return out.String(), text
}
