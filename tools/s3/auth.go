package main

import (
	"fmt"
	"net/http"
	"strings"
)

// accessKeyOf returns the access key id a request is signed with: the first part of the SigV4 credential scope
// (`Credential=<id>/<date>/<region>/s3/aws4_request` in the Authorization header, or the presigned X-Amz-Credential
// query parameter), or the id of a SigV2 `AWS <id>:<signature>` header; "" for an unsigned request.
func accessKeyOf(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	if rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 "); ok {
		for _, part := range strings.Split(rest, ",") {
			if cred, ok := strings.CutPrefix(strings.TrimSpace(part), "Credential="); ok {
				id, _, _ := strings.Cut(cred, "/")
				return id
			}
		}
		return ""
	}
	if rest, ok := strings.CutPrefix(auth, "AWS "); ok {
		id, _, _ := strings.Cut(rest, ":")
		return id
	}
	if cred := r.URL.Query().Get("X-Amz-Credential"); cred != "" {
		id, _, _ := strings.Cut(cred, "/")
		return id
	}
	return ""
}

// requireAccessKey refuses (403, S3's AccessDenied error document) every request not signed with the access key id
// want; with want "" every request passes. It checks who the client says it is, not the signature.
func requireAccessKey(want string, next http.Handler) http.Handler {
	if want == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := accessKeyOf(r)
		if got == want {
			next.ServeHTTP(w, r)
			return
		}
		msg := "the request is not signed"
		if got != "" {
			msg = fmt.Sprintf("access key id %q is not the one this server accepts", got)
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
			`<Error><Code>AccessDenied</Code><Message>%s</Message><Resource>%s</Resource></Error>`, xmlEscape(msg), xmlEscape(r.URL.Path))
	})
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(s)
}
