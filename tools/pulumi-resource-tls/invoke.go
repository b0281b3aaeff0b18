package main

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

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
