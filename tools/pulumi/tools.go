//go:build tools

// Package tools pins the Pulumi CLI (github.com/pulumi/pulumi/pkg/v3/cmd/pulumi) for scripts/tools.sh.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
