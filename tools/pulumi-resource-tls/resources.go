package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

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
