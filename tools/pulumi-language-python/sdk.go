package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	pygen "github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"kube-pki/tools/hostkit"
)

// GeneratePackage writes a package's Python SDK (`pulumi package add`, `pulumi package gen-sdk --language python`):
// hostkit's GenerateSDK binds the schema with the engine's schema loader, hands it to the Python SDK generator of
// pkg/v3 and writes the files under req.Directory; schema errors come back as diagnostics.
func (h *pyHost) GeneratePackage(
	ctx context.Context, req *pulumirpc.GeneratePackageRequest,
) (*pulumirpc.GeneratePackageResponse, error) {
	return h.GenerateSDK(req, "Python", func(pkg *schema.Package, loader schema.ReferenceLoader) (map[string][]byte, error) {
		return pygen.GeneratePackage("pulumi-language-python", pkg, nil, loader)
	})
}

// Link makes the program use SDKs generated into its directory: each SDK's relative path (`./sdks/...`, which pip
// installs as a local project) is added to the program's requirements.txt, once; `pulumi package add` then calls
// InstallDependencies, which pip-installs it into the virtualenv. Answers with the Python import of each package,
// read from the directory of the generated package (the one holding pulumi-plugin.json).
func (h *pyHost) Link(ctx context.Context, req *pulumirpc.LinkRequest) (*pulumirpc.LinkResponse, error) {
	dir := hostkit.ProgramDir(req.GetInfo(), "")
	reqPath := filepath.Join(dir, "requirements.txt")
	existing, err := os.ReadFile(reqPath)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	lines := strings.Split(strings.TrimRight(string(existing), "\n"), "\n")
	if len(existing) == 0 {
		lines = nil
	}
	have := map[string]bool{}
	for _, l := range lines {
		have[strings.TrimSpace(l)] = true
	}
	var imports []string
	for _, dep := range req.GetPackages() {
		rel := filepath.ToSlash(filepath.Clean(dep.GetPath()))
		if filepath.IsAbs(dep.GetPath()) || strings.HasPrefix(rel, "../") {
			return nil, fmt.Errorf("pulumi-language-python: SDK path %q is outside the program directory %s", dep.GetPath(), dir)
		}
		sdkDir := filepath.Join(dir, filepath.FromSlash(rel))
		found, _ := filepath.Glob(filepath.Join(sdkDir, "*", "pulumi-plugin.json"))
		if len(found) == 0 {
			return nil, fmt.Errorf("pulumi-language-python: %s holds no generated Python package (no */pulumi-plugin.json) for %s",
				sdkDir, dep.GetPackage().GetName())
		}
		for _, f := range found {
			imports = append(imports, filepath.Base(filepath.Dir(f)))
		}
		line := "./" + rel
		if !have[line] {
			lines = append(lines, line)
			have[line] = true
		}
	}
	mode := os.FileMode(0o644)
	if st, err := os.Stat(reqPath); err == nil {
		mode = st.Mode().Perm()
	}
	if err := os.WriteFile(reqPath, []byte(strings.Join(lines, "\n")+"\n"), mode); err != nil {
		return nil, err
	}
	sort.Strings(imports)
	var b strings.Builder
	b.WriteString("Import the SDK in your Python code with:\n\n")
	for _, p := range imports {
		fmt.Fprintf(&b, "  import %s\n", p)
	}
	return &pulumirpc.LinkResponse{ImportInstructions: b.String()}, nil
}
