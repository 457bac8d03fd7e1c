package config_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/gitops/config"
)

// TestLoadManyFiles: files are read and parsed on every core, but the
// config comes out as if they had been read one after the other: entities
// in file order (a file's documents in their order), and every file's
// problems reported.
func TestLoadManyFiles(t *testing.T) {
	fsys := fstest.MapFS{"targets/a.yaml": {Data: []byte(target)}}
	var want, bad []string
	for i := range 300 {
		p := fmt.Sprintf("workloads/%03d.yaml", i)
		names := []string{fmt.Sprintf("w%03d", i)}
		doc := strings.Replace(workload, "name: api", "name: "+names[0], 1)
		switch {
		case i%7 == 3:
			doc += "bogus: 1\n"
			bad = append(bad, p+":7: bogus: unknown field")
		case i%11 == 5:
			// Two documents in one file keep their order.
			names = append(names, names[0]+"b")
			doc += "---\n" + strings.Replace(workload, "name: api", "name: "+names[1], 1)
		}
		want = append(want, names...)
		fsys[p] = &fstest.MapFile{Data: []byte(doc)}
	}
	cfg, err := config.Load(fsys)
	var got []string
	for _, w := range cfg.Workloads {
		got = append(got, w.Name)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("workloads out of file order:\n got %v\nwant %v", got, want)
	}
	var ces meridian.ConfigErrors
	if !errors.As(err, &ces) {
		t.Fatalf("error %v, want config errors", err)
	}
	var msgs []string
	for _, e := range ces {
		msgs = append(msgs, e.Error())
	}
	if strings.Join(msgs, "\n") != strings.Join(bad, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(msgs, "\n"), strings.Join(bad, "\n"))
	}
}
