// Command s3 is kube-pki's small S3-compatible server, a test tool for the S3 backend proof (test/backends-s3.spec.ts),
// never shipped. It serves github.com/johannesboyne/gofakes3 with its in-memory backend on a loopback address, with
// one bucket created at start, so that `pulumi login s3://<bucket>?endpoint=http://127.0.0.1:<port>&use_path_style=true`
// has a real S3 API (SigV4-signed requests from the CLI's AWS SDK v2, path-style bucket addressing) to talk to.
//
//	s3 serve -bucket <name> [-listen 127.0.0.1:0] [-access-key-id <id>]
//	s3 version
//
// Once the listener is bound it prints one line to stdout, `s3: serving bucket <name> on http://<host:port>`, which
// is how a caller that asked for port 0 learns the port. With -access-key-id, a request whose credential scope
// (Authorization header or presigned X-Amz-Credential) names another access key, or none, is refused with 403
// AccessDenied: the proof that the client sends the credentials from its environment. Signatures are not verified
// (gofakes3 does not, and this is a loopback test server), so this is no access control. The secret key is never a
// flag: nothing secret is in this process's arguments. Everything is in memory and gone when the process exits
// (SIGINT or SIGTERM shut it down cleanly).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/johannesboyne/gofakes3"
)

const usage = "usage: s3 serve -bucket <name> [-listen 127.0.0.1:0] [-access-key-id <id>] | s3 version"

// Version is the gofakes3 module version this binary was built from (read from the build info when not linked in).
var Version = ""

type serveFlags struct {
	listen, bucket, accessKeyID string
}

func parseServeFlags(args []string, stderr io.Writer) (serveFlags, error) {
	var f serveFlags
	fs := flag.NewFlagSet("s3 serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.listen, "listen", "127.0.0.1:0", "loopback host:port to listen on (port 0: any free port)")
	fs.StringVar(&f.bucket, "bucket", "", "the bucket to create at start (required)")
	fs.StringVar(&f.accessKeyID, "access-key-id", "", "refuse requests signed with any other access key id")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if f.bucket == "" {
		return f, errors.New("-bucket is required")
	}
	if err := gofakes3.ValidateBucketName(f.bucket); err != nil {
		return f, fmt.Errorf("-bucket %q: %v", f.bucket, err)
	}
	host, _, err := net.SplitHostPort(f.listen)
	if err != nil {
		return f, fmt.Errorf("-listen %q: %w", f.listen, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return f, fmt.Errorf("-listen %q: this test server listens on a loopback IP only", f.listen)
	}
	return f, nil
}

func moduleVersion() string {
	if Version != "" {
		return Version
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			if m.Path == "github.com/johannesboyne/gofakes3" {
				return m.Version
			}
		}
	}
	return "unknown"
}

// newHandler is the S3 API over a fresh in-memory store (store.go) holding one empty bucket.
func newHandler(f serveFlags) (http.Handler, error) {
	store := newReplacingStore()
	if err := store.CreateBucket(f.bucket); err != nil {
		return nil, fmt.Errorf("creating bucket %q: %w", f.bucket, err)
	}
	// WithoutVersioning: the CLI's state needs none, and unversioned objects keep a long test's memory flat.
	api := gofakes3.New(store, gofakes3.WithoutVersioning(), gofakes3.WithLogger(gofakes3.DiscardLog()))
	return requireAccessKey(f.accessKeyID, api.Server()), nil
}

func serve(ctx context.Context, f serveFlags, stdout io.Writer) error {
	handler, err := newHandler(f)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 30 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "s3: serving bucket %s on http://%s\n", f.bucket, ln.Addr())
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "version", "-version", "--version":
		fmt.Printf("gofakes3 %s\n", moduleVersion())
	case "serve":
		f, err := parseServeFlags(os.Args[2:], os.Stderr)
		if err != nil {
			fmt.Fprintf(os.Stderr, "s3: %v\n%s\n", err, usage)
			os.Exit(2)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := serve(ctx, f, os.Stdout); err != nil {
			fmt.Fprintf(os.Stderr, "s3: %v\n", err)
			os.Exit(1)
		}
	default:
		fmt.Fprintf(os.Stderr, "s3: unknown command %q\n%s\n", os.Args[1], usage)
		os.Exit(2)
	}
}
