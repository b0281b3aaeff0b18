//go:build tools

// Package tools pins kubeadm, kube-apiserver, kube-controller-manager, kube-scheduler and kubectl
// (k8s.io/kubernetes) for scripts/tools.sh.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubeadm"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
