package main

import (
	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// ---- Terraform core's "proposed new state" ---------------------------------------------------------------

// proposedNew merges configuration and prior state the way Terraform core does before PlanResourceChange:
// configured values win; unset computed attributes keep their prior value; everything else is null.
func proposedNew(b *tfprotov5.SchemaBlock, prior, config tftypes.Value) (tftypes.Value, error) {
	typ := blockType(b)
	if config.IsNull() {
		return config, nil
	}
	if !config.IsKnown() {
		return config, nil
	}
	var cfg map[string]tftypes.Value
	if err := config.As(&cfg); err != nil {
		return tftypes.Value{}, err
	}
	var pri map[string]tftypes.Value
	priorKnown := !prior.IsNull() && prior.IsKnown()
	if priorKnown {
		if err := prior.As(&pri); err != nil {
			return tftypes.Value{}, err
		}
	}
	out := map[string]tftypes.Value{}
	for _, a := range b.Attributes {
		c := cfg[a.Name]
		switch {
		case a.Computed && c.IsNull():
			if priorKnown {
				out[a.Name] = pri[a.Name]
			} else {
				out[a.Name] = tftypes.NewValue(a.Type, nil)
			}
		default:
			out[a.Name] = c
		}
	}
	for _, nb := range b.BlockTypes {
		c := cfg[nb.TypeName]
		if !c.IsKnown() || c.IsNull() {
			out[nb.TypeName] = c
			continue
		}
		switch nb.Nesting {
		case tfprotov5.SchemaNestedBlockNestingModeList:
			var ce, pe []tftypes.Value
			if err := c.As(&ce); err != nil {
				return tftypes.Value{}, err
			}
			if priorKnown {
				if p := pri[nb.TypeName]; p.IsKnown() && !p.IsNull() {
					if err := p.As(&pe); err != nil {
						return tftypes.Value{}, err
					}
				}
			}
			var merged []tftypes.Value
			for i, e := range ce {
				p := tftypes.NewValue(blockType(nb.Block), nil)
				if i < len(pe) {
					p = pe[i]
				}
				m, err := proposedNew(nb.Block, p, e)
				if err != nil {
					return tftypes.Value{}, err
				}
				merged = append(merged, m)
			}
			out[nb.TypeName] = tftypes.NewValue(nestedBlockType(nb), merged)
		default:
			out[nb.TypeName] = c
		}
	}
	return tftypes.NewValue(typ, out), nil
}
