// Command pulumi-language-python is kube-pki's own small Python language host for the Pulumi engine.
//
// Pulumi's Python host lives in a Go module of its own inside the pulumi repository that the Go module proxy does
// not serve, so this one is written for the project: it speaks only the part of the LanguageRuntime gRPC protocol a
// Python program using kube-pki's component package needs (`pulumi package add <kube-pki>/provider`, then
// `pulumi preview/up/destroy`). README.md in this directory lists the RPCs and why each is there.
//
//   - main.go: serving, Handshake, GetPluginInfo, About;
//   - run.go: Run (the program through runner.py, our entry into the pulumi Python SDK, with the virtualenv's python);
//   - deps.go: GetRequiredPackages / GetRequiredPlugins (pulumi-plugin.json files of the virtualenv's packages),
//     InstallDependencies (the virtualenv, then pip install -r requirements.txt);
//   - sdk.go: GeneratePackage (the Python SDK generator of github.com/pulumi/pulumi/pkg/v3/codegen/python) and Link
//     (the generated SDK's path in requirements.txt).
//
// Everything else answers Unimplemented.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Version is reported to the engine; set with -ldflags "-X main.Version=v3.248.0".
var Version = "v3.248.0"

func main() {
	engineAddress := ""
	for _, a := range os.Args[1:] {
		switch {
		case a == "--version" || a == "-version":
			fmt.Println(Version)
			return
		case strings.HasPrefix(a, "-"):
			// -tracing, -root, -virtualenv ...: accepted and ignored (the options come with each request)
		default:
			engineAddress = a // the engine passes its address as the last positional argument
		}
	}
	host := &pyHost{stop: make(chan bool)}
	host.setEngine(engineAddress)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: host.stop,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: could not start the language host gRPC server: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port) // the engine reads the port from our first line of stdout
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: language host stopped serving: %v\n", err)
		os.Exit(1)
	}
}

type pyHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	mu            sync.Mutex
	engineAddress string
	// stop, when set, is closed once the engine stops answering health checks (every 10 s) or on SIGINT: the server
	// then stops, so the host never outlives the engine that started it.
	stop     chan bool
	watching bool
}

func (h *pyHost) setEngine(addr string) {
	if addr == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.engineAddress = addr
	if h.stop == nil || h.watching {
		return
	}
	h.watching = true
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	if err := rpcutil.Healthcheck(ctx, addr, 10*time.Second, cancel); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: cannot watch the engine at %s: %v\n", addr, err)
	}
	go func() {
		<-ctx.Done()
		cancel()
		close(h.stop)
	}()
}

func (h *pyHost) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

func (h *pyHost) Handshake(
	ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.setEngine(req.GetEngineAddress())
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *pyHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version}, nil
}

// About names the program's python and its version (`pulumi about`).
func (h *pyHost) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	py, err := pythonFor(req.GetInfo())
	if err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, py, "-c", "import platform; print(platform.python_version())").Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", py, err)
	}
	return &pulumirpc.AboutResponse{Executable: py, Version: strings.TrimSpace(string(out))}, nil
}
