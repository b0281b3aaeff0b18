//go:build tools

// Package tools pins kubeadm, kube-apiserver and kubectl (k8s.io/kubernetes) for scripts/tools.sh.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubeadm"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
