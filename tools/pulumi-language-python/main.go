// Command pulumi-language-python is kube-pki's own small Python language host for the Pulumi engine.
//
// Pulumi's Python host lives in a Go module of its own inside the pulumi repository that the Go module proxy does
// not serve, so this one is written for the project: it speaks only the part of the LanguageRuntime gRPC protocol a
// Python program using kube-pki's component package needs (`pulumi package add <kube-pki>/provider`, then
// `pulumi preview/up/destroy`). README.md in this directory lists the RPCs and why each is there.
//
//   - main.go: About; serving, Handshake and GetPluginInfo are tools/hostkit's (shared with the Go host);
//   - run.go: Run (the program through runner.py, our entry into the pulumi Python SDK, with the virtualenv's python);
//   - deps.go: GetRequiredPackages / GetRequiredPlugins (pulumi-plugin.json files of the virtualenv's packages),
//     InstallDependencies (the virtualenv, then pip install -r requirements.txt);
//   - sdk.go: GeneratePackage (the Python SDK generator of github.com/pulumi/pulumi/pkg/v3/codegen/python) and Link
//     (the generated SDK's path in requirements.txt).
//
// Everything else answers Unimplemented.
package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"kube-pki/tools/hostkit"
)

// Version is reported to the engine; set with -ldflags "-X main.Version=v3.248.0".
var Version = "v3.248.0"

func main() { hostkit.Main("pulumi-language-python", Version, &pyHost{}) }

// pyHost is the host; hostkit.Base serves it and answers Handshake and GetPluginInfo.
type pyHost struct {
	hostkit.Base
}

// About names the program's python and its version (`pulumi about`).
func (h *pyHost) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	py, err := pythonFor(req.GetInfo())
	if err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, py, "-c", "import platform; print(platform.python_version())").Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", py, err)
	}
	return &pulumirpc.AboutResponse{Executable: py, Version: strings.TrimSpace(string(out))}, nil
}
