package charts

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/meridianhq/meridian/web"
)

// TestChartPeers: with replicas on PostgreSQL, each pod forwards plans and
// applies only to the pods of a headless Service (--peer-urls with a dns+
// entry the server accepts), which lists every pod, ready or not, and
// whose port the ServiceMonitor does not scrape a second time. A single
// replica on SQLite has neither.
func TestChartPeers(t *testing.T) {
	files, err := render(t, prodValues())
	if err != nil {
		t.Fatal(err)
	}
	objs := objects(t, files)
	var d struct {
		Spec struct {
			Template struct {
				Metadata struct{ Labels map[string]string }
				Spec     struct{ Containers []struct{ Args []string } }
			}
		}
	}
	b, _ := json.Marshal(find(objs, "Deployment").Object)
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	var peerURLs string
	for _, a := range d.Spec.Template.Spec.Containers[0].Args {
		if v, ok := strings.CutPrefix(a, "--peer-urls="); ok {
			peerURLs = v
		}
	}
	if _, err := web.ParsePeerURLs([]string{peerURLs}); err != nil || !strings.HasPrefix(peerURLs, "dns+http://") {
		t.Fatalf("--peer-urls=%q: %v; want a dns+ entry the server accepts", peerURLs, err)
	}
	host := strings.TrimSuffix(strings.TrimPrefix(peerURLs, "dns+http://"), ":8080")
	var peers map[string]any
	for _, o := range objs {
		if o.GetKind() == "Service" && o.GetName()+"."+o.GetNamespace()+".svc" == host {
			peers = o.Object
		}
	}
	if peers == nil {
		t.Fatalf("no Service named by --peer-urls=%s", peerURLs)
	}
	var svc struct {
		Spec struct {
			ClusterIP                string `json:"clusterIP"`
			PublishNotReadyAddresses bool   `json:"publishNotReadyAddresses"`
			Selector                 map[string]string
			Ports                    []struct {
				Name       string
				Port       int
				TargetPort string `json:"targetPort"`
			}
		}
	}
	b, _ = json.Marshal(peers)
	if err := json.Unmarshal(b, &svc); err != nil {
		t.Fatal(err)
	}
	if svc.Spec.ClusterIP != "None" || !svc.Spec.PublishNotReadyAddresses {
		t.Errorf("peers Service: clusterIP %q, publishNotReadyAddresses %v; want headless, listing pods not ready", svc.Spec.ClusterIP, svc.Spec.PublishNotReadyAddresses)
	}
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("peers Service selects %s=%s, which the pods lack", k, v)
		}
	}
	if len(svc.Spec.Selector) == 0 || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 8080 || svc.Spec.Ports[0].TargetPort != "http" || svc.Spec.Ports[0].Name == "http" {
		t.Errorf("peers Service %+v: want a selector, and port 8080 to the pods' http port under another name than the ServiceMonitor's", svc.Spec)
	}

	vals := prodValues()
	vals["replicaCount"] = 1
	vals["database"] = map[string]any{"existingSecret": ""}
	files, err = render(t, vals)
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range files {
		if strings.Contains(f, "-peers") {
			t.Errorf("a single replica on SQLite renders peers in %s", name)
		}
	}
}
