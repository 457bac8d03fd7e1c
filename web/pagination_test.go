package web

import (
	"net/http/httptest"
	"net/url"
	"testing"
)

// FuzzParsePage feeds arbitrary page parameters (outside input) to the
// parser: it must never panic, and must accept only what pageOf issues.
func FuzzParsePage(f *testing.F) {
	f.Add("50", "")
	f.Add("3", pageOf(make([]int, 10), page{size: 3}).NextPageToken)
	f.Add("0", "bzotMQ")
	f.Add("x", "%%%")
	f.Add("500", "bzo5MjIzMzcyMDM2ODU0Nzc1ODA3") // o:MaxInt64
	f.Fuzz(func(t *testing.T, size, token string) {
		r := httptest.NewRequest("GET", "/?page_size="+url.QueryEscape(size)+"&page_token="+url.QueryEscape(token), nil)
		p, err := parsePage(r)
		if err != nil {
			return
		}
		if p.size < 1 || p.size > maxPageSize || p.offset < 0 || p.offset > maxPageOffset || p.limit() <= 0 {
			t.Fatalf("accepted %+v", p)
		}
		l := pageOf(make([]int, 7), p)
		if len(l.Items) > p.size {
			t.Fatalf("page of %d items for size %d", len(l.Items), p.size)
		}
	})
}

func TestPageOf(t *testing.T) {
	all := []int{1, 2, 3, 4, 5}
	var got []int
	p := page{size: 2}
	for range 10 {
		l := pageOf(all, p)
		got = append(got, l.Items...)
		if l.NextPageToken == "" {
			break
		}
		r := httptest.NewRequest("GET", "/?page_size=2&page_token="+l.NextPageToken, nil)
		var err error
		if p, err = parsePage(r); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 5 || got[4] != 5 {
		t.Errorf("walked %v", got)
	}
	if l := pageOf(all, page{size: 2, offset: 9}); len(l.Items) != 0 || l.Items == nil || l.NextPageToken != "" {
		t.Errorf("past the end: %+v (items must be [] in JSON)", l)
	}
}
