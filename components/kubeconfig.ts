import { stringify } from "yaml";

export interface KubeconfigParams {
    clusterName: string;
    server: string;
    /** PEM bundle of every CA the client trusts for the server. */
    caPem: string;
    userName: string;
    certPem: string;
    keyPem: string;
}

/** Base64 of a UTF-8 string (kubeconfig `*-data` fields, Secret `data`). */
export const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/** Renders a kubeconfig the way kubeadm writes it (kubeconfigutil.CreateWithCerts). */
export function renderKubeconfig(p: KubeconfigParams): string {
    return kubeconfigDocument(p, { "client-certificate-data": b64(p.certPem), "client-key-data": b64(p.keyPem) });
}

/** The user kubeadm puts in bootstrap-kubelet.conf (kubeadm app/discovery TokenUser). */
export const TOKEN_USER = "tls-bootstrap-token-user";

/** A bootstrap-token kubeconfig the way `kubeadm join` writes bootstrap-kubelet.conf (kubeconfigutil.CreateWithToken). */
export function renderTokenKubeconfig(p: Omit<KubeconfigParams, "userName" | "certPem" | "keyPem"> & { token: string }): string {
    return kubeconfigDocument({ ...p, userName: TOKEN_USER }, { token: p.token });
}

function kubeconfigDocument(p: Pick<KubeconfigParams, "clusterName" | "server" | "caPem" | "userName">, user: Record<string, string>): string {
    const context = `${p.userName}@${p.clusterName}`;
    return stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: p.clusterName, cluster: { "certificate-authority-data": b64(p.caPem), server: p.server } }],
        contexts: [{ name: context, context: { cluster: p.clusterName, user: p.userName } }],
        "current-context": context,
        preferences: {},
        users: [{ name: p.userName, user }],
    });
}

/** `https://host:port`, with IPv6 hosts bracketed. */
export function serverUrl(host: string, port: number): string {
    return `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
}
