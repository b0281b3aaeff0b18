package main

// Run and RunPlugin: the program, a Node.js resource plugin or a policy pack, as @pulumi/pulumi's run scripts expect.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

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
