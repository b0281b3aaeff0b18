package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"kube-pki/tools/hostkit"
)

// GeneratePackage writes a package's Go SDK (`pulumi package add`, `pulumi package gen-sdk --language go`):
// hostkit's GenerateSDK binds the schema with the engine's schema loader, hands it to the Go SDK generator of
// pkg/v3 and writes the files under req.Directory; schema errors come back as diagnostics.
func (h *goHost) GeneratePackage(
	ctx context.Context, req *pulumirpc.GeneratePackageRequest,
) (*pulumirpc.GeneratePackageResponse, error) {
	return h.GenerateSDK(req, "Go", func(pkg *schema.Package, _ schema.ReferenceLoader) (map[string][]byte, error) {
		return gogen.GeneratePackage("pulumi-language-go", pkg, req.GetLocalDependencies())
	})
}

// Link makes the program use SDKs generated into its directory: for each package, a go.mod `replace` of the SDK's
// module (named by the go.mod the generator wrote into the SDK) with its relative path; `pulumi package add` then
// calls InstallDependencies (go mod tidy), which adds the require. The SDK's module path is read from its go.mod
// rather than derived from the schema again, so what the program imports is what was generated.
func (h *goHost) Link(ctx context.Context, req *pulumirpc.LinkRequest) (*pulumirpc.LinkResponse, error) {
	dir := hostkit.ProgramDir(req.GetInfo(), "")
	gomod, err := readGoMod(dir)
	if err != nil {
		return nil, fmt.Errorf("pulumi-language-go: a Go program needs a go.mod in %s: %w", dir, err)
	}
	var imports []string
	for _, dep := range req.GetPackages() {
		rel := filepath.ToSlash(filepath.Clean(dep.GetPath()))
		if filepath.IsAbs(dep.GetPath()) || strings.HasPrefix(rel, "../") {
			return nil, fmt.Errorf("pulumi-language-go: SDK path %q is outside the program directory %s", dep.GetPath(), dir)
		}
		sdkDir := filepath.Join(dir, filepath.FromSlash(rel))
		sdkMod, err := readGoMod(sdkDir)
		if err != nil || sdkMod.Module == nil {
			return nil, fmt.Errorf("pulumi-language-go: the SDK of %s in %s has no go.mod naming its module: %v",
				dep.GetPackage().GetName(), sdkDir, err)
		}
		modPath := sdkMod.Module.Mod.Path
		if err := gomod.AddReplace(modPath, "", "./"+rel, ""); err != nil {
			return nil, fmt.Errorf("adding replace %s => ./%s: %w", modPath, rel, err)
		}
		imports = append(imports, importPaths(sdkDir, modPath)...)
	}
	gomod.Cleanup()
	data, err := gomod.Format()
	if err != nil {
		return nil, fmt.Errorf("formatting go.mod: %w", err)
	}
	path := filepath.Join(dir, "go.mod")
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, data, st.Mode().Perm()); err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("Import the SDK in your Go code with:\n\n  import (\n")
	for _, p := range imports {
		fmt.Fprintf(&b, "    %q\n", p)
	}
	b.WriteString("  )\n")
	return &pulumirpc.LinkResponse{ImportInstructions: b.String()}, nil
}

// importPaths lists the SDK's package directories (those holding pulumi-plugin.json, where the generator puts the
// package's main Go package) as import paths under its module.
func importPaths(sdkDir, modPath string) []string {
	var out []string
	found, _ := filepath.Glob(filepath.Join(sdkDir, "*", "pulumi-plugin.json"))
	for _, f := range found {
		out = append(out, modPath+"/"+filepath.Base(filepath.Dir(f)))
	}
	sort.Strings(out)
	if len(out) == 0 {
		out = []string{modPath}
	}
	return out
}
