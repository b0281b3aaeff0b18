/** kube-pki: a Kubernetes cluster's PKI as Pulumi components. */
export * from "./catalog";
export * from "./config";
export * from "./keys";
export * from "./kubeconfig";
export * from "./identity";
export * from "./ca";
export * from "./leaf";
export * from "./cluster-pki";
export * from "./memory";
export * from "./stack-config";
export * from "./rotation";
export * from "./root-pki";
export * from "./sinks";
export * from "./vault";
export * from "./worker-pool";
