package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
)

// ---- provider lifecycle ------------------------------------------------------------------------------------

func (p *tlsProvider) Handshake(
	ctx context.Context, req *pulumirpc.ProviderHandshakeRequest,
) (*pulumirpc.ProviderHandshakeResponse, error) {
	return &pulumirpc.ProviderHandshakeResponse{AcceptSecrets: true, AcceptResources: true}, nil
}

func (p *tlsProvider) GetPluginInfo(ctx context.Context, _ *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version}, nil
}

func (p *tlsProvider) GetSchema(ctx context.Context, req *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	b, _ := json.Marshal(map[string]any{"name": "tls", "version": Version})
	return &pulumirpc.GetSchemaResponse{Schema: string(b)}, nil
}

func (p *tlsProvider) Attach(ctx context.Context, req *pulumirpc.PluginAttach) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (p *tlsProvider) Cancel(ctx context.Context, _ *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (p *tlsProvider) GetMapping(ctx context.Context, req *pulumirpc.GetMappingRequest) (*pulumirpc.GetMappingResponse, error) {
	return &pulumirpc.GetMappingResponse{}, nil
}

func (p *tlsProvider) GetMappings(ctx context.Context, req *pulumirpc.GetMappingsRequest) (*pulumirpc.GetMappingsResponse, error) {
	return &pulumirpc.GetMappingsResponse{}, nil
}

// providerConfig converts Pulumi provider inputs (strings, as stack config and explicit providers send them)
// into the Terraform provider configuration.
func (p *tlsProvider) providerConfig(pm resource.PropertyMap) (tftypes.Value, error) {
	cfg := resource.PropertyMap{}
	for k, v := range pm {
		if k == "version" || strings.HasPrefix(string(k), "__") {
			continue
		}
		cfg[k] = v
	}
	return blockToTF(p.schema.Provider.Block, cfg, toTFOpts{lenient: true})
}

func (p *tlsProvider) CheckConfig(ctx context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	if _, err := p.providerConfig(news); err != nil {
		return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: []*pulumirpc.CheckFailure{{Reason: err.Error()}}}, nil
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *tlsProvider) DiffConfig(ctx context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := unmarshal(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	var diffs []string
	for _, k := range unionKeys(olds, news) {
		if k == "version" {
			continue
		}
		if !olds[resource.PropertyKey(k)].DeepEquals(news[resource.PropertyKey(k)]) {
			diffs = append(diffs, k)
		}
	}
	changes := pulumirpc.DiffResponse_DIFF_NONE
	if len(diffs) > 0 {
		changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return &pulumirpc.DiffResponse{Changes: changes, Diffs: diffs}, nil
}

func unionKeys(a, b resource.PropertyMap) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[string(k)] = true
	}
	for k := range b {
		seen[string(k)] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (p *tlsProvider) Configure(ctx context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	var pm resource.PropertyMap
	if req.GetArgs() != nil {
		var err error
		if pm, err = unmarshal(req.GetArgs()); err != nil {
			return nil, err
		}
	} else {
		pm = resource.PropertyMap{}
		for k, v := range req.GetVariables() {
			// "tls:config:proxy" or "tls:proxy"
			name := k[strings.LastIndex(k, ":")+1:]
			pm[resource.PropertyKey(name)] = resource.NewStringProperty(v)
		}
	}
	cfg, err := p.providerConfig(pm)
	if err != nil {
		return nil, fmt.Errorf("tls provider configuration: %w", err)
	}
	dv, err := dynamic(blockType(p.schema.Provider.Block), cfg)
	if err != nil {
		return nil, err
	}
	resp, err := p.tf.ConfigureProvider(ctx, &tfprotov5.ConfigureProviderRequest{
		TerraformVersion: "1.9.0",
		Config:           dv,
	})
	if err != nil {
		return nil, err
	}
	if err := diagErr(resp.Diagnostics); err != nil {
		return nil, fmt.Errorf("configuring the tls provider: %w", err)
	}
	p.mu.Lock()
	p.configured = true
	p.mu.Unlock()
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, AcceptResources: true}, nil
}

// ensureConfigured configures the Terraform provider with an empty configuration if the engine has not.
func (p *tlsProvider) ensureConfigured(ctx context.Context) error {
	p.mu.Lock()
	done := p.configured
	p.mu.Unlock()
	if done {
		return nil
	}
	_, err := p.Configure(ctx, &pulumirpc.ConfigureRequest{})
	return err
}
