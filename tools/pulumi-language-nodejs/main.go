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
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
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

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
