package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/go-chi/chi/v5"
)

//go:embed static
var staticFS embed.FS

// assets are the embedded static files, served under names that carry a
// hash of their content (app.3f2a91c0.css), so that they can be cached for
// a year: a changed file gets a new name.
type assets struct {
	// byName maps the plain name to the hashed one, byHashed the hashed
	// name to the content.
	byName   map[string]string
	byHashed map[string][]byte
}

func loadAssets() *assets {
	a := &assets{byName: map[string]string{}, byHashed: map[string][]byte{}}
	files, err := staticFS.ReadDir("static")
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		b, err := staticFS.ReadFile("static/" + f.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(f.Name())
		hashed := strings.TrimSuffix(f.Name(), ext) + "." + hex.EncodeToString(sum[:4]) + ext
		a.byName[f.Name()], a.byHashed[hashed] = hashed, b
	}
	return a
}

// path is the URL of a static file by its plain name.
func (a *assets) path(name string) string { return "/static/" + a.byName[name] }

// staticRoutes serves the assets. They sit outside browserAuth: the
// sign-in page uses them too, and they hold nothing secret.
func (s *Server) staticRoutes(r chi.Router) {
	a := s.initUI().assets
	r.Get("/static/{file}", func(w http.ResponseWriter, r *http.Request) {
		b, ok := a.byHashed[chi.URLParam(r, "file")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", mime.TypeByExtension(path.Ext(chi.URLParam(r, "file"))))
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(b)
	})
}
