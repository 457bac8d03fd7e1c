// Package edge makes `meridian serve` an OPA bundle server for edge sites
// (docs/edge.md): it builds one signed bundle per site from the org
// policies and the site's share of the branch head's plan, hands it out
// with ETags and long polling as OPA's bundle service API describes, and
// keeps track, from OPA's status reports, of which revision every site
// runs, announcing in the event feed the sites that fall behind, fail or
// go quiet, and those that recover.
//
// The HTTP adaptation lives in package web; the agent configuration that
// points a site's OPA at the server is made by AgentConfig.
package edge
