package web

import "github.com/go-chi/chi/v5"

// uiRoutes mounts the dashboard's pages (see session.go for sign-in).
func (s *Server) uiRoutes(r chi.Router) {}
