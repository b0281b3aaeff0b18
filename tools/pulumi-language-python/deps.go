package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"kube-pki/tools/hostkit"
)

// pluginJSON is the pulumi-plugin.json a generated SDK carries next to its Python package.
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

// sitePackages lists the virtualenv's site-packages directories (lib/python3.*/site-packages).
func sitePackages(venv string) []string {
	found, _ := filepath.Glob(filepath.Join(venv, "lib", "python*", "site-packages"))
	sort.Strings(found)
	return found
}

// requiredPackages reads the pulumi-plugin.json of every package installed in the virtualenv: the resource
// packages the program can use (kube-pki's SDK once `pulumi package add` installed it).
func requiredPackages(venv string) ([]*pulumirpc.PackageDependency, error) {
	var out []*pulumirpc.PackageDependency
	for _, site := range sitePackages(venv) {
		files, _ := filepath.Glob(filepath.Join(site, "*", "pulumi-plugin.json"))
		sort.Strings(files)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			var p pluginJSON
			if err := json.Unmarshal(data, &p); err != nil {
				return nil, fmt.Errorf("parsing %s: %w", f, err)
			}
			if !p.Resource || p.Name == "" {
				continue
			}
			dep := &pulumirpc.PackageDependency{Kind: "resource", Name: p.Name, Version: hostkit.WithV(p.Version), Server: p.Server}
			if p.Parameterization != nil {
				dep.Parameterization = &pulumirpc.PackageParameterization{
					Name: p.Parameterization.Name, Version: hostkit.WithV(p.Parameterization.Version), Value: p.Parameterization.Value,
				}
			}
			out = append(out, dep)
		}
	}
	return out, nil
}

// GetRequiredPackages answers the resource packages installed in the program's virtualenv. Lenient: without a
// virtualenv it requires nothing (the engine then loads providers when the program first uses them).
func (h *pyHost) GetRequiredPackages(
	ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	venv := virtualenvDir(req.GetInfo())
	if venv == "" {
		return &pulumirpc.GetRequiredPackagesResponse{}, nil
	}
	pkgs, err := requiredPackages(venv)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: pkgs}, nil
}

// GetRequiredPlugins is the older form of GetRequiredPackages, for engines that still ask it.
func (h *pyHost) GetRequiredPlugins(
	ctx context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return hostkit.RequiredPluginsOf(ctx, req, h.GetRequiredPackages)
}

// InstallDependencies makes the virtualenv (`python3 -m venv`) when runtime.options.virtualenv names one that does
// not exist, then runs `python -m pip install -r requirements.txt` in the program directory (after `pulumi package
// add` linked an SDK, and for `pulumi install`), streaming the output to the engine.
func (h *pyHost) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest, server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()
	dir := hostkit.ProgramDir(req.GetInfo(), req.GetDirectory()) //nolint:staticcheck // older engines send Directory
	run := func(name string, args ...string) error {
		fmt.Fprintf(stdout, "%s %s\n", filepath.Base(name), strings.Join(args, " "))
		cmd := exec.CommandContext(server.Context(), name, args...)
		cmd.Dir = dir
		cmd.Env = venvEnv(os.Environ(), virtualenvDir(req.GetInfo()))
		cmd.Stdout, cmd.Stderr = stdout, stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s %s in %s failed: %w", name, strings.Join(args, " "), dir, err)
		}
		return nil
	}
	if venv := virtualenvDir(req.GetInfo()); venv != "" {
		if _, err := os.Stat(filepath.Join(venv, "bin", "python")); os.IsNotExist(err) {
			py, err := exec.LookPath("python3")
			if err != nil {
				return fmt.Errorf("could not find python3 on the $PATH to create the virtualenv %s: %w", venv, err)
			}
			if err := run(py, "-m", "venv", venv); err != nil {
				return err
			}
		}
	}
	py, err := pythonFor(req.GetInfo())
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "requirements.txt")); err == nil {
		if err := run(py, "-m", "pip", "install", "--disable-pip-version-check", "-r", "requirements.txt"); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "no requirements.txt in %s: nothing to install\n", dir)
	}
	return closer.Close()
}
