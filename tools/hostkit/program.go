package hostkit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/constant"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// RunProgram starts cmd with the host's stdout and stderr (which the engine shows), interrupts it when ctx ends (the
// engine gave up, Ctrl-C) and kills it if it has not stopped 5 s later, and answers the engine: exit 0 is success;
// exit 32 means the program already reported its error to the engine, which is told to bail without another
// message; any other exit is an error naming the code. `what` names the program in a failure to start.
func RunProgram(ctx context.Context, cmd *exec.Cmd, what string) *pulumirpc.RunResponse {
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not start %s: %v", what, err)}
	}
	exited := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
			}
		case <-exited:
		}
	}()
	err := cmd.Wait()
	close(exited)
	if err == nil {
		return &pulumirpc.RunResponse{}
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if exitErr.ExitCode() == constant.ExitStatusLoggedError {
			return &pulumirpc.RunResponse{Bail: true}
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited with non-zero exit code: %d", exitErr.ExitCode())}
	}
	return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited unexpectedly: %v", err)}
}

// WriteFiles writes a generated SDK (relative slash path → content) under dir, in name order, creating
// directories 0755 and files 0644.
func WriteFiles(dir string, files map[string][]byte) error {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		out := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(out, files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// RequiredPlugins is GetRequiredPackages' answer in the older form GetRequiredPlugins returns (for engines that
// still ask it).
func RequiredPlugins(pkgs *pulumirpc.GetRequiredPackagesResponse) *pulumirpc.GetRequiredPluginsResponse {
	resp := &pulumirpc.GetRequiredPluginsResponse{}
	for _, p := range pkgs.GetPackages() {
		resp.Plugins = append(resp.Plugins, &pulumirpc.PluginDependency{
			Name: p.GetName(), Kind: p.GetKind(), Version: p.GetVersion(), Server: p.GetServer(),
		})
	}
	return resp
}

// ProgramDir is the program's directory: ProgramInfo's, else the older flat field (fallback), else the working
// directory.
func ProgramDir(info *pulumirpc.ProgramInfo, fallback string) string {
	if info != nil && info.GetProgramDirectory() != "" {
		return info.GetProgramDirectory()
	}
	if fallback != "" {
		return fallback
	}
	wd, _ := os.Getwd()
	return wd
}

// StringOption reads a string runtime option of Pulumi.yaml (runtime.options.<name>); "" when unset.
func StringOption(info *pulumirpc.ProgramInfo, name string) string {
	if info == nil || info.GetOptions() == nil {
		return ""
	}
	if v, ok := info.GetOptions().AsMap()[name].(string); ok {
		return v
	}
	return ""
}

// WithV is a version with its leading "v" (plugin versions are semver with a v).
func WithV(v string) string {
	if v == "" || strings.HasPrefix(v, "v") {
		return v
	}
	return "v" + v
}
