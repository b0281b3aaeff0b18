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

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/mod/modfile"

	"kube-pki/tools/hostkit"
)

// goModule is the part of `go list -m -json` / `go mod download -json` output used here.
type goModule struct {
	Path    string
	Version string
	Dir     string
	Replace *goModule
}

// dir is where the module's files are: its own Dir, or its replacement's (a local `replace` has only that).
func (m goModule) dir() string {
	if m.Dir != "" {
		return m.Dir
	}
	if m.Replace != nil {
		return m.Replace.Dir
	}
	return ""
}

// pluginJSON is pulumi-plugin.json as the SDK generators write it next to a package's Go sources.
type pluginJSON struct {
	Resource         bool   `json:"resource"`
	Name             string `json:"name"`
	Version          string `json:"version"`
	Server           string `json:"server"`
	Parameterization *struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Value   []byte `json:"value"`
	} `json:"parameterization"`
}

// readGoMod parses dir/go.mod.
func readGoMod(dir string) (*modfile.File, error) {
	path := filepath.Join(dir, "go.mod")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return modfile.Parse(path, data, nil)
}

// goJSON runs a go command whose -json output is a stream of objects and decodes them.
func goJSON(ctx context.Context, dir string, args ...string) ([]goModule, error) {
	gobin, err := goBinary()
	if err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, gobin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go %s in %s: %w: %s", strings.Join(args, " "), dir, err, strings.TrimSpace(stderr.String()))
	}
	var mods []goModule
	for dec := json.NewDecoder(&stdout); ; {
		var m goModule
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return mods, nil
		} else if err != nil {
			return nil, fmt.Errorf("decoding go %s: %w", strings.Join(args, " "), err)
		}
		mods = append(mods, m)
	}
}

// requiredModules locates the modules the program's go.mod requires, downloading those not in the module cache.
func requiredModules(ctx context.Context, dir string) ([]goModule, error) {
	gomod, err := readGoMod(dir)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, r := range gomod.Require {
		paths = append(paths, r.Mod.Path)
	}
	if len(paths) == 0 {
		return nil, nil
	}
	mods, err := goJSON(ctx, dir, append([]string{"list", "-m", "-json"}, paths...)...)
	if err != nil {
		return nil, err
	}
	var located, missing []goModule
	for _, m := range mods {
		if m.dir() != "" {
			located = append(located, m)
		} else {
			missing = append(missing, m)
		}
	}
	if len(missing) > 0 {
		args := []string{"mod", "download", "-json"}
		for _, m := range missing {
			args = append(args, m.Path+"@"+m.Version)
		}
		downloaded, err := goJSON(ctx, dir, args...)
		if err != nil {
			return nil, err
		}
		located = append(located, downloaded...)
	}
	return located, nil
}

// packageOf finds the module's pulumi-plugin.json (in its root, go/, or one directory below either, which is where
// the Go SDK generator puts it) and returns the resource package it names, or nil.
func packageOf(m goModule) (*pulumirpc.PackageDependency, error) {
	root := m.dir()
	var candidates []string
	for _, pattern := range []string{"pulumi-plugin.json", "*/pulumi-plugin.json", "go/pulumi-plugin.json", "go/*/pulumi-plugin.json"} {
		found, _ := filepath.Glob(filepath.Join(root, pattern))
		sort.Strings(found)
		candidates = append(candidates, found...)
	}
	for _, path := range candidates {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		var p pluginJSON
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("parsing %s: %w", path, err)
		}
		if !p.Resource {
			continue
		}
		name, version := p.Name, p.Version
		if name == "" { // github.com/pulumi/pulumi-<name>/sdk/vN
			name = strings.TrimPrefix(strings.Split(strings.TrimPrefix(m.Path, "github.com/pulumi/"), "/")[0], "pulumi-")
		}
		if version == "" {
			version = m.Version
		}
		dep := &pulumirpc.PackageDependency{Kind: "resource", Name: name, Version: hostkit.WithV(version), Server: p.Server}
		if p.Parameterization != nil {
			dep.Parameterization = &pulumirpc.PackageParameterization{
				Name: p.Parameterization.Name, Version: hostkit.WithV(p.Parameterization.Version), Value: p.Parameterization.Value,
			}
		}
		return dep, nil
	}
	return nil, nil
}

// GetRequiredPackages names the resource packages of the modules the program's go.mod requires (those that ship a
// pulumi-plugin.json), e.g. kube-pki from the SDK `pulumi package add` generated and linked. Like the engine's own
// hosts it is lenient: a program it cannot inspect (no go.mod, modules unresolvable) requires nothing, and the
// engine loads each provider when the program first uses it.
func (h *goHost) GetRequiredPackages(
	ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	resp := &pulumirpc.GetRequiredPackagesResponse{}
	mods, err := requiredModules(ctx, hostkit.ProgramDir(req.GetInfo(), ""))
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-go: no required packages: %v\n", err)
		return resp, nil
	}
	for _, m := range mods {
		dep, err := packageOf(m)
		if err != nil {
			return nil, err
		}
		if dep != nil {
			resp.Packages = append(resp.Packages, dep)
		}
	}
	return resp, nil
}

// GetRequiredPlugins is the older form of GetRequiredPackages, for engines that still ask it.
func (h *goHost) GetRequiredPlugins(
	ctx context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return hostkit.RequiredPluginsOf(ctx, req, h.GetRequiredPackages)
}

// InstallDependencies runs `go mod tidy` in the program directory (after `pulumi package add` linked an SDK, and for
// `pulumi install`), streaming its output to the engine.
func (h *goHost) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest, server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()
	gobin, err := goBinary()
	if err != nil {
		return err
	}
	dir := hostkit.ProgramDir(req.GetInfo(), req.GetDirectory()) //nolint:staticcheck // older engines send Directory
	fmt.Fprintf(stdout, "go mod tidy in %s\n", dir)
	cmd := exec.CommandContext(server.Context(), gobin, "mod", "tidy")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go mod tidy in %s failed: %w", dir, err)
	}
	return closer.Close()
}
