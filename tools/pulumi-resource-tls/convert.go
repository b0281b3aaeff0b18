package main

// Conversion between Pulumi property values (camelCase names, MaxItems=1 blocks flattened to objects) and
// Terraform values (tftypes, snake_case names), driven by the provider's Terraform schema.

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// nameOverrides maps Terraform attribute names whose Pulumi name is not the plain camelCase form
// (the bridge pluralizes list attributes).
var nameOverrides = map[string]string{
	"street_address": "streetAddresses",
}

// flattenedBlocks lists the nested blocks that pulumi-tls exposes as a single object (MaxItemsOne) rather than
// a list. The plugin framework does not put its size validators into the protocol schema, so this is explicit.
var flattenedBlocks = map[string]bool{
	"subject": true, // tls_cert_request, tls_self_signed_cert
	"proxy":   true, // provider configuration
}

func pulumiName(tf string) string {
	if n, ok := nameOverrides[tf]; ok {
		return n
	}
	parts := strings.Split(tf, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// shape is a schema node: either an attribute with a tftypes.Type, or a block.
type blockShape struct {
	attrs  map[string]*tfprotov5.SchemaAttribute
	blocks map[string]*tfprotov5.SchemaNestedBlock
	order  []string // tf names, attributes then blocks
}

func newBlockShape(b *tfprotov5.SchemaBlock) *blockShape {
	s := &blockShape{attrs: map[string]*tfprotov5.SchemaAttribute{}, blocks: map[string]*tfprotov5.SchemaNestedBlock{}}
	if b == nil {
		return s
	}
	for _, a := range b.Attributes {
		s.attrs[a.Name] = a
		s.order = append(s.order, a.Name)
	}
	for _, nb := range b.BlockTypes {
		s.blocks[nb.TypeName] = nb
		s.order = append(s.order, nb.TypeName)
	}
	return s
}

// tfNameFor finds the Terraform name of a Pulumi property in this block.
func (s *blockShape) tfNameFor(pulumi string) (string, bool) {
	for _, n := range s.order {
		if pulumiName(n) == pulumi {
			return n, true
		}
	}
	return "", false
}

func blockType(b *tfprotov5.SchemaBlock) tftypes.Object {
	return b.ValueType().(tftypes.Object)
}

func nestedBlockType(nb *tfprotov5.SchemaNestedBlock) tftypes.Type {
	return nb.ValueType()
}

// ---- Pulumi -> Terraform ---------------------------------------------------------------------------------

type toTFOpts struct {
	// lenient: accept strings for numbers/bools/objects/lists (provider configuration arrives as strings).
	lenient bool
}

// blockToTF converts a Pulumi property map to a Terraform object value for the block.
func blockToTF(b *tfprotov5.SchemaBlock, pm resource.PropertyMap, opts toTFOpts) (tftypes.Value, error) {
	shape := newBlockShape(b)
	typ := blockType(b)
	vals := map[string]tftypes.Value{}
	for _, n := range shape.order {
		pv, has := pm[resource.PropertyKey(pulumiName(n))]
		if !has {
			pv = resource.NewNullProperty()
		}
		var v tftypes.Value
		var err error
		if a, ok := shape.attrs[n]; ok {
			v, err = valueToTF(a.Type, pv, opts, n)
		} else {
			v, err = nestedBlockToTF(shape.blocks[n], pv, opts)
		}
		if err != nil {
			return tftypes.Value{}, err
		}
		vals[n] = v
	}
	return tftypes.NewValue(typ, vals), nil
}

func unwrap(pv resource.PropertyValue) resource.PropertyValue {
	for {
		switch {
		case pv.IsSecret():
			pv = pv.SecretValue().Element
		case pv.IsOutput():
			o := pv.OutputValue()
			if !o.Known {
				return resource.MakeComputed(resource.NewStringProperty(""))
			}
			pv = o.Element
		default:
			return pv
		}
	}
}

func nestedBlockToTF(nb *tfprotov5.SchemaNestedBlock, pv resource.PropertyValue, opts toTFOpts) (tftypes.Value, error) {
	typ := nestedBlockType(nb)
	pv = unwrap(pv)
	if pv.IsComputed() {
		return tftypes.NewValue(typ, tftypes.UnknownValue), nil
	}
	if opts.lenient && pv.IsString() {
		parsed, err := parseJSONProperty(pv.StringValue())
		if err != nil {
			return tftypes.Value{}, fmt.Errorf("%s: %w", nb.TypeName, err)
		}
		pv = parsed
	}
	var elems []resource.PropertyValue
	switch {
	case pv.IsNull():
	case pv.IsObject() && flattenedBlocks[nb.TypeName]:
		elems = []resource.PropertyValue{pv}
	case pv.IsArray():
		elems = pv.ArrayValue()
	default:
		return tftypes.Value{}, fmt.Errorf("%s: expected an object, got %v", nb.TypeName, pv.TypeString())
	}
	var out []tftypes.Value
	for _, e := range elems {
		e = unwrap(e)
		if e.IsComputed() {
			out = append(out, tftypes.NewValue(blockType(nb.Block), tftypes.UnknownValue))
			continue
		}
		if !e.IsObject() {
			return tftypes.Value{}, fmt.Errorf("%s: expected an object, got %v", nb.TypeName, e.TypeString())
		}
		v, err := blockToTF(nb.Block, e.ObjectValue(), opts)
		if err != nil {
			return tftypes.Value{}, fmt.Errorf("%s: %w", nb.TypeName, err)
		}
		out = append(out, v)
	}
	switch nb.Nesting {
	case tfprotov5.SchemaNestedBlockNestingModeSet:
		return tftypes.NewValue(typ, out), nil
	case tfprotov5.SchemaNestedBlockNestingModeSingle, tfprotov5.SchemaNestedBlockNestingModeGroup:
		if len(out) == 0 {
			return tftypes.NewValue(typ, nil), nil
		}
		return out[0], nil
	default:
		if len(out) == 0 && pv.IsNull() {
			// Terraform represents an absent list block as an empty list, never null.
			return tftypes.NewValue(typ, []tftypes.Value{}), nil
		}
		return tftypes.NewValue(typ, out), nil
	}
}

func parseJSONProperty(s string) (resource.PropertyValue, error) {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return resource.PropertyValue{}, fmt.Errorf("expected JSON, got %q: %w", s, err)
	}
	return resource.NewPropertyValue(v), nil
}

func valueToTF(t tftypes.Type, pv resource.PropertyValue, opts toTFOpts, path string) (tftypes.Value, error) {
	pv = unwrap(pv)
	if pv.IsComputed() {
		return tftypes.NewValue(t, tftypes.UnknownValue), nil
	}
	if pv.IsNull() {
		return tftypes.NewValue(t, nil), nil
	}
	fail := func() (tftypes.Value, error) {
		return tftypes.Value{}, fmt.Errorf("%s: cannot use a %s as %s", path, pv.TypeString(), t)
	}
	switch {
	case t.Is(tftypes.String):
		switch {
		case pv.IsString():
			return tftypes.NewValue(t, pv.StringValue()), nil
		case pv.IsNumber():
			return tftypes.NewValue(t, strconv.FormatFloat(pv.NumberValue(), 'f', -1, 64)), nil
		case pv.IsBool():
			return tftypes.NewValue(t, strconv.FormatBool(pv.BoolValue())), nil
		}
		return fail()
	case t.Is(tftypes.Number):
		switch {
		case pv.IsNumber():
			return tftypes.NewValue(t, big.NewFloat(pv.NumberValue())), nil
		case pv.IsString():
			f, _, err := big.ParseFloat(pv.StringValue(), 10, 512, big.ToNearestEven)
			if err != nil {
				return tftypes.Value{}, fmt.Errorf("%s: %q is not a number", path, pv.StringValue())
			}
			return tftypes.NewValue(t, f), nil
		}
		return fail()
	case t.Is(tftypes.Bool):
		switch {
		case pv.IsBool():
			return tftypes.NewValue(t, pv.BoolValue()), nil
		case pv.IsString():
			b, err := strconv.ParseBool(pv.StringValue())
			if err != nil {
				return tftypes.Value{}, fmt.Errorf("%s: %q is not a bool", path, pv.StringValue())
			}
			return tftypes.NewValue(t, b), nil
		}
		return fail()
	}
	if pv.IsString() && opts.lenient {
		parsed, err := parseJSONProperty(pv.StringValue())
		if err != nil {
			return tftypes.Value{}, fmt.Errorf("%s: %w", path, err)
		}
		pv = parsed
	}
	switch tt := t.(type) {
	case tftypes.List, tftypes.Set:
		var elemType tftypes.Type
		if l, ok := tt.(tftypes.List); ok {
			elemType = l.ElementType
		} else {
			elemType = tt.(tftypes.Set).ElementType
		}
		if !pv.IsArray() {
			return fail()
		}
		var out []tftypes.Value
		for i, e := range pv.ArrayValue() {
			v, err := valueToTF(elemType, e, opts, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return tftypes.Value{}, err
			}
			out = append(out, v)
		}
		return tftypes.NewValue(t, out), nil
	case tftypes.Map:
		if !pv.IsObject() {
			return fail()
		}
		out := map[string]tftypes.Value{}
		for k, e := range pv.ObjectValue() {
			v, err := valueToTF(tt.ElementType, e, opts, path+"."+string(k))
			if err != nil {
				return tftypes.Value{}, err
			}
			out[string(k)] = v
		}
		return tftypes.NewValue(t, out), nil
	case tftypes.Object:
		if !pv.IsObject() {
			return fail()
		}
		obj := pv.ObjectValue()
		out := map[string]tftypes.Value{}
		for n, at := range tt.AttributeTypes {
			e, has := obj[resource.PropertyKey(pulumiName(n))]
			if !has {
				e = resource.NewNullProperty()
			}
			v, err := valueToTF(at, e, opts, path+"."+n)
			if err != nil {
				return tftypes.Value{}, err
			}
			out[n] = v
		}
		return tftypes.NewValue(t, out), nil
	}
	return fail()
}
