// Command pulumi-resource-tls serves hashicorp/terraform-provider-tls over the Pulumi resource provider
// protocol, for kube-pki's live end-to-end suite.
//
// Why it exists: the upstream provider binary (github.com/pulumi/pulumi-tls/provider/v5) and the Terraform
// bridge it is built on are not published on the Go module proxy that this project can reach, but the
// Terraform provider they wrap is. This is a small bridge with the same resource and function tokens and the
// same property names as npm @pulumi/tls 5.6.1, so that package's SDK works unchanged against it, and every
// key, CSR and certificate is made by the same Terraform provider code pulumi-tls runs:
//
//	tls:index/privateKey:PrivateKey                 tls_private_key
//	tls:index/selfSignedCert:SelfSignedCert         tls_self_signed_cert
//	tls:index/certRequest:CertRequest               tls_cert_request
//	tls:index/locallySignedCert:LocallySignedCert   tls_locally_signed_cert
//	tls:index/getCertificate:getCertificate         data tls_certificate
//	tls:index/getPublicKey:getPublicKey             data tls_public_key
//
// Planning follows Terraform: Diff/Create/Update run PlanResourceChange on Terraform core's "proposed new
// state", so replacements (changed inputs, readyForRenewal inside earlyRenewalHours) are the provider's own.
// Not covered: import, GetSchema (returns a stub), Call/Construct. The wrapper module's path sits under
// github.com/hashicorp/terraform-provider-tls/ only so that Go allows importing the provider's internal package;
// it is never published.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	tlsprovider "github.com/hashicorp/terraform-provider-tls/internal/provider"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// Version is the provider version reported to the engine (npm @pulumi/tls); set with -X main.Version=.
var Version = "5.6.1"

var resourceTokens = map[string]string{
	"tls:index/privateKey:PrivateKey":               "tls_private_key",
	"tls:index/selfSignedCert:SelfSignedCert":       "tls_self_signed_cert",
	"tls:index/certRequest:CertRequest":             "tls_cert_request",
	"tls:index/locallySignedCert:LocallySignedCert": "tls_locally_signed_cert",
}

var functionTokens = map[string]string{
	"tls:index/getCertificate:getCertificate": "tls_certificate",
	"tls:index/getPublicKey:getPublicKey":     "tls_public_key",
}

func main() {
	for _, a := range os.Args[1:] {
		if a == "--version" || a == "-version" {
			fmt.Println(Version)
			return
		}
	}
	p, err := newProvider(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-tls: %v\n", err)
		os.Exit(1)
	}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterResourceProviderServer(srv, p)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-tls: could not start the gRPC server: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port) // the engine reads the port from our first line of stdout
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-tls: stopped serving: %v\n", err)
		os.Exit(1)
	}
}

type tlsProvider struct {
	pulumirpc.UnimplementedResourceProviderServer

	tf     tfprotov5.ProviderServer
	schema *tfprotov5.GetProviderSchemaResponse

	mu         sync.Mutex
	configured bool
}

func newProvider(ctx context.Context) (*tlsProvider, error) {
	tf := providerserver.NewProtocol5(tlsprovider.New())()
	schema, err := tf.GetProviderSchema(ctx, &tfprotov5.GetProviderSchemaRequest{})
	if err != nil {
		return nil, fmt.Errorf("GetProviderSchema: %w", err)
	}
	if err := diagErr(schema.Diagnostics); err != nil {
		return nil, fmt.Errorf("GetProviderSchema: %w", err)
	}
	return &tlsProvider{tf: tf, schema: schema}, nil
}

func diagErr(diags []*tfprotov5.Diagnostic) error {
	var msgs []string
	for _, d := range diags {
		if d == nil || d.Severity != tfprotov5.DiagnosticSeverityError {
			continue
		}
		m := d.Summary
		if d.Detail != "" {
			m += ": " + d.Detail
		}
		if d.Attribute != nil && len(d.Attribute.Steps()) > 0 {
			m = fmt.Sprintf("%s (at %s)", m, d.Attribute.String())
		}
		msgs = append(msgs, m)
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(msgs, "; "))
}

func checkFailures(diags []*tfprotov5.Diagnostic) []*pulumirpc.CheckFailure {
	var out []*pulumirpc.CheckFailure
	for _, d := range diags {
		if d == nil || d.Severity != tfprotov5.DiagnosticSeverityError {
			continue
		}
		prop := ""
		if d.Attribute != nil {
			if steps := d.Attribute.Steps(); len(steps) > 0 {
				if name, ok := steps[0].(tftypes.AttributeName); ok {
					prop = pulumiName(string(name))
				}
			}
		}
		reason := d.Summary
		if d.Detail != "" {
			reason += ": " + d.Detail
		}
		out = append(out, &pulumirpc.CheckFailure{Property: prop, Reason: reason})
	}
	return out
}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	return plugin.UnmarshalProperties(s, plugin.MarshalOptions{
		KeepUnknowns: true, KeepSecrets: true, KeepResources: true, SkipNulls: true,
	})
}

func marshal(pm resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(pm, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true})
}

func (p *tlsProvider) resourceSchema(token string) (string, *tfprotov5.Schema, error) {
	name, ok := resourceTokens[token]
	if !ok {
		return "", nil, status.Errorf(codes.InvalidArgument, "unknown resource type %q", token)
	}
	return name, p.schema.ResourceSchemas[name], nil
}

func typeOf(urn string, explicit string) string {
	if explicit != "" {
		return explicit
	}
	return string(resource.URN(urn).Type())
}

func dynamic(typ tftypes.Type, v tftypes.Value) (*tfprotov5.DynamicValue, error) {
	dv, err := tfprotov5.NewDynamicValue(typ, v)
	if err != nil {
		return nil, err
	}
	return &dv, nil
}

func fromDynamic(typ tftypes.Type, dv *tfprotov5.DynamicValue) (tftypes.Value, error) {
	if dv == nil {
		return tftypes.NewValue(typ, nil), nil
	}
	return dv.Unmarshal(typ)
}

// stateFromOutputs rebuilds the Terraform state of a resource from its Pulumi outputs and ID.
func stateFromOutputs(s *tfprotov5.Schema, id string, outputs resource.PropertyMap) (tftypes.Value, error) {
	pm := outputs.Copy()
	if id != "" {
		pm["id"] = resource.NewStringProperty(id)
	}
	return blockToTF(s.Block, pm, toTFOpts{})
}

// outputsFromState converts a Terraform state into Pulumi outputs (without id) and the ID.
func outputsFromState(s *tfprotov5.Schema, v tftypes.Value, secretInputs resource.PropertyMap) (string, *structpb.Struct, error) {
	pm, err := blockFromTF(s.Block, v, true)
	if err != nil {
		return "", nil, err
	}
	id := ""
	if idv, ok := pm["id"]; ok {
		if idv.IsString() {
			id = idv.StringValue()
		}
		delete(pm, "id")
	}
	// An output whose input was a secret stays a secret.
	for k, in := range secretInputs {
		if out, ok := pm[k]; ok && in.ContainsSecrets() && !out.IsSecret() && !out.IsComputed() {
			pm[k] = resource.MakeSecret(out)
		}
	}
	st, err := marshal(pm)
	return id, st, err
}

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

// ---- resources ---------------------------------------------------------------------------------------------

func (p *tlsProvider) Check(ctx context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	name, s, err := p.resourceSchema(typeOf(req.GetUrn(), req.GetType()))
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	cfg, err := blockToTF(s.Block, news, toTFOpts{})
	if err != nil {
		return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: []*pulumirpc.CheckFailure{{Reason: err.Error()}}}, nil
	}
	dv, err := dynamic(blockType(s.Block), cfg)
	if err != nil {
		return nil, err
	}
	resp, err := p.tf.ValidateResourceTypeConfig(ctx, &tfprotov5.ValidateResourceTypeConfigRequest{TypeName: name, Config: dv})
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: checkFailures(resp.Diagnostics)}, nil
}

type plan struct {
	typ            tftypes.Type
	prior, config  tftypes.Value
	planned        tftypes.Value
	plannedPrivate []byte
	requiresRepl   []*tftypes.AttributePath
}

// planChange runs Terraform's plan for a resource: prior state (null on create) and new inputs.
func (p *tlsProvider) planChange(
	ctx context.Context, name string, s *tfprotov5.Schema, prior tftypes.Value, news resource.PropertyMap,
) (*plan, error) {
	if err := p.ensureConfigured(ctx); err != nil {
		return nil, err
	}
	typ := blockType(s.Block)
	config, err := blockToTF(s.Block, news, toTFOpts{})
	if err != nil {
		return nil, err
	}
	proposed, err := proposedNew(s.Block, prior, config)
	if err != nil {
		return nil, err
	}
	priorDV, err := dynamic(typ, prior)
	if err != nil {
		return nil, err
	}
	proposedDV, err := dynamic(typ, proposed)
	if err != nil {
		return nil, err
	}
	configDV, err := dynamic(typ, config)
	if err != nil {
		return nil, err
	}
	resp, err := p.tf.PlanResourceChange(ctx, &tfprotov5.PlanResourceChangeRequest{
		TypeName:         name,
		PriorState:       priorDV,
		ProposedNewState: proposedDV,
		Config:           configDV,
	})
	if err != nil {
		return nil, err
	}
	if err := diagErr(resp.Diagnostics); err != nil {
		return nil, fmt.Errorf("planning %s: %w", name, err)
	}
	planned, err := fromDynamic(typ, resp.PlannedState)
	if err != nil {
		return nil, err
	}
	return &plan{
		typ: typ, prior: prior, config: config, planned: planned,
		plannedPrivate: resp.PlannedPrivate, requiresRepl: resp.RequiresReplace,
	}, nil
}

func (p *tlsProvider) apply(ctx context.Context, name string, pl *plan) (tftypes.Value, error) {
	priorDV, err := dynamic(pl.typ, pl.prior)
	if err != nil {
		return tftypes.Value{}, err
	}
	plannedDV, err := dynamic(pl.typ, pl.planned)
	if err != nil {
		return tftypes.Value{}, err
	}
	configDV, err := dynamic(pl.typ, pl.config)
	if err != nil {
		return tftypes.Value{}, err
	}
	resp, err := p.tf.ApplyResourceChange(ctx, &tfprotov5.ApplyResourceChangeRequest{
		TypeName:       name,
		PriorState:     priorDV,
		PlannedState:   plannedDV,
		Config:         configDV,
		PlannedPrivate: pl.plannedPrivate,
	})
	if err != nil {
		return tftypes.Value{}, err
	}
	if err := diagErr(resp.Diagnostics); err != nil {
		return tftypes.Value{}, fmt.Errorf("applying %s: %w", name, err)
	}
	return fromDynamic(pl.typ, resp.NewState)
}

func (p *tlsProvider) Diff(ctx context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	name, s, err := p.resourceSchema(typeOf(req.GetUrn(), req.GetType()))
	if err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	for _, k := range req.GetIgnoreChanges() {
		// top-level ignoreChanges: keep the old value
		key := resource.PropertyKey(strings.SplitN(k, ".", 2)[0])
		if v, ok := olds[key]; ok {
			news[key] = v
		} else {
			delete(news, key)
		}
	}
	prior, err := stateFromOutputs(s, req.GetId(), olds)
	if err != nil {
		return nil, err
	}
	pl, err := p.planChange(ctx, name, s, prior, news)
	if err != nil {
		return nil, err
	}
	var priorVals, plannedVals map[string]tftypes.Value
	if err := pl.prior.As(&priorVals); err != nil {
		return nil, err
	}
	if err := pl.planned.As(&plannedVals); err != nil {
		return nil, err
	}
	shape := newBlockShape(s.Block)
	var diffs []string
	detailed := map[string]*pulumirpc.PropertyDiff{}
	replaceSet := map[string]bool{}
	for _, rp := range pl.requiresRepl {
		if steps := rp.Steps(); len(steps) > 0 {
			if n, ok := steps[0].(tftypes.AttributeName); ok {
				replaceSet[string(n)] = true
			}
		}
	}
	for _, n := range shape.order {
		if n == "id" {
			continue
		}
		if plannedVals[n].Equal(priorVals[n]) {
			continue
		}
		a, isAttr := shape.attrs[n]
		if isAttr && !a.Optional && !a.Required && !replaceSet[n] {
			// purely computed values that change as a consequence are not input diffs
			continue
		}
		pn := pulumiName(n)
		diffs = append(diffs, pn)
		kind := pulumirpc.PropertyDiff_UPDATE
		if replaceSet[n] {
			kind = pulumirpc.PropertyDiff_UPDATE_REPLACE
		}
		detailed[pn] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: isAttr && (a.Optional || a.Required)}
	}
	var replaces []string
	for n := range replaceSet {
		pn := pulumiName(n)
		replaces = append(replaces, pn)
		if _, ok := detailed[pn]; !ok {
			diffs = append(diffs, pn)
			detailed[pn] = &pulumirpc.PropertyDiff{Kind: pulumirpc.PropertyDiff_UPDATE_REPLACE}
		}
	}
	sort.Strings(replaces)
	sort.Strings(diffs)
	changes := pulumirpc.DiffResponse_DIFF_NONE
	if len(diffs) > 0 || len(replaces) > 0 {
		changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return &pulumirpc.DiffResponse{
		Changes: changes, Replaces: replaces, Diffs: diffs,
		DetailedDiff: detailed, HasDetailedDiff: true,
	}, nil
}

func (p *tlsProvider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	name, s, err := p.resourceSchema(typeOf(req.GetUrn(), req.GetType()))
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	pl, err := p.planChange(ctx, name, s, tftypes.NewValue(blockType(s.Block), nil), news)
	if err != nil {
		return nil, err
	}
	state := pl.planned
	if !req.GetPreview() {
		if state, err = p.apply(ctx, name, pl); err != nil {
			return nil, err
		}
	}
	id, props, err := outputsFromState(s, state, news)
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		id = ""
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

func (p *tlsProvider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	name, s, err := p.resourceSchema(typeOf(req.GetUrn(), req.GetType()))
	if err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	prior, err := stateFromOutputs(s, req.GetId(), olds)
	if err != nil {
		return nil, err
	}
	pl, err := p.planChange(ctx, name, s, prior, news)
	if err != nil {
		return nil, err
	}
	state := pl.planned
	if !req.GetPreview() {
		if state, err = p.apply(ctx, name, pl); err != nil {
			return nil, err
		}
	}
	_, props, err := outputsFromState(s, state, news)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

func (p *tlsProvider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	name, s, err := p.resourceSchema(typeOf(req.GetUrn(), req.GetType()))
	if err != nil {
		return nil, err
	}
	if err := p.ensureConfigured(ctx); err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	prior, err := stateFromOutputs(s, req.GetId(), olds)
	if err != nil {
		return nil, err
	}
	typ := blockType(s.Block)
	null := tftypes.NewValue(typ, nil)
	if _, err := p.apply(ctx, name, &plan{typ: typ, prior: prior, config: null, planned: null}); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (p *tlsProvider) Read(ctx context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	name, s, err := p.resourceSchema(typeOf(req.GetUrn(), req.GetType()))
	if err != nil {
		return nil, err
	}
	if err := p.ensureConfigured(ctx); err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	if len(olds) == 0 {
		return nil, status.Errorf(codes.Unimplemented, "%s: import is not supported by this provider", name)
	}
	typ := blockType(s.Block)
	current, err := stateFromOutputs(s, req.GetId(), olds)
	if err != nil {
		return nil, err
	}
	dv, err := dynamic(typ, current)
	if err != nil {
		return nil, err
	}
	resp, err := p.tf.ReadResource(ctx, &tfprotov5.ReadResourceRequest{TypeName: name, CurrentState: dv})
	if err != nil {
		return nil, err
	}
	if err := diagErr(resp.Diagnostics); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	state, err := fromDynamic(typ, resp.NewState)
	if err != nil {
		return nil, err
	}
	if state.IsNull() {
		return &pulumirpc.ReadResponse{}, nil // gone
	}
	inputs, err := unmarshal(req.GetInputs())
	if err != nil {
		return nil, err
	}
	id, props, err := outputsFromState(s, state, inputs)
	if err != nil {
		return nil, err
	}
	if id == "" {
		id = req.GetId()
	}
	return &pulumirpc.ReadResponse{Id: id, Properties: props, Inputs: req.GetInputs()}, nil
}

// ---- functions ---------------------------------------------------------------------------------------------

func (p *tlsProvider) Invoke(ctx context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	name, ok := functionTokens[req.GetTok()]
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument, "unknown function %q", req.GetTok())
	}
	if err := p.ensureConfigured(ctx); err != nil {
		return nil, err
	}
	s := p.schema.DataSourceSchemas[name]
	typ := blockType(s.Block)
	args, err := unmarshal(req.GetArgs())
	if err != nil {
		return nil, err
	}
	cfg, err := blockToTF(s.Block, args, toTFOpts{})
	if err != nil {
		return &pulumirpc.InvokeResponse{Failures: []*pulumirpc.CheckFailure{{Reason: err.Error()}}}, nil
	}
	dv, err := dynamic(typ, cfg)
	if err != nil {
		return nil, err
	}
	vresp, err := p.tf.ValidateDataSourceConfig(ctx, &tfprotov5.ValidateDataSourceConfigRequest{TypeName: name, Config: dv})
	if err != nil {
		return nil, err
	}
	if f := checkFailures(vresp.Diagnostics); len(f) > 0 {
		return &pulumirpc.InvokeResponse{Failures: f}, nil
	}
	resp, err := p.tf.ReadDataSource(ctx, &tfprotov5.ReadDataSourceRequest{TypeName: name, Config: dv})
	if err != nil {
		return nil, err
	}
	if err := diagErr(resp.Diagnostics); err != nil {
		return nil, fmt.Errorf("%s: %w", req.GetTok(), err)
	}
	state, err := fromDynamic(typ, resp.State)
	if err != nil {
		return nil, err
	}
	pm, err := blockFromTF(s.Block, state, false)
	if err != nil {
		return nil, err
	}
	ret, err := marshal(pm)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.InvokeResponse{Return: ret}, nil
}
