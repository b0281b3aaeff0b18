package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestParseServeFlagsRefusesNonLoopbackAndBadBuckets(t *testing.T) {
	for _, args := range [][]string{
		{"-bucket", "state", "-listen", "0.0.0.0:9000"},
		{"-bucket", "state", "-listen", "example.com:9000"},
		{"-bucket", "Not_A_Bucket"},
		{"-listen", "127.0.0.1:0"},
	} {
		if _, err := parseServeFlags(args, io.Discard); err == nil {
			t.Errorf("parseServeFlags(%q) accepted", args)
		}
	}
	f, err := parseServeFlags([]string{"-bucket", "kube-pki-state", "-listen", "[::1]:0"}, io.Discard)
	if err != nil || f.bucket != "kube-pki-state" || f.listen != "[::1]:0" {
		t.Fatalf("got %+v, %v", f, err)
	}
}

func TestAccessKeyOf(t *testing.T) {
	cases := map[string]string{
		"AWS4-HMAC-SHA256 Credential=AKIDKUBEPKI/20300101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00": "AKIDKUBEPKI",
		"AWS OLDKEY:c2ln": "OLDKEY",
		"":                "",
	}
	for header, want := range cases {
		r, _ := http.NewRequest("GET", "http://127.0.0.1/b/k", nil)
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		if got := accessKeyOf(r); got != want {
			t.Errorf("accessKeyOf(%q) = %q, want %q", header, got, want)
		}
	}
	r, _ := http.NewRequest("GET", "http://127.0.0.1/b/k?X-Amz-Credential=PRESIGNED%2F20300101%2Fus-east-1%2Fs3%2Faws4_request", nil)
	if got := accessKeyOf(r); got != "PRESIGNED" {
		t.Errorf("presigned: got %q", got)
	}
}

// A real server on a loopback port: objects round-trip in the bucket it created, requests signed with another
// access key (or none) are refused, and it stops when its context ends.
func TestServeRoundTripAndAccessKey(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, serveFlags{listen: "127.0.0.1:0", bucket: "kube-pki-state", accessKeyID: "AKIDKUBEPKI"}, pw)
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "s3: serving bucket kube-pki-state on ")
	if !ok {
		t.Fatalf("ready line: %q", line)
	}
	do := func(method, path, key, body string) (int, string) {
		r, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if key != "" {
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+key+"/20300101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00")
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := do("PUT", "/kube-pki-state/.pulumi/meta.yaml", "AKIDKUBEPKI", "version: 1\n"); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	if code, body := do("GET", "/kube-pki-state/.pulumi/meta.yaml", "AKIDKUBEPKI", ""); code != 200 || body != "version: 1\n" {
		t.Fatalf("GET: %d %q", code, body)
	}
	// An overwrite replaces the object and its metadata, as S3 does: a PUT without a checksum header leaves no stale
	// checksum behind (s3mem alone kept it, and every later GET failed the AWS SDK's checksum validation).
	r, _ := http.NewRequest("PUT", base+"/kube-pki-state/stack.json", strings.NewReader("one"))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDKUBEPKI/20300101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00")
	r.Header.Set("X-Amz-Checksum-Crc32", "eqK3zA==")
	if resp, err := http.DefaultClient.Do(r); err != nil || resp.StatusCode != 200 {
		t.Fatalf("PUT with checksum: %v %v", resp, err)
	}
	if code, body := do("PUT", "/kube-pki-state/stack.json", "AKIDKUBEPKI", "two"); code != 200 {
		t.Fatalf("overwrite: %d %s", code, body)
	}
	r, _ = http.NewRequest("GET", base+"/kube-pki-state/stack.json", nil)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDKUBEPKI/20300101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != "two" || resp.Header.Get("X-Amz-Checksum-Crc32") != "" {
		t.Fatalf("after overwrite: body %q, x-amz-checksum-crc32 %q (stale)", got, resp.Header.Get("X-Amz-Checksum-Crc32"))
	}
	r, _ = http.NewRequest("PUT", base+"/kube-pki-state/stack.json", strings.NewReader("three"))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDKUBEPKI/20300101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00")
	r.Header.Set("If-None-Match", "*")
	if resp, err := http.DefaultClient.Do(r); err != nil || resp.StatusCode != 412 {
		t.Fatalf("conditional PUT over an existing object: %v %v", resp, err)
	}
	if code, body := do("GET", "/kube-pki-state/stack.json", "AKIDKUBEPKI", ""); code != 200 || body != "two" {
		t.Fatalf("after the refused conditional PUT: %d %q", code, body)
	}
	if code, body := do("GET", "/kube-pki-state/.pulumi/meta.yaml", "SOMEONEELSE", ""); code != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") || strings.Contains(body, "version: 1") {
		t.Fatalf("other key: %d %q", code, body)
	}
	if code, _ := do("GET", "/kube-pki-state/.pulumi/meta.yaml", "", ""); code != 403 {
		t.Fatalf("unsigned: %d", code)
	}
	if code, body := do("GET", "/no-such-bucket/x", "AKIDKUBEPKI", ""); code != 404 || !strings.Contains(body, "NoSuchBucket") {
		t.Fatalf("missing bucket: %d %q", code, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve after cancel: %v", err)
	}
}
