// Command pulumi-language-go is kube-pki's own small Go language host for the Pulumi engine.
//
// Pulumi's Go host lives in a Go module of its own inside the pulumi repository that the Go module proxy does not
// serve, so this one is written for the project: it speaks only the part of the LanguageRuntime gRPC protocol that a
// Go program using kube-pki's component package needs (`pulumi package add <kube-pki>/provider`, then
// `pulumi preview/up/destroy`). README.md in this directory lists the RPCs and why each is there.
//
//   - main.go: serving, Handshake, GetPluginInfo, About, Run (go build, then the binary with the engine's env);
//   - deps.go: GetRequiredPackages / GetRequiredPlugins (pulumi-plugin.json of the go.mod requirements),
//     InstallDependencies (go mod tidy);
//   - sdk.go: GeneratePackage (the Go SDK generator of github.com/pulumi/pulumi/pkg/v3/codegen/go) and Link (a
//     go.mod replace to the generated SDK).
//
// Everything else answers Unimplemented.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/constant"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Version is reported to the engine; set with -ldflags "-X main.Version=3.248.0".
var Version = "3.248.0"

func main() {
	engineAddress := ""
	for _, a := range os.Args[1:] {
		switch {
		case a == "--version" || a == "-version":
			fmt.Println(Version)
			return
		case strings.HasPrefix(a, "-"):
			// -tracing, -root, -binary, -buildTarget ...: accepted and ignored (options come with each request)
		default:
			engineAddress = a // the engine passes its address as the last positional argument
		}
	}
	host := &goHost{stop: make(chan bool)}
	host.setEngine(engineAddress)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: host.stop,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-go: could not start the language host gRPC server: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port) // the engine reads the port from our first line of stdout
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-go: language host stopped serving: %v\n", err)
		os.Exit(1)
	}
}

type goHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	mu            sync.Mutex
	engineAddress string
	// stop, when set, is closed once the engine stops answering health checks (every 10 s) or on SIGINT: the server then
	// stops, so the host never outlives the engine that started it.
	stop     chan bool
	watching bool
}

func (h *goHost) setEngine(addr string) {
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
		fmt.Fprintf(os.Stderr, "pulumi-language-go: cannot watch the engine at %s: %v\n", addr, err)
	}
	go func() {
		<-ctx.Done()
		cancel()
		close(h.stop)
	}()
}

func (h *goHost) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

func (h *goHost) Handshake(
	ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.setEngine(req.GetEngineAddress())
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *goHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version}, nil
}

// About names the go binary and its version (`pulumi about`).
func (h *goHost) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	gobin, err := goBinary()
	if err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, gobin, "env", "GOVERSION").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOVERSION: %w", err)
	}
	return &pulumirpc.AboutResponse{
		Executable: gobin,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "go"),
	}, nil
}

func goBinary() (string, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("could not find go on the $PATH (a Go program is built with it): %w", err)
	}
	return gobin, nil
}

// programDir is the directory of the program's main package: ProgramInfo's, else the older flat fields.
func programDir(info *pulumirpc.ProgramInfo, fallback string) string {
	if info != nil && info.GetProgramDirectory() != "" {
		return info.GetProgramDirectory()
	}
	if fallback != "" {
		return fallback
	}
	wd, _ := os.Getwd()
	return wd
}

// stringOption reads a string runtime option of Pulumi.yaml (runtime.options.<name>).
func stringOption(info *pulumirpc.ProgramInfo, name string) string {
	if info == nil || info.GetOptions() == nil {
		return ""
	}
	if v, ok := info.GetOptions().AsMap()[name].(string); ok {
		return v
	}
	return ""
}

// Run builds the program (or takes runtime.options.binary) and runs it with the engine's run parameters in the
// environment variables the pulumi Go SDK reads (pulumi.Run). Exit code 32 means the program already reported
// its error to the engine: the engine is told to bail without another message.
func (h *goHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	dir := programDir(req.GetInfo(), req.GetPwd())
	bin := ""
	if b := stringOption(req.GetInfo(), "binary"); b != "" {
		if !filepath.IsAbs(b) {
			b = filepath.Join(dir, b)
		}
		bin = b
	} else {
		out, cleanup, err := buildProgram(ctx, dir, stringOption(req.GetInfo(), "buildTarget"))
		if err != nil {
			return &pulumirpc.RunResponse{Error: err.Error()}, nil
		}
		defer cleanup()
		bin = out
	}
	env, err := h.runEnv(req)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, req.GetArgs()...)
	cmd.Dir = req.GetPwd()
	if cmd.Dir == "" {
		cmd.Dir = dir
	}
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not start the program %s: %v", bin, err)}, nil
	}
	exited := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done(): // the engine gave up (Ctrl-C): interrupt, then kill if it does not stop
			_ = cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
			}
		case <-exited:
		}
	}()
	err = cmd.Wait()
	close(exited)
	if err == nil {
		return &pulumirpc.RunResponse{}, nil
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if exitErr.ExitCode() == constant.ExitStatusLoggedError {
			return &pulumirpc.RunResponse{Bail: true}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited with non-zero exit code: %d", exitErr.ExitCode())}, nil
	}
	return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited unexpectedly: %v", err)}, nil
}

// buildProgram runs `go build` in dir into target (runtime.options.buildTarget, kept) or into a temporary file that
// the returned cleanup removes. go's own output goes to our stderr, which the engine shows.
func buildProgram(ctx context.Context, dir, target string) (string, func(), error) {
	gobin, err := goBinary()
	if err != nil {
		return "", nil, err
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "*.go")); len(matches) == 0 {
		return "", nil, fmt.Errorf("no .go files in %s: a Go Pulumi program is a main package in the project directory", dir)
	}
	cleanup := func() {}
	if target == "" {
		tmp, err := os.MkdirTemp("", "pulumi-go-program-")
		if err != nil {
			return "", nil, err
		}
		target = filepath.Join(tmp, "program")
		cleanup = func() { _ = os.RemoveAll(tmp) }
	} else if !filepath.IsAbs(target) {
		target = filepath.Join(dir, target)
	}
	cmd := exec.CommandContext(ctx, gobin, "build", "-buildvcs=false", "-trimpath", "-ldflags=-s -w", "-o", target, ".")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("go build in %s failed (its output is above): %w", dir, err)
	}
	return target, cleanup, nil
}

// runEnv is our environment plus the run parameters, under the names of the pulumi Go SDK (sdk/v3/go/pulumi).
func (h *goHost) runEnv(req *pulumirpc.RunRequest) ([]string, error) {
	config := req.GetConfig()
	if config == nil {
		config = map[string]string{}
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return nil, fmt.Errorf("serializing the configuration: %w", err)
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, fmt.Errorf("serializing the secret configuration keys: %w", err)
	}
	env := os.Environ()
	set := func(k, v string) {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	set(pulumi.EnvOrganization, req.GetOrganization())
	set(pulumi.EnvProject, req.GetProject())
	set(pulumi.EnvStack, req.GetStack())
	set(pulumi.EnvPulumiRootDirectory, req.GetInfo().GetRootDirectory())
	set(pulumi.EnvConfig, string(configJSON))
	set(pulumi.EnvConfigSecretKeys, string(secretJSON))
	set(pulumi.EnvDryRun, strconv.FormatBool(req.GetDryRun()))
	set(pulumi.EnvParallel, strconv.Itoa(int(req.GetParallel())))
	set(pulumi.EnvMonitor, req.GetMonitorAddress())
	set(pulumi.EnvEngine, h.engine())
	return env, nil
}
