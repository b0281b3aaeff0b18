//go:build tools

// Package tools pins the Pulumi YAML language host (github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml) for
// scripts/tools.sh. It is built against the same pulumi sdk/pkg as the CLI (tools/pulumi), so the two share the
// module and build caches.
package tools

import _ "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml"
