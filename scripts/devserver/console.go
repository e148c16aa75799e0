package main

import (
	"encoding/json"
	"net/http"
	"time"

	"example.com/billing/shared/httpx"
	"example.com/billing/shared/testsupport/devauth"
)

// consoleHandler serves the reference console page (plain files from dir)
// on its own origin, as a console would be: every call it makes to the
// functions crosses origins. Besides the files it serves /config.json
// (where the functions are) and POST /dev/token, the local stand-in for the
// console's sign-in: a token from the local issuer (iss nil: none
// configured, so the page asks for a token instead).
func consoleHandler(dir, functionsURL string, iss *devauth.TokenIssuer) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServer(http.Dir(dir)))
	mux.HandleFunc("GET /config.json", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"functionsUrl": functionsURL, "devSignIn": iss != nil})
	})
	mux.HandleFunc("POST /dev/token", func(w http.ResponseWriter, r *http.Request) {
		if iss == nil {
			httpx.WriteError(w, r, httpx.Errorf(http.StatusNotFound, "no_local_issuer", "The local token issuer is off (a real AUTH_JWKS_URL is set); paste a token from your issuer instead."))
			return
		}
		var req struct {
			UserID string `json:"userId"`
			Email  string `json:"email"`
		}
		if err := httpx.DecodeJSON(w, r, &req); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		if req.UserID == "" {
			httpx.WriteError(w, r, httpx.Errorf(http.StatusBadRequest, "invalid_request", "userId is required."))
			return
		}
		tok, err := iss.Mint(devauth.Claims{Subject: req.UserID, Email: req.Email, Expiry: time.Now().Add(12 * time.Hour)})
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"token": tok})
	})
	return mux
}
