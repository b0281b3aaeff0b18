// Package hostkit is what kube-pki's own language hosts (tools/pulumi-language-go, tools/pulumi-language-python)
// share: serving the LanguageRuntime gRPC server the way the engine starts a host (flags, the port on the first line
// of stdout, the engine's address), Handshake and GetPluginInfo, stopping once the engine is gone, running a program
// with the engine's exit protocol, writing a generated SDK, and the small ProgramInfo helpers. Each host keeps only
// its language's part. A host embeds Base and calls Main from its main:
//
//	type goHost struct{ hostkit.Base }
//	func main() { hostkit.Main("pulumi-language-go", Version, &goHost{}) }
package hostkit

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Base is the part of a host every language shares; its zero value works (tests): no engine, no watch.
type Base struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	// Name is the host's binary name, for messages; Version what GetPluginInfo reports. Main sets both.
	Name, Version string

	mu            sync.Mutex
	engineAddress string
	// stop, when set, is closed once the engine stops answering health checks (every 10 s) or on SIGINT: the server
	// then stops, so the host never outlives the engine that started it.
	stop     chan bool
	watching bool
}

// Host is a LanguageRuntime server built on Base.
type Host interface {
	pulumirpc.LanguageRuntimeServer
	base() *Base
}

func (b *Base) base() *Base { return b }

// SetEngine records the engine's address and, the first time (when serving), starts watching it.
func (b *Base) SetEngine(addr string) {
	if addr == "" {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.engineAddress = addr
	if b.stop == nil || b.watching {
		return
	}
	b.watching = true
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	if err := rpcutil.Healthcheck(ctx, addr, 10*time.Second, cancel); err != nil {
		fmt.Fprintf(os.Stderr, "%s: cannot watch the engine at %s: %v\n", b.Name, addr, err)
	}
	go func() {
		<-ctx.Done()
		cancel()
		close(b.stop)
	}()
}

// Engine is the engine's address ("" before the engine named it).
func (b *Base) Engine() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.engineAddress
}

// Handshake records the engine's address.
func (b *Base) Handshake(
	ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	b.SetEngine(req.GetEngineAddress())
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

// GetPluginInfo reports the host's version.
func (b *Base) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: b.Version}, nil
}

// Main runs host as the engine starts a language host: `-version` prints version; other flags (-tracing, -root,
// the language's own) are accepted and ignored, since the options come with each request; the last positional
// argument is the engine's address. It serves on a free port, prints the port as the first line of stdout (the
// engine reads it) and returns once the server stops; a failure to serve exits 1.
func Main(name, version string, host Host) {
	b := host.base()
	b.Name, b.Version = name, version
	engineAddress := ""
	for _, a := range os.Args[1:] {
		switch {
		case a == "--version" || a == "-version":
			fmt.Println(version)
			return
		case strings.HasPrefix(a, "-"):
		default:
			engineAddress = a
		}
	}
	b.stop = make(chan bool)
	b.SetEngine(engineAddress)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: b.stop,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: could not start the language host gRPC server: %v\n", name, err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "%s: language host stopped serving: %v\n", name, err)
		os.Exit(1)
	}
}
