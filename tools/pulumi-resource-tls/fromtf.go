package main

import (
	"fmt"
	"math/big"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// ---- Terraform -> Pulumi ---------------------------------------------------------------------------------

// blockFromTF converts a Terraform object value of the block to a Pulumi property map. Null attributes are
// omitted; unknown values become computed. Sensitive attributes are returned as secrets when markSecrets.
func blockFromTF(b *tfprotov5.SchemaBlock, v tftypes.Value, markSecrets bool) (resource.PropertyMap, error) {
	pm := resource.PropertyMap{}
	if v.IsNull() || !v.IsKnown() {
		return pm, nil
	}
	var vals map[string]tftypes.Value
	if err := v.As(&vals); err != nil {
		return nil, err
	}
	shape := newBlockShape(b)
	for _, n := range shape.order {
		tv, ok := vals[n]
		if !ok || tv.IsNull() {
			continue
		}
		var pv resource.PropertyValue
		var err error
		if a, ok := shape.attrs[n]; ok {
			pv, err = valueFromTF(tv)
			if err == nil && markSecrets && a.Sensitive && !pv.IsComputed() {
				pv = resource.MakeSecret(pv)
			}
		} else {
			pv, err = nestedBlockFromTF(shape.blocks[n], tv, markSecrets)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		if pv.IsNull() {
			continue
		}
		pm[resource.PropertyKey(pulumiName(n))] = pv
	}
	return pm, nil
}

func nestedBlockFromTF(nb *tfprotov5.SchemaNestedBlock, v tftypes.Value, markSecrets bool) (resource.PropertyValue, error) {
	if !v.IsKnown() {
		return resource.MakeComputed(resource.NewStringProperty("")), nil
	}
	if v.IsNull() {
		return resource.NewNullProperty(), nil
	}
	var elems []tftypes.Value
	switch nb.Nesting {
	case tfprotov5.SchemaNestedBlockNestingModeSingle, tfprotov5.SchemaNestedBlockNestingModeGroup:
		elems = []tftypes.Value{v}
	default:
		if err := v.As(&elems); err != nil {
			return resource.PropertyValue{}, err
		}
	}
	var out []resource.PropertyValue
	for _, e := range elems {
		if !e.IsKnown() {
			out = append(out, resource.MakeComputed(resource.NewStringProperty("")))
			continue
		}
		pm, err := blockFromTF(nb.Block, e, markSecrets)
		if err != nil {
			return resource.PropertyValue{}, err
		}
		out = append(out, resource.NewObjectProperty(pm))
	}
	if flattenedBlocks[nb.TypeName] {
		if len(out) == 0 {
			return resource.NewNullProperty(), nil
		}
		return out[0], nil
	}
	return resource.NewArrayProperty(out), nil
}

func valueFromTF(v tftypes.Value) (resource.PropertyValue, error) {
	if !v.IsKnown() {
		return resource.MakeComputed(resource.NewStringProperty("")), nil
	}
	if v.IsNull() {
		return resource.NewNullProperty(), nil
	}
	t := v.Type()
	switch {
	case t.Is(tftypes.String):
		var s string
		err := v.As(&s)
		return resource.NewStringProperty(s), err
	case t.Is(tftypes.Number):
		var f big.Float
		if err := v.As(&f); err != nil {
			return resource.PropertyValue{}, err
		}
		n, _ := f.Float64()
		return resource.NewNumberProperty(n), nil
	case t.Is(tftypes.Bool):
		var b bool
		err := v.As(&b)
		return resource.NewBoolProperty(b), err
	}
	switch t.(type) {
	case tftypes.List, tftypes.Set, tftypes.Tuple:
		var elems []tftypes.Value
		if err := v.As(&elems); err != nil {
			return resource.PropertyValue{}, err
		}
		out := make([]resource.PropertyValue, 0, len(elems))
		for _, e := range elems {
			pv, err := valueFromTF(e)
			if err != nil {
				return resource.PropertyValue{}, err
			}
			out = append(out, pv)
		}
		return resource.NewArrayProperty(out), nil
	case tftypes.Map, tftypes.Object:
		var vals map[string]tftypes.Value
		if err := v.As(&vals); err != nil {
			return resource.PropertyValue{}, err
		}
		_, isObject := t.(tftypes.Object)
		pm := resource.PropertyMap{}
		for k, e := range vals {
			if e.IsNull() {
				continue
			}
			pv, err := valueFromTF(e)
			if err != nil {
				return resource.PropertyValue{}, err
			}
			key := k
			if isObject {
				key = pulumiName(k)
			}
			pm[resource.PropertyKey(key)] = pv
		}
		return resource.NewObjectProperty(pm), nil
	}
	return resource.PropertyValue{}, fmt.Errorf("unsupported Terraform type %s", t)
}
