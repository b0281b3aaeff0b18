//go:build tools

// Package tools pins etcd (go.etcd.io/etcd/server/v3, package main) and etcdctl for scripts/tools.sh.
package tools

import (
	_ "go.etcd.io/etcd/etcdctl/v3"
	_ "go.etcd.io/etcd/server/v3"
)
