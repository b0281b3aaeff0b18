// A Go Pulumi program using kube-pki, added with `pulumi package add <kube-pki>/provider` (see README.md).
// The e2e step consumer-go runs this file as it is.
package main

import (
	"github.com/kube-pki/pulumi-kube-pki/sdk/go/kubepki"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		cfg := config.New(ctx, "")
		clusterName := cfg.Get("clusterName")
		if clusterName == "" {
			clusterName = "example"
		}
		caPhase := cfg.Get("caPhase") // `pulumi config set caPhase stage`, then promote, distrust
		if caPhase == "" {
			caPhase = "none"
		}
		bindPort := float64(cfg.RequireInt("bindPort"))
		pki, err := kubepki.NewClusterPki(ctx, "pki", &kubepki.ClusterPkiArgs{
			ClusterName:          clusterName,
			ControlPlaneEndpoint: cfg.Require("endpoint"),
			ApiServerBindPort:    &bindPort,
			ControlPlanes:        []kubepki.ControlPlaneNodeArgs{{Name: "cp-1", AdvertiseAddress: "127.0.0.1"}},
			Workers:              []kubepki.WorkerNodeArgs{{Name: "worker-1", Addresses: []string{"127.0.0.2"}}},
			Users:                []kubepki.ExtraUserArgs{{Name: "alice", Group: pulumi.StringRef("dev-team")}},
			CaRotation:           map[string]string{"ca": caPhase},
		})
		if err != nil {
			return err
		}
		// each node's kubeadm tree, written under nodesDir/<node>/ with its modes (keys 0600, certs 0644)
		if nodesDir := cfg.Get("nodesDir"); nodesDir != "" {
			for _, node := range []string{"cp-1", "worker-1"} {
				files := pki.NodeFiles.MapIndex(pulumi.String(node))
				if _, err := kubepki.NewNodeFiles(ctx, "files-"+node, &kubepki.NodeFilesArgs{RootDir: nodesDir, Node: node, Files: files}); err != nil {
					return err
				}
			}
		}
		ctx.Export("kubePkiMemory", pki.Memory) // the component's memory: required for CA rotation
		ctx.Export("nodeFiles", pki.NodeFiles)
		ctx.Export("kubeconfigs", pki.Kubeconfigs)                                      // secret
		ctx.Export("workerUserData", pki.CloudInit.MapIndex(pulumi.String("worker-1"))) // secret
		return nil
	})
}
