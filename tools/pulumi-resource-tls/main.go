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
	"fmt"
	"os"
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
