package web

import (
	"encoding/base64"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/meridianhq/meridian"
)

// Page sizes.
const (
	defaultPageSize = 50
	maxPageSize     = 500
	// maxPageOffset bounds how deep a page token may point. Stores are
	// read with offset+size+1 rows, so an absurd offset would read (or,
	// near MaxInt, overflow into) the whole table; a list this long is
	// better filtered than paged through.
	maxPageOffset = 100_000
)

// list is every list response: {"items": [...], "next_page_token": "..."}.
// next_page_token is empty on the last page.
type list[T any] struct {
	Items         []T    `json:"items"`
	NextPageToken string `json:"next_page_token"`
}

// page is a parsed page_size and page_token. Tokens are opaque to clients;
// today they hold an offset into the list's order.
type page struct {
	size, offset int
}

func parsePage(r *http.Request) (page, error) {
	p := page{size: defaultPageSize}
	q := r.URL.Query()
	if s := q.Get("page_size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageSize {
			return p, meridian.Errorf(meridian.EINVALID, "page_size must be an integer from 1 to %d, got %q", maxPageSize, s)
		}
		p.size = n
	}
	if t := q.Get("page_token"); t != "" {
		b, err := base64.RawURLEncoding.DecodeString(t)
		off, ok := strings.CutPrefix(string(b), "o:")
		n, aerr := strconv.Atoi(off)
		if err != nil || !ok || aerr != nil || n < 0 {
			return p, meridian.Errorf(meridian.EINVALID, "page_token %q is not one this server issued", clip(t))
		}
		if n > maxPageOffset {
			return p, meridian.Errorf(meridian.EINVALID, "page_token points past item %d: filter the list instead of paging this deep", maxPageOffset)
		}
		p.offset = n
	}
	return p, nil
}

// limit is how many rows to read from a store that takes only a limit: the
// page plus one, to know whether there is a next page. parsePage bounds
// offset and size; the check keeps a page built some other way from
// overflowing into a negative limit (which SQLite reads as "no limit").
func (p page) limit() int {
	if p.offset < 0 || p.size < 0 || p.offset > math.MaxInt-p.size-1 {
		return math.MaxInt
	}
	return p.offset + p.size + 1
}

// pageOf cuts the page out of all, which holds at least the rows up to
// p.limit() in list order.
func pageOf[T any](all []T, p page) list[T] {
	out := list[T]{Items: []T{}}
	if p.offset < len(all) {
		end := min(p.offset+p.size, len(all))
		out.Items = append(out.Items, all[p.offset:end]...)
		if end < len(all) {
			out.NextPageToken = base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(end)))
		}
	}
	return out
}

// mapList converts a page's items.
func mapList[T, U any](l list[T], f func(T) U) list[U] {
	out := list[U]{Items: make([]U, len(l.Items)), NextPageToken: l.NextPageToken}
	for i, x := range l.Items {
		out.Items[i] = f(x)
	}
	return out
}
