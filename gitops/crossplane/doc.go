// Package crossplane reads back the Crossplane managed resources (and
// composite resources) that Meridian rendered, from the cluster they live
// in, and turns what it finds into drift records of engine crossplane:
// resources not Ready for longer than a grace period, failing to sync with
// the provider's error, deleted out of band, or edited out of band.
//
// It reads only what carries Meridian's labels, so a resource someone else
// owns in the same cluster is never reported. Conditions are read with
// crossplane-runtime's types, the contract every provider writes.
package crossplane
