/**
 * The kubeadm certificate catalog, as data.
 *
 * This table mirrors kubeadm's `cmd/kubeadm/app/phases/certs/certlist.go` and `phases/kubeconfig` (v1.29+).
 * Every other part of kube-pki walks these tables; nothing else knows a certificate's identity.
 * Review it by diffing it against kubeadm: ids, files, CNs, Os, usages and SAN sets are kubeadm's.
 *
 * Templates: `{node}` is the node name, `{user}` / `{group}` an extra user's name and group.
 */

/** The three cluster CAs (kubeadm: KubeadmCertRootCA, KubeadmCertEtcdCA, KubeadmCertFrontProxyCA). */
export type CaId = "ca" | "etcd-ca" | "front-proxy-ca";

/** Which optional part of the cluster a catalog entry belongs to. Entries without one always exist. */
export type Feature = "stackedEtcd" | "frontProxy" | "superAdmin" | "kubeProxy" | "kubeletServing";

/** Where a certificate is issued: once per cluster, per control-plane node, per etcd member, per node, per user. */
export type Scope = "cluster" | "control-plane" | "etcd-member" | "node" | "user";

/** Which SAN set a leaf carries (see identity.ts SAN_SETS); kubeadm: GetAPIServerAltNames, GetEtcdAltNames, ... */
export type SanSet = "apiserver" | "etcd" | "kubelet-serving";

/**
 * The kubeconfig's `server`: the control-plane endpoint, or "local": a control plane's own apiserver
 * (`https://<advertiseAddress>:<bindPort>`; for kubelet.conf this is kubeadm ≥ 1.33's ControlPlaneKubeletLocalMode,
 * on by default) — nodes without an apiserver (workers) use the endpoint.
 */
export type ServerKind = "endpoint" | "local";

/** Key usages in the tls provider's snake_case vocabulary (docs/design.md#provider-facts: camelCase is rejected). */
export type Usage = "digital_signature" | "key_encipherment" | "cert_signing" | "server_auth" | "client_auth";

export interface CaEntry {
    id: CaId;
    /** kubeadm layout, relative to the node root: `<file>.crt` and `<file>.key`. */
    file: string;
    commonName: string;
    /** Name of the stack config key that selects this CA's key algorithm. */
    keyConfig: "caKeyAlgorithm" | "etcdCaKeyAlgorithm" | "frontProxyCaKeyAlgorithm";
    feature?: Feature;
    /**
     * The active generation's certificate ALONE, next to `<file>.key` (not kubeadm's: kube-pki's). kubeadm points
     * kube-controller-manager's CSR signer (`--cluster-signing-cert-file`) at `<file>.crt`, but the signer refuses a
     * file with more than one certificate ("expected 1 certificate"), and `<file>.crt` is the trust bundle (two CAs)
     * from stage to distrust: the signer reads this file instead (docs/rollout.md#who-reads-what).
     */
    signingCertFile?: string;
}

export interface LeafEntry {
    /** kubeadm's certificate name (`kubeadm certs check-expiration` CERTIFICATE column), or the kubeconfig file. */
    id: string;
    ca: CaId;
    scope: Scope;
    commonName: string;
    organization?: string;
    extendedUsages: Usage[];
    sans?: SanSet;
    /** A certificate file pair `<file>.crt` / `<file>.key` relative to the node root... */
    file?: string;
    /** ...or a kubeconfig embedding the client cert, relative to the node root. */
    kubeconfig?: string;
    server?: ServerKind;
    feature?: Feature;
    /** Which nodes get the file of a cluster-scoped entry (kubeadm writes super-admin.conf on the first one only). */
    placement?: "first-control-plane" | "control-planes" | "all-nodes" | "none";
    /** false: `kubeadm certs check-expiration` / `renew` does not manage it (not kubeadm's, or the kubelet rotates it). */
    kubeadmCerts?: false;
}

/** Key usages of every CA (kubeadm pkiutil.NewSelfSignedCACert). */
export const CA_USAGES: Usage[] = ["digital_signature", "key_encipherment", "cert_signing"];
/** Key usages of every leaf (kubeadm pkiutil.NewSignedCert); the extended usages come from the entry. */
export const LEAF_KEY_USAGES: Usage[] = ["digital_signature", "key_encipherment"];

export const CAS: CaEntry[] = [
    { id: "ca", file: "etc/kubernetes/pki/ca", commonName: "kubernetes", keyConfig: "caKeyAlgorithm", signingCertFile: "etc/kubernetes/pki/ca-signer.crt" },
    {
        id: "etcd-ca",
        file: "etc/kubernetes/pki/etcd/ca",
        commonName: "etcd-ca",
        keyConfig: "etcdCaKeyAlgorithm",
        feature: "stackedEtcd",
    },
    {
        id: "front-proxy-ca",
        file: "etc/kubernetes/pki/front-proxy-ca",
        commonName: "front-proxy-ca",
        keyConfig: "frontProxyCaKeyAlgorithm",
        feature: "frontProxy",
    },
];

/** The service-account signing key pair (kubeadm: certsphase.CreateServiceAccountKeyAndPublicKeyFiles). */
export const SERVICE_ACCOUNT_KEY = {
    id: "sa",
    keyFile: "etc/kubernetes/pki/sa.key",
    publicKeyFile: "etc/kubernetes/pki/sa.pub",
} as const;

// prettier-ignore
export const LEAVES: LeafEntry[] = [
    // --- certificates (kubeadm certlist.go) ---
    { id: "apiserver",                ca: "ca",             scope: "control-plane", commonName: "kube-apiserver",                                              extendedUsages: ["server_auth"],                sans: "apiserver", file: "etc/kubernetes/pki/apiserver" },
    { id: "apiserver-kubelet-client", ca: "ca",             scope: "control-plane", commonName: "kube-apiserver-kubelet-client", organization: "kubeadm:cluster-admins", extendedUsages: ["client_auth"],           file: "etc/kubernetes/pki/apiserver-kubelet-client" },
    { id: "apiserver-etcd-client",    ca: "etcd-ca",        scope: "control-plane", commonName: "kube-apiserver-etcd-client",                                  extendedUsages: ["client_auth"],                file: "etc/kubernetes/pki/apiserver-etcd-client", feature: "stackedEtcd" },
    { id: "front-proxy-client",       ca: "front-proxy-ca", scope: "control-plane", commonName: "front-proxy-client",                                          extendedUsages: ["client_auth"],                file: "etc/kubernetes/pki/front-proxy-client", feature: "frontProxy" },
    { id: "etcd-server",              ca: "etcd-ca",        scope: "etcd-member",   commonName: "{node}",                                                      extendedUsages: ["server_auth", "client_auth"], sans: "etcd", file: "etc/kubernetes/pki/etcd/server", feature: "stackedEtcd" },
    { id: "etcd-peer",                ca: "etcd-ca",        scope: "etcd-member",   commonName: "{node}",                                                      extendedUsages: ["server_auth", "client_auth"], sans: "etcd", file: "etc/kubernetes/pki/etcd/peer", feature: "stackedEtcd" },
    { id: "etcd-healthcheck-client",  ca: "etcd-ca",        scope: "etcd-member",   commonName: "kube-etcd-healthcheck-client",                                extendedUsages: ["client_auth"],                file: "etc/kubernetes/pki/etcd/healthcheck-client", feature: "stackedEtcd" },
    { id: "kubelet-serving",          ca: "ca",             scope: "node",          commonName: "system:node:{node}", organization: "system:nodes",             extendedUsages: ["server_auth"], sans: "kubelet-serving", file: "var/lib/kubelet/pki/kubelet", feature: "kubeletServing", kubeadmCerts: false },
    // --- kubeconfigs (kubeadm phases/kubeconfig), client certs signed by `ca` ---
    { id: "admin.conf",               ca: "ca",             scope: "cluster",       commonName: "kubernetes-admin",       organization: "kubeadm:cluster-admins", extendedUsages: ["client_auth"], kubeconfig: "etc/kubernetes/admin.conf", server: "endpoint", placement: "control-planes" },
    { id: "super-admin.conf",         ca: "ca",             scope: "cluster",       commonName: "kubernetes-super-admin", organization: "system:masters",         extendedUsages: ["client_auth"], kubeconfig: "etc/kubernetes/super-admin.conf", server: "endpoint", placement: "first-control-plane", feature: "superAdmin" },
    { id: "controller-manager.conf",  ca: "ca",             scope: "control-plane", commonName: "system:kube-controller-manager",                               extendedUsages: ["client_auth"], kubeconfig: "etc/kubernetes/controller-manager.conf", server: "local" },
    { id: "scheduler.conf",           ca: "ca",             scope: "control-plane", commonName: "system:kube-scheduler",                                        extendedUsages: ["client_auth"], kubeconfig: "etc/kubernetes/scheduler.conf", server: "local" },
    { id: "kubelet.conf",             ca: "ca",             scope: "node",          commonName: "system:node:{node}",     organization: "system:nodes",         extendedUsages: ["client_auth"], kubeconfig: "etc/kubernetes/kubelet.conf", server: "local", kubeadmCerts: false },
    { id: "kube-proxy.conf",          ca: "ca",             scope: "cluster",       commonName: "system:kube-proxy",                                            extendedUsages: ["client_auth"], kubeconfig: "etc/kubernetes/kube-proxy.conf", server: "endpoint", placement: "all-nodes", feature: "kubeProxy", kubeadmCerts: false },
    { id: "user",                     ca: "ca",             scope: "user",          commonName: "{user}",                 organization: "{group}",              extendedUsages: ["client_auth"], server: "endpoint", placement: "none", kubeadmCerts: false },
];

/** kubeadm's default validity periods (constants.CACertificateValidityPeriod / CertificateValidityPeriod). */
export const DEFAULT_CA_VALIDITY_HOURS = 87600;
export const DEFAULT_LEAF_VALIDITY_HOURS = 8760;
/** cert-manager style renewal windows: leaves renew 30 days, CAs one year before they expire. */
export const DEFAULT_LEAF_RENEW_BEFORE_HOURS = 720;
export const DEFAULT_CA_RENEW_BEFORE_HOURS = 8760;

/** kubeadm v1beta4 `encryptionAlgorithm` names. */
export const KEY_ALGORITHMS = ["RSA-2048", "RSA-3072", "RSA-4096", "ECDSA-P256", "ECDSA-P384"] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];
export const DEFAULT_KEY_ALGORITHM: KeyAlgorithm = "RSA-2048";

export function caEntry(id: CaId): CaEntry {
    const entry = CAS.find((c) => c.id === id);
    if (!entry) throw new Error(`unknown CA ${id}`);
    return entry;
}

/** The components kube-pki restarts on a node (kubeadm's static pods plus the kubelet). */
export const COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet"] as const;
export type Component = (typeof COMPONENTS)[number];

/** One component reading one file: the flag it reads it through, and whether it picks a new file up by itself. */
export interface FileReader {
    component: Component;
    flag: string;
    reloads: boolean;
}

/**
 * Who reads what (docs/rollout.md#who-reads-what cites the upstream code of each row). Keyed by path relative to
 * the node root; a file no component reads (admin.conf, CA keys other than ca.key, the healthcheck client) has
 * no row: changing it restarts nothing. kubeadm's flags.
 */
// prettier-ignore
export const FILE_READERS: Record<string, FileReader[]> = {
    "etc/kubernetes/pki/ca.crt": [
        { component: "kube-apiserver",          flag: "--client-ca-file",                      reloads: true },
        { component: "kube-controller-manager", flag: "--client-ca-file",                      reloads: true },
        { component: "kube-controller-manager", flag: "--root-ca-file",                        reloads: false },
        { component: "kubelet",                 flag: "clientCAFile",                          reloads: true },
    ],
    "etc/kubernetes/pki/ca-signer.crt":                 [{ component: "kube-controller-manager", flag: "--cluster-signing-cert-file",      reloads: true }],
    "etc/kubernetes/pki/ca.key":                        [{ component: "kube-controller-manager", flag: "--cluster-signing-key-file",       reloads: true }],
    "etc/kubernetes/pki/apiserver.crt":                 [{ component: "kube-apiserver", flag: "--tls-cert-file",                      reloads: true }],
    "etc/kubernetes/pki/apiserver.key":                 [{ component: "kube-apiserver", flag: "--tls-private-key-file",               reloads: true }],
    "etc/kubernetes/pki/apiserver-kubelet-client.crt":  [{ component: "kube-apiserver", flag: "--kubelet-client-certificate",         reloads: true }],
    "etc/kubernetes/pki/apiserver-kubelet-client.key":  [{ component: "kube-apiserver", flag: "--kubelet-client-key",                 reloads: true }],
    "etc/kubernetes/pki/apiserver-etcd-client.crt":     [{ component: "kube-apiserver", flag: "--etcd-certfile",                      reloads: true }],
    "etc/kubernetes/pki/apiserver-etcd-client.key":     [{ component: "kube-apiserver", flag: "--etcd-keyfile",                       reloads: true }],
    "etc/kubernetes/pki/front-proxy-client.crt":        [{ component: "kube-apiserver", flag: "--proxy-client-cert-file",             reloads: true }],
    "etc/kubernetes/pki/front-proxy-client.key":        [{ component: "kube-apiserver", flag: "--proxy-client-key-file",              reloads: true }],
    "etc/kubernetes/pki/front-proxy-ca.crt": [
        { component: "kube-apiserver",          flag: "--requestheader-client-ca-file",        reloads: true },
        { component: "kube-controller-manager", flag: "--requestheader-client-ca-file",        reloads: true },
    ],
    "etc/kubernetes/pki/etcd/ca.crt": [
        { component: "etcd",                    flag: "--trusted-ca-file, --peer-trusted-ca-file", reloads: false },
        { component: "kube-apiserver",          flag: "--etcd-cafile",                         reloads: false },
    ],
    "etc/kubernetes/pki/etcd/server.crt":               [{ component: "etcd", flag: "--cert-file",                                    reloads: true }],
    "etc/kubernetes/pki/etcd/server.key":               [{ component: "etcd", flag: "--key-file",                                     reloads: true }],
    "etc/kubernetes/pki/etcd/peer.crt":                 [{ component: "etcd", flag: "--peer-cert-file",                               reloads: true }],
    "etc/kubernetes/pki/etcd/peer.key":                 [{ component: "etcd", flag: "--peer-key-file",                                reloads: true }],
    "etc/kubernetes/pki/sa.key": [
        { component: "kube-apiserver",          flag: "--service-account-signing-key-file",    reloads: false },
        { component: "kube-controller-manager", flag: "--service-account-private-key-file",    reloads: false },
    ],
    "etc/kubernetes/pki/sa.pub":                        [{ component: "kube-apiserver", flag: "--service-account-key-file",           reloads: false }],
    "etc/kubernetes/controller-manager.conf":           [{ component: "kube-controller-manager", flag: "--kubeconfig (embedded data)", reloads: false }],
    "etc/kubernetes/scheduler.conf":                    [{ component: "kube-scheduler", flag: "--kubeconfig (embedded data)",         reloads: false }],
    "etc/kubernetes/kubelet.conf":                      [{ component: "kubelet", flag: "--kubeconfig (embedded data)",                reloads: false }],
    "var/lib/kubelet/pki/kubelet.crt":                  [{ component: "kubelet", flag: "tlsCertFile",                                 reloads: false }],
    "var/lib/kubelet/pki/kubelet.key":                  [{ component: "kubelet", flag: "tlsPrivateKeyFile",                           reloads: false }],
};
