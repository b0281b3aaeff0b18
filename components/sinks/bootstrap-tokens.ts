/**
 * The cluster side of worker pools (`kube-pki:index:BootstrapTokens`), exactly as `kubeadm init` / `kubeadm token
 * create` make it (k8s.io/kubernetes cmd/kubeadm/app/phases/bootstraptoken, apis/bootstraptoken/v1 1.34):
 *  - a `bootstrap-token-<id>` Secret in kube-system per live pool token: type bootstrap.kubernetes.io/token,
 *    token-id, token-secret, expiration (RFC3339), usage-bootstrap-authentication, usage-bootstrap-signing,
 *    auth-extra-groups `system:bootstrappers:kubeadm:default-node-token,<the pool's group>`, description;
 *  - the ClusterRoleBindings kubeadm makes for node bootstrap: kubeadm:kubelet-bootstrap (→ system:node-bootstrapper),
 *    kubeadm:node-autoapprove-bootstrap (→ …:nodeclient), kubeadm:node-autoapprove-certificate-rotation (→
 *    …:selfnodeclient, for system:nodes), and kubeadm:get-nodes (ClusterRole + binding, read by `kubeadm join`);
 *  - the `cluster-info` ConfigMap in kube-public (a kubeconfig with the endpoint and CA, cluster name "") and the
 *    Role/RoleBinding kubeadm:bootstrap-signer-clusterinfo that lets system:anonymous read it. The controller-manager's
 *    bootstrapsigner adds the `jws-kubeconfig-<id>` signatures that `kubeadm join` discovery checks.
 * The bindings, the Role and cluster-info are server-side-apply patches: created when absent, adopted when kubeadm
 * made them, and retained on destroy (joined nodes keep relying on them). It uses the KubernetesSecrets sink's
 * provider (one connection to the cluster).
 */
import * as kubernetes from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { b64 } from "../kubeconfig";
import { slug } from "./secrets";

/** kubeadm constants.NodeBootstrapTokenAuthGroup. */
export const NODE_BOOTSTRAP_TOKEN_GROUP = "system:bootstrappers:kubeadm:default-node-token";

export interface BootstrapTokenSpec {
    /** Pulumi resource-name fragment (stable across runs), e.g. `general-g0`. */
    key: string;
    id: pulumi.Input<string>;
    /** Secret. */
    secret: pulumi.Input<string>;
    /** RFC3339. */
    expiration: string;
    /** Extra groups after kubeadm's default-node-token group. */
    extraGroups: string[];
    description: string;
}

export interface BootstrapTokensArgs {
    provider: kubernetes.Provider;
    tokens: BootstrapTokenSpec[];
    /** The endpoint `https://host:port` and the CA bundle that cluster-info publishes. */
    clusterInfo: { server: string; caPem: pulumi.Input<string> };
}

const RBAC = "rbac.authorization.k8s.io";

/** The `data` of a bootstrap token Secret as kubeadm's encodeTokenSecretData writes it (base64). */
export function bootstrapTokenSecretData(t: { id: string; secret: string; expiration: string; extraGroups: string[]; description: string }): Record<string, string> {
    return Object.fromEntries(
        Object.entries({
            "token-id": t.id,
            "token-secret": t.secret,
            description: t.description,
            expiration: t.expiration,
            "usage-bootstrap-authentication": "true",
            "usage-bootstrap-signing": "true",
            "auth-extra-groups": [NODE_BOOTSTRAP_TOKEN_GROUP, ...t.extraGroups].join(","),
        }).map(([k, v]) => [k, b64(v)]),
    );
}

/** The cluster-info kubeconfig (clusterinfo.CreateBootstrapConfigMapIfNotExists: one cluster named "", nothing else). */
export function clusterInfoKubeconfig(server: string, caPem: string): string {
    return stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "", cluster: { "certificate-authority-data": b64(caPem), server } }],
        contexts: null,
        "current-context": "",
        preferences: {},
        users: null,
    });
}

export class BootstrapTokens extends pulumi.ComponentResource {
    /** Secret names (`bootstrap-token-<id>`). */
    public readonly secretNames: pulumi.Output<string[]>;

    constructor(name: string, args: BootstrapTokensArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kube-pki:index:BootstrapTokens", name, {}, opts);
        const child = { parent: this, provider: args.provider };
        const kept = { ...child, retainOnDelete: true };
        const annotations = { "pulumi.com/deletionPropagationPolicy": "background" };
        const names = args.tokens.map((t) => {
            const secretName = pulumi.output(t.id).apply((id) => `bootstrap-token-${id}`);
            new kubernetes.core.v1.Secret(
                `${name}-token-${t.key}`,
                {
                    metadata: { name: secretName, namespace: "kube-system", labels: { "app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "kube-pki" }, annotations },
                    type: "bootstrap.kubernetes.io/token",
                    data: pulumi.secret(
                        pulumi.all([t.id, t.secret]).apply(([id, secret]) =>
                            bootstrapTokenSecretData({ id, secret, expiration: t.expiration, extraGroups: t.extraGroups, description: t.description }),
                        ),
                    ),
                },
                child,
            );
            return secretName;
        });
        this.secretNames = pulumi.all(names);
        const group = (n: string) => [{ apiGroup: RBAC, kind: "Group", name: n }];
        const bind = (crb: string, role: string, subject: string) =>
            new kubernetes.rbac.v1.ClusterRoleBindingPatch(
                `${name}-${slug(crb)}`,
                { metadata: { name: crb }, roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: role }, subjects: group(subject) },
                kept,
            );
        // tlsbootstrap.go: AllowBootstrapTokensToPostCSRs, AutoApproveNodeBootstrapTokens, AutoApproveNodeCertificateRotation
        bind("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", NODE_BOOTSTRAP_TOKEN_GROUP);
        bind("kubeadm:node-autoapprove-bootstrap", "system:certificates.k8s.io:certificatesigningrequests:nodeclient", NODE_BOOTSTRAP_TOKEN_GROUP);
        bind("kubeadm:node-autoapprove-certificate-rotation", "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", "system:nodes");
        // AllowBootstrapTokensToGetNodes
        new kubernetes.rbac.v1.ClusterRolePatch(
            `${name}-kubeadm-get-nodes-role`,
            { metadata: { name: "kubeadm:get-nodes" }, rules: [{ apiGroups: [""], resources: ["nodes"], verbs: ["get"] }] },
            kept,
        );
        bind("kubeadm:get-nodes", "kubeadm:get-nodes", NODE_BOOTSTRAP_TOKEN_GROUP);
        // clusterinfo.go: the ConfigMap and anonymous read access to it
        new kubernetes.core.v1.ConfigMapPatch(
            `${name}-cluster-info`,
            {
                metadata: { name: "cluster-info", namespace: "kube-public" },
                data: { kubeconfig: pulumi.output(args.clusterInfo.caPem).apply((ca) => clusterInfoKubeconfig(args.clusterInfo.server, ca)) },
            },
            kept,
        );
        const signer = "kubeadm:bootstrap-signer-clusterinfo";
        new kubernetes.rbac.v1.RolePatch(
            `${name}-clusterinfo-role`,
            { metadata: { name: signer, namespace: "kube-public" }, rules: [{ apiGroups: [""], resources: ["configmaps"], resourceNames: ["cluster-info"], verbs: ["get"] }] },
            kept,
        );
        new kubernetes.rbac.v1.RoleBindingPatch(
            `${name}-clusterinfo-binding`,
            {
                metadata: { name: signer, namespace: "kube-public" },
                roleRef: { apiGroup: RBAC, kind: "Role", name: signer },
                subjects: [{ apiGroup: RBAC, kind: "User", name: "system:anonymous" }],
            },
            kept,
        );
        this.registerOutputs({ secretNames: this.secretNames });
    }
}
