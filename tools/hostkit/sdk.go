package hostkit

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// GenerateSDK answers GeneratePackage (`pulumi package add`, `pulumi package gen-sdk`) for a language: the schema is
// bound with the engine's schema loader (for references to other packages, AllowDanglingReferences as the engine's
// hosts do), `generate` (the language's SDK generator of pkg/v3, given the bound package and the cached loader)
// makes the files, and they are written under req.Directory. Schema errors come back as diagnostics; overlays
// (extra files) are refused.
func (b *Base) GenerateSDK(
	req *pulumirpc.GeneratePackageRequest, language string,
	generate func(pkg *schema.Package, loader schema.ReferenceLoader) (map[string][]byte, error),
) (*pulumirpc.GeneratePackageResponse, error) {
	if len(req.GetExtraFiles()) > 0 {
		return nil, fmt.Errorf("%s (kube-pki): extra files (overlays) are not supported", b.Name)
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal([]byte(req.GetSchema()), &spec); err != nil {
		return nil, fmt.Errorf("parsing the package schema: %w", err)
	}
	loader, err := schema.NewLoaderClient(req.GetLoaderTarget())
	if err != nil {
		return nil, fmt.Errorf("connecting to the engine's schema loader: %w", err)
	}
	defer loader.Close()
	cached := schema.NewCachedLoader(loader)
	pkg, diags, err := schema.BindSpec(spec, cached, schema.ValidationOptions{AllowDanglingReferences: true})
	if err != nil {
		return nil, fmt.Errorf("binding the schema of %s: %w", spec.Name, err)
	}
	resp := &pulumirpc.GeneratePackageResponse{Diagnostics: plugin.HclDiagnosticsToRPCDiagnostics(diags)}
	if diags.HasErrors() {
		return resp, nil
	}
	files, err := generate(pkg, cached)
	if err != nil {
		return nil, fmt.Errorf("generating the %s SDK of %s: %w", language, pkg.Name, err)
	}
	if err := WriteFiles(req.GetDirectory(), files); err != nil {
		return nil, err
	}
	return resp, nil
}

// RunConfig is a run's stack configuration and its secret keys as the JSON documents the SDKs read from
// PULUMI_CONFIG and PULUMI_CONFIG_SECRET_KEYS ({} and [] when there are none).
func RunConfig(req *pulumirpc.RunRequest) (config, secretKeys string, err error) {
	values := req.GetConfig()
	if values == nil {
		values = map[string]string{}
	}
	configJSON, err := json.Marshal(values)
	if err != nil {
		return "", "", fmt.Errorf("serializing the configuration: %w", err)
	}
	keys := req.GetConfigSecretKeys()
	if keys == nil {
		keys = []string{}
	}
	keysJSON, err := json.Marshal(keys)
	if err != nil {
		return "", "", fmt.Errorf("serializing the secret configuration keys: %w", err)
	}
	return string(configJSON), string(keysJSON), nil
}

// RequiredPluginsOf answers GetRequiredPlugins, the older form of GetRequiredPackages that some engines still ask,
// from the host's GetRequiredPackages.
func RequiredPluginsOf(
	ctx context.Context, req *pulumirpc.GetRequiredPluginsRequest,
	packages func(context.Context, *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error),
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	pkgs, err := packages(ctx, &pulumirpc.GetRequiredPackagesRequest{Info: req.GetInfo()})
	if err != nil {
		return nil, err
	}
	return RequiredPlugins(pkgs), nil
}
