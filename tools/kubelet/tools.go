//go:build tools

// Package tools pins the kubelet (k8s.io/kubernetes cmd/kubelet) for scripts/tools.sh: its own wrapper module, so
// adding it keeps the kubernetes tool's cache entry valid. Same k8s.io/kubernetes version and staging replaces.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kubelet"
)
