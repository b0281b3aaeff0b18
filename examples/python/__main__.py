"""A Python Pulumi program using kube-pki, added with `pulumi package add <kube-pki>/provider` (see README.md).
The e2e step consumer-python runs this file as it is."""
import pulumi
import kube_pki_kube_pki as kube_pki


config = pulumi.Config()
bind_port = config.require_int("bindPort")
pki = kube_pki.ClusterPki(
    "pki",
    cluster_name=config.get("clusterName") or "example",
    control_plane_endpoint=config.require("endpoint"),
    api_server_bind_port=bind_port,
    control_planes=[kube_pki.ControlPlaneNodeArgs(name="cp-1", advertise_address="127.0.0.1")],
    workers=[kube_pki.WorkerNodeArgs(name="worker-1", addresses=["127.0.0.2"])],
    users=[kube_pki.ExtraUserArgs(name="alice", group="dev-team")],
    # `pulumi config set caPhase stage`, then promote, distrust
    ca_rotation={"ca": config.get("caPhase") or "none"},
)

# each node's kubeadm tree, written under nodesDir/<node>/ with its modes (keys 0600, certs 0644)
nodes_dir = config.get("nodesDir")
if nodes_dir:
    for node in ["cp-1", "worker-1"]:
        kube_pki.NodeFiles(f"files-{node}", node=node, root_dir=nodes_dir, files=pki.node_files[node])

pulumi.export("kubePkiMemory", pki.memory)  # the component's memory: required for CA rotation
pulumi.export("nodeFiles", pki.node_files)
pulumi.export("kubeconfigs", pki.kubeconfigs)  # secret
pulumi.export("workerUserData", pki.cloud_init["worker-1"])  # secret
