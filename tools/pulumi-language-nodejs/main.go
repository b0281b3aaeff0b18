// Command pulumi-language-nodejs is a small Node.js language host for the Pulumi engine, written for
// kube-pki's live end-to-end suite.
//
// Why it exists: the upstream language host lives in its own Go module inside the pulumi repository
// (sdk/nodejs/cmd/pulumi-language-nodejs) that is not published on the Go module proxy, so it cannot be
// built from modules here. This host implements the part of the LanguageRuntime gRPC protocol that
// `pulumi preview/up/destroy/refresh` and the Automation API's local (non-inline) workspaces use:
//
//   - Run: spawns `node <node_modules/@pulumi/pulumi/cmd/run> --monitor ... <program>` with PULUMI_CONFIG,
//     PULUMI_CONFIG_SECRET_KEYS and PULUMI_NODEJS_* set the way @pulumi/pulumi's run script reads them;
//   - GetRequiredPackages / GetRequiredPlugins: the resource plugins named by the pulumi-enabled packages in
//     node_modules (package.json "pulumi": {"resource": true}), so the engine loads e.g. pulumi-resource-tls;
//   - GetPluginInfo, About, GetProgramDependencies, InstallDependencies (npm install), Handshake,
//     RuntimeOptionsPrompts;
//   - RunPlugin: a Node.js resource plugin from source (a PulumiPlugin.yaml with `runtime: nodejs`, e.g. kube-pki's
//     component package in provider/, served by @pulumi/pulumi's componentProviderHost): `node <cmd/run-plugin>
//     <plugin dir> <args>` with the engine's environment, its output streamed back (the port on stdout); and a
//     CrossGuard policy pack (kind "analyzer", a PulumiPolicy.yaml with `runtime: nodejs`, e.g. kube-pki's policy/):
//     `node <cmd/run-policy-pack> --pwd=<pack dir> <engine address> <pack dir>`, from the pack's own node_modules.
//
// Everything else (code generation, packing SDKs) answers Unimplemented.
//
// Environment knobs (all optional):
//
//	PULUMI_LANGUAGE_NODEJS_RUN_PATH          path of @pulumi/pulumi's cmd/run (default: searched upwards from the program)
//	KUBE_PKI_LANGHOST_SKIP_REQUIRED_PLUGINS  "true": report no required plugins; the engine then loads each provider
//	                                         lazily when the program first registers one of its resources.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Version is reported to the engine; set with -ldflags "-X main.Version=3.248.0".
var Version = "3.248.0"

// bailExitCode is the exit code @pulumi/pulumi's cmd/run uses after it has already logged a user-actionable error
// (nodeJSProcessExitedAfterLoggingUserActionableMessage); the engine is then told to bail without another message.
const bailExitCode = 32

func main() {
	engineAddress := ""
	for _, a := range os.Args[1:] {
		switch {
		case a == "--version" || a == "-version":
			fmt.Println(Version)
			return
		case strings.HasPrefix(a, "-"):
			// Flags the upstream host accepts (-tracing, -root, -typescript, ...) are accepted and ignored here.
		default:
			engineAddress = a // the engine passes its address as the last positional argument
		}
	}

	host := &nodeHost{engineAddress: engineAddress}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: could not start the language host gRPC server: %v\n", err)
		os.Exit(1)
	}
	// The engine reads the port from our first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: language host stopped serving: %v\n", err)
		os.Exit(1)
	}
}

type nodeHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string
}

// programInfo pulls the root directory, program directory, entry point and runtime options out of a request,
// falling back to the older flat fields.
type programInfo struct {
	root, dir, entry string
	options          map[string]any
}

func infoFrom(info *pulumirpc.ProgramInfo, pwd, program string) programInfo {
	p := programInfo{dir: pwd, entry: program, options: map[string]any{}}
	if info != nil {
		if info.ProgramDirectory != "" {
			p.dir = info.ProgramDirectory
		}
		if info.RootDirectory != "" {
			p.root = info.RootDirectory
		}
		if info.EntryPoint != "" {
			p.entry = info.EntryPoint
		}
		if info.Options != nil {
			p.options = info.Options.AsMap()
		}
	}
	if p.dir == "" {
		p.dir, _ = os.Getwd()
	}
	if p.root == "" {
		p.root = p.dir
	}
	if p.entry == "" {
		p.entry = "."
	}
	return p
}

func (p programInfo) option(name string) (any, bool) {
	v, ok := p.options[name]
	return v, ok
}

// findUp looks for rel in dir and each of its parents, like Node's module resolution does for node_modules.
func findUp(dir, rel string) (string, bool) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	for {
		candidate := filepath.Join(dir, rel)
		if _, err := os.Stat(candidate); err == nil {
			return candidate, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

func (h *nodeHost) runPath(dir string) (string, error) {
	if p := os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH"); p != "" {
		return p, nil
	}
	if p, ok := findUp(dir, filepath.Join("node_modules", "@pulumi", "pulumi", "cmd", "run")); ok {
		return p, nil
	}
	return "", errors.New("it looks like the Pulumi SDK has not been installed: no node_modules/@pulumi/pulumi/cmd/run " +
		"above " + dir + "; have you run npm install?")
}

// Run executes the Node.js program through @pulumi/pulumi's cmd/run script.
func (h *nodeHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	p := infoFrom(req.GetInfo(), req.GetPwd(), req.GetProgram())
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	runPath, err := h.runPath(p.dir)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	var args []string
	if v, ok := p.option("nodeargs"); ok {
		if s, ok := v.(string); ok {
			args = append(args, strings.Fields(s)...)
		}
	}
	args = append(args, runPath)
	add := func(flag, value string) {
		if value != "" {
			args = append(args, "--"+flag, value)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", h.engineAddress)
	add("organization", req.GetOrganization())
	add("project", req.GetProject())
	add("stack", req.GetStack())
	add("pwd", req.GetPwd())
	add("root-directory", p.root)
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	if req.GetParallel() > 0 {
		add("parallel", fmt.Sprint(req.GetParallel()))
	}
	entry := p.entry
	if !filepath.IsAbs(entry) {
		entry = filepath.Join(p.dir, entry)
	}
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	configJSON, err := json.Marshal(orEmpty(req.GetConfig()))
	if err != nil {
		return nil, fmt.Errorf("failed to serialize configuration: %w", err)
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, fmt.Errorf("failed to serialize secret configuration keys: %w", err)
	}

	env := append(os.Environ(),
		"PULUMI_CONFIG="+string(configJSON),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretJSON),
	)
	typescript := true
	if v, ok := p.option("typescript"); ok {
		if b, ok := v.(bool); ok {
			typescript = b
		}
	}
	env = append(env, fmt.Sprintf("PULUMI_NODEJS_TYPESCRIPT=%t", typescript))
	if v, ok := p.option("tsconfig"); ok {
		if s, ok := v.(string); ok && s != "" {
			env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+s)
		}
	}

	cmd := exec.Command(nodeBin, args...)
	cmd.Dir = p.dir
	cmd.Env = env
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("problem executing program (could not run node): %w", err)
	}
	waitDone := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = cmd.Process.Signal(syscall.SIGINT)
		case <-waitDone:
		}
	}()
	err = cmd.Wait()
	close(waitDone)
	if err == nil {
		return &pulumirpc.RunResponse{}, nil
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if exitErr.ExitCode() == bailExitCode {
			return &pulumirpc.RunResponse{Bail: true}, nil
		}
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode()),
		}, nil
	}
	return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited unexpectedly: %v", err)}, nil
}

// RunPlugin runs a Node.js plugin from its source directory, as the upstream host does: @pulumi/pulumi's run-plugin
// script with the plugin directory as the program (package.json `main` is the entry point) and the engine's
// arguments after it. The plugin prints its port on stdout, which is streamed back to the engine.
func (h *nodeHost) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	kind := req.GetKind()
	if kind != "" && kind != "resource" && kind != "analyzer" {
		return status.Errorf(codes.Unimplemented, "pulumi-language-nodejs (kube-pki): %s plugins are not supported", kind)
	}
	p := infoFrom(req.GetInfo(), req.GetPwd(), req.GetProgram()) //nolint:staticcheck // older engines
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	// @pulumi/pulumi's cmd/run-plugin (not cmd/run, which wants an engine monitor), or cmd/run-policy-pack for a
	// policy pack, from the plugin's own node_modules
	script := "run-plugin"
	if kind == "analyzer" {
		script = "run-policy-pack"
	}
	runPath, ok := findUp(p.dir, filepath.Join("node_modules", "@pulumi", "pulumi", "cmd", script))
	if !ok {
		return fmt.Errorf("no node_modules/@pulumi/pulumi/cmd/%s above %s: run npm install there", script, p.dir)
	}
	env := req.GetEnv()
	if v, ok := p.option("typescript"); ok {
		if b, ok := v.(bool); ok && b {
			env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
		}
	}
	if v, ok := p.option("tsconfig"); ok {
		if s, ok := v.(string); ok && s != "" {
			env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+s)
		}
	}
	args := append([]string{runPath, p.dir}, req.GetArgs()...)
	if kind == "analyzer" {
		// run-policy-pack <engine address> <program>; the engine passes its address as the only argument. The pack
		// runs in its own directory (the engine's pwd is the program's), so that its tsconfig.json is the one
		// ts-node reads, like the pulumi-analyzer-policy shim that older engines start there.
		args = append(append([]string{runPath, "--pwd=" + p.dir}, req.GetArgs()...), p.dir)
	}
	cmd := exec.CommandContext(server.Context(), nodeBin, args...)
	cmd.Dir = req.GetPwd()
	if cmd.Dir == "" || kind == "analyzer" {
		cmd.Dir = p.dir
	}
	cmd.Env = env
	// Wrapped writers: exec copies through goroutines, so node's non-blocking stdio never reaches ours.
	cmd.Stdout = struct{ io.Writer }{stdout}
	cmd.Stderr = struct{ io.Writer }{stderr}
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return fmt.Errorf("plugin %s exited with code %d", req.GetName(), exitErr.ExitCode())
		}
		return fmt.Errorf("could not run plugin %s: %w", req.GetName(), err)
	}
	return closer.Close()
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// isDir follows symlinks (npm workspaces and `npm link` put symlinks in node_modules).
func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

type pulumiPackage struct {
	name, version, server string
}

type packageJSON struct {
	Name            string            `json:"name"`
	Version         string            `json:"version"`
	Dependencies    map[string]string `json:"dependencies"`
	DevDependencies map[string]string `json:"devDependencies"`
	Pulumi          struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	} `json:"pulumi"`
}

func readPackageJSON(path string) (*packageJSON, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pj packageJSON
	if err := json.Unmarshal(b, &pj); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	return &pj, nil
}

// requiredPackages walks the node_modules directories above the program (top-level packages and @scope/*
// packages, which is where npm hoists them) and returns the Pulumi resource packages found there.
func requiredPackages(dir string) ([]pulumiPackage, error) {
	if os.Getenv("KUBE_PKI_LANGHOST_SKIP_REQUIRED_PLUGINS") == "true" {
		return nil, nil
	}
	nm, ok := findUp(dir, "node_modules")
	if !ok {
		return nil, nil
	}
	seen := map[string]pulumiPackage{}
	var visit func(pkgDir string) error
	visit = func(pkgDir string) error {
		pj, err := readPackageJSON(filepath.Join(pkgDir, "package.json"))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if !pj.Pulumi.Resource {
			return nil
		}
		name := pj.Pulumi.Name
		if name == "" {
			name = pj.Name
			switch {
			case strings.HasPrefix(name, "@pulumi/"):
				name = strings.TrimPrefix(name, "@pulumi/")
			case strings.HasPrefix(name, "@"):
				name = strings.TrimPrefix(name, "@")
			}
		}
		version := pj.Pulumi.Version
		if version == "" {
			version = pj.Version
		}
		if version != "" && !strings.HasPrefix(version, "v") {
			version = "v" + version
		}
		seen[name+"@"+version] = pulumiPackage{name: name, version: version, server: pj.Pulumi.Server}
		return nil
	}
	entries, err := os.ReadDir(nm)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", nm, err)
	}
	for _, e := range entries {
		path := filepath.Join(nm, e.Name())
		if strings.HasPrefix(e.Name(), ".") || !isDir(path) {
			continue // .bin, .package-lock.json, stray files
		}
		if strings.HasPrefix(e.Name(), "@") {
			scoped, err := os.ReadDir(path)
			if err != nil {
				continue
			}
			for _, s := range scoped {
				if !isDir(filepath.Join(path, s.Name())) {
					continue
				}
				if err := visit(filepath.Join(path, s.Name())); err != nil {
					return nil, err
				}
			}
			continue
		}
		if err := visit(path); err != nil {
			return nil, err
		}
	}
	out := make([]pulumiPackage, 0, len(seen))
	for _, p := range seen {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

func (h *nodeHost) GetRequiredPackages(
	ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	p := infoFrom(req.GetInfo(), "", "")
	pkgs, err := requiredPackages(p.dir)
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetRequiredPackagesResponse{}
	for _, pkg := range pkgs {
		resp.Packages = append(resp.Packages, &pulumirpc.PackageDependency{
			Name: pkg.name, Kind: "resource", Version: pkg.version, Server: pkg.server,
		})
	}
	return resp, nil
}

func (h *nodeHost) GetRequiredPlugins(
	ctx context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	p := infoFrom(req.GetInfo(), req.GetPwd(), req.GetProgram()) //nolint:staticcheck // older engines
	pkgs, err := requiredPackages(p.dir)
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetRequiredPluginsResponse{}
	for _, pkg := range pkgs {
		resp.Plugins = append(resp.Plugins, &pulumirpc.PluginDependency{
			Name: pkg.name, Kind: "resource", Version: pkg.version, Server: pkg.server,
		})
	}
	return resp, nil
}

func (h *nodeHost) GetPluginInfo(ctx context.Context, _ *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version}, nil
}

func (h *nodeHost) Handshake(
	ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *nodeHost) RuntimeOptionsPrompts(
	ctx context.Context, req *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func (h *nodeHost) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	out, err := exec.Command(nodeBin, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("node --version: %w", err)
	}
	return &pulumirpc.AboutResponse{
		Executable: nodeBin,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "v"),
	}, nil
}

func (h *nodeHost) GetProgramDependencies(
	ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	p := infoFrom(req.GetInfo(), req.GetPwd(), req.GetProgram()) //nolint:staticcheck // older engines
	pj, err := readPackageJSON(filepath.Join(p.dir, "package.json"))
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for n := range pj.Dependencies {
		names[n] = true
	}
	if req.GetTransitiveDependencies() {
		for n := range pj.DevDependencies {
			names[n] = true
		}
	}
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for n := range names {
		version := ""
		if path, ok := findUp(p.dir, filepath.Join("node_modules", n, "package.json")); ok {
			if dep, err := readPackageJSON(path); err == nil {
				version = dep.Version
			}
		}
		resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: n, Version: version})
	}
	sort.Slice(resp.Dependencies, func(i, j int) bool { return resp.Dependencies[i].Name < resp.Dependencies[j].Name })
	return resp, nil
}

// InstallDependencies runs `npm install` in the program directory and streams its output to the engine.
func (h *nodeHost) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest, server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	p := infoFrom(req.GetInfo(), req.GetDirectory(), "") //nolint:staticcheck // older engines
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("could not find npm on the $PATH: %w", err)
	}
	var mu sync.Mutex
	send := func(stdout bool) io.Writer {
		return writerFunc(func(b []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			msg := &pulumirpc.InstallDependenciesResponse{}
			if stdout {
				msg.Stdout = bytes.Clone(b)
			} else {
				msg.Stderr = bytes.Clone(b)
			}
			return len(b), server.Send(msg)
		})
	}
	cmd := exec.CommandContext(server.Context(), npm, "install", "--no-audit", "--no-fund")
	cmd.Dir = p.dir
	cmd.Stdout = send(true)
	cmd.Stderr = send(false)
	if err := cmd.Run(); err != nil {
		return status.Errorf(codes.Unknown, "npm install in %s failed: %v", p.dir, err)
	}
	return nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
