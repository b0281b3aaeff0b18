// Command pulumi-language-yaml is kube-pki's YAML language host: the language-runtime server of the served module
// github.com/pulumi/pulumi-yaml (package pkg/server: Run, GetRequiredPackages, GeneratePackage ...), started and
// served by this project's own main, with the one RPC that the CLI 3.248 needs and pulumi-yaml v1.25.0 (the newest
// version the Go module proxy serves) lacks: Link.
//
// `pulumi package add` calls Link after generating a package's SDK. A YAML program uses no SDK: it finds a package
// through Pulumi.yaml's `packages:`, which the CLI writes once Link succeeds, so Link has nothing to link and says
// how to use the package. Without it `pulumi package add` fails with "linking package: method Link not implemented".
//
// Arguments, as the engine passes them: flags (-tracing <endpoint>, -root <dir>, -compiler <cmd>, with a value each,
// as "-flag value" or "-flag=value"), then the engine's address.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/pulumi/pulumi-yaml/pkg/server"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// valueFlags take a value; every other argument starting with "-" is a switch.
var valueFlags = map[string]bool{"tracing": true, "root": true, "compiler": true}

type args struct {
	engineAddress, tracing string
}

func parseArgs(argv []string) (args, error) {
	var a args
	for i := 0; i < len(argv); i++ {
		arg := argv[i]
		if !strings.HasPrefix(arg, "-") {
			a.engineAddress = arg
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if valueFlags[name] && !hasValue {
			if i+1 >= len(argv) {
				return a, fmt.Errorf("flag -%s needs a value", name)
			}
			i++
			value = argv[i]
		}
		if name == "tracing" {
			a.tracing = value
		}
	}
	return a, nil
}

// yamlHost is pulumi-yaml's language host plus Link.
type yamlHost struct {
	pulumirpc.LanguageRuntimeServer
}

func (yamlHost) Link(_ context.Context, req *pulumirpc.LinkRequest) (*pulumirpc.LinkResponse, error) {
	var names []string
	for _, p := range req.GetPackages() {
		names = append(names, p.GetPackage().GetName())
	}
	return &pulumirpc.LinkResponse{
		ImportInstructions: fmt.Sprintf("YAML programs need no SDK: use the resources of %s by their type tokens "+
			"(e.g. `type: <package>:index:<Resource>`); Pulumi.yaml's `packages:` says where the package is.",
			strings.Join(names, ", ")),
	}, nil
}

// stopWhenEngineGoes returns a channel closed on SIGINT or once the engine stops answering health checks (every
// 10 s), so the host does not outlive the engine that started it.
func stopWhenEngineGoes(engineAddress string) (chan bool, error) {
	stop := make(chan bool)
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	go func() {
		<-ctx.Done()
		cancel()
		close(stop)
	}()
	if engineAddress == "" {
		return stop, nil
	}
	if err := rpcutil.Healthcheck(ctx, engineAddress, 10*time.Second, cancel); err != nil {
		cancel()
		return nil, err
	}
	return stop, nil
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "pulumi-language-yaml: "+format+"\n", a...)
	os.Exit(1)
}

func main() {
	a, err := parseArgs(os.Args[1:])
	if err != nil {
		fail("%v", err)
	}
	logging.InitLogging(false, 0, false) // the SDK's logger, quiet unless the engine asks for verbosity
	stop, err := stopWhenEngineGoes(a.engineAddress)
	if err != nil {
		fail("cannot reach the engine at %s: %v", a.engineAddress, err)
	}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stop,
		Init: func(srv *grpc.Server) error {
			// useRPCLoader: schemas come from the engine's loader (the CLI's plugin resolution, which knows packages
			// installed from a git URL, whose plugin directory is named after the URL), not from an in-process
			// loader built with this module's older pulumi SDK, which looks for a plugin named after the package.
			pulumirpc.RegisterLanguageRuntimeServer(srv, yamlHost{server.NewLanguageHost(a.engineAddress, a.tracing, true)})
			return nil
		},
	})
	if err != nil {
		fail("could not start the language host gRPC server: %v", err)
	}
	fmt.Printf("%d\n", handle.Port) // the engine reads the port from our first line of stdout
	if err := <-handle.Done; err != nil {
		fail("language host stopped serving: %v", err)
	}
}
