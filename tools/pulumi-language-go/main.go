// Command pulumi-language-go is kube-pki's own small Go language host for the Pulumi engine.
//
// Pulumi's Go host lives in a Go module of its own inside the pulumi repository that the Go module proxy does not
// serve, so this one is written for the project: it speaks only the part of the LanguageRuntime gRPC protocol that a
// Go program using kube-pki's component package needs (`pulumi package add <kube-pki>/provider`, then
// `pulumi preview/up/destroy`). README.md in this directory lists the RPCs and why each is there.
//
//   - main.go: About, Run (go build, then the binary with the engine's env, through hostkit.RunProgram); serving,
//     Handshake and GetPluginInfo are tools/hostkit's (shared with the Python host);
//   - deps.go: GetRequiredPackages / GetRequiredPlugins (pulumi-plugin.json of the go.mod requirements),
//     InstallDependencies (go mod tidy);
//   - sdk.go: GeneratePackage (the Go SDK generator of github.com/pulumi/pulumi/pkg/v3/codegen/go) and Link (a
//     go.mod replace to the generated SDK).
//
// Everything else answers Unimplemented.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"kube-pki/tools/hostkit"
)

// Version is reported to the engine; set with -ldflags "-X main.Version=3.248.0".
var Version = "3.248.0"

func main() { hostkit.Main("pulumi-language-go", Version, &goHost{}) }

// goHost is the host; hostkit.Base serves it and answers Handshake and GetPluginInfo.
type goHost struct {
	hostkit.Base
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

// Run builds the program (or takes runtime.options.binary) and runs it with the engine's run parameters in the
// environment variables the pulumi Go SDK reads (pulumi.Run). Exit code 32 means the program already reported
// its error to the engine: the engine is told to bail without another message.
func (h *goHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	dir := hostkit.ProgramDir(req.GetInfo(), req.GetPwd())
	bin := ""
	if b := hostkit.StringOption(req.GetInfo(), "binary"); b != "" {
		if !filepath.IsAbs(b) {
			b = filepath.Join(dir, b)
		}
		bin = b
	} else {
		out, cleanup, err := buildProgram(ctx, dir, hostkit.StringOption(req.GetInfo(), "buildTarget"))
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
	return hostkit.RunProgram(ctx, cmd, "the program "+bin), nil
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
	configJSON, secretJSON, err := hostkit.RunConfig(req)
	if err != nil {
		return nil, err
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
	set(pulumi.EnvConfig, configJSON)
	set(pulumi.EnvConfigSecretKeys, secretJSON)
	set(pulumi.EnvDryRun, strconv.FormatBool(req.GetDryRun()))
	set(pulumi.EnvParallel, strconv.Itoa(int(req.GetParallel())))
	set(pulumi.EnvMonitor, req.GetMonitorAddress())
	set(pulumi.EnvEngine, h.Engine())
	return env, nil
}
