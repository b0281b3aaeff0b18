// pulumi-resource-kubernetes, built from github.com/pulumi/pulumi-kubernetes/provider/v4 (see tools/versions.env).
// Upstream's cmd/pulumi-resource-kubernetes embeds schema-embed.json, a file its Makefile generates; this wrapper
// embeds the same two files, which scripts/tools.sh copies from the module (schema.json, terraform-mapping.json).
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
