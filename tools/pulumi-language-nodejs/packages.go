package main

// GetRequiredPackages / GetRequiredPlugins: the pulumi-enabled packages in node_modules.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

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
