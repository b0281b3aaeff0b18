//go:build tools

// Package tools pins the Vault server (github.com/hashicorp/vault, package main; version: tools/versions.env) for scripts/tools.sh. A test tool
// only (e2e step vault), never shipped. Built with -tags minimal: Vault's own minimal build (Makefile
// BUILD_MINIMAL), which keeps the core and the kv, pki, ssh, transit engines and drops the cloud plugins.
package tools

import (
	_ "github.com/hashicorp/vault"
)
