/** The real kubeadm, for specs that compare with it (skipped when it is not built). */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** The kubeadm built by scripts/tools.sh (or on PATH), when there is one. */
export function findKubeadm(): string | undefined {
    const dirs = (process.env.PATH ?? "").split(":");
    try {
        const tools = execFileSync("bash", [path.resolve(__dirname, "../../scripts/tools.sh"), "path", "kubernetes"], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "ignore"],
        }).trim();
        if (tools) dirs.unshift(...tools.split(":"));
    } catch {
        // no tool cache
    }
    return dirs.map((d) => path.join(d, "kubeadm")).find((f) => d(f));
    function d(f: string) {
        try {
            fs.accessSync(f, fs.constants.X_OK);
            return true;
        } catch {
            return false;
        }
    }
}

export interface KubeadmNetworkInput {
    controlPlaneEndpoint?: string;
    serviceSubnet?: string;
    dnsDomain?: string;
    certSANs?: string[];
    advertiseAddress?: string;
    bindPort?: number;
    nodeName?: string;
}

/** kubeadm v1beta4 Init + Cluster configuration holding the fields kube-pki's network and node rules mirror. */
export function kubeadmConfig(i: KubeadmNetworkInput): string {
    const q = (v: string) => JSON.stringify(v);
    return [
        "apiVersion: kubeadm.k8s.io/v1beta4",
        "kind: InitConfiguration",
        "localAPIEndpoint:",
        `  advertiseAddress: ${q(i.advertiseAddress ?? "10.0.0.11")}`,
        `  bindPort: ${i.bindPort ?? 6443}`,
        "nodeRegistration:",
        `  name: ${q(i.nodeName ?? "cp-1")}`,
        "  criSocket: unix:///var/run/containerd/containerd.sock",
        "---",
        "apiVersion: kubeadm.k8s.io/v1beta4",
        "kind: ClusterConfiguration",
        "kubernetesVersion: v1.34.4", // no lookup of "stable-1" on dl.k8s.io
        `controlPlaneEndpoint: ${q(i.controlPlaneEndpoint ?? "api.test.example:6443")}`,
        "networking:",
        `  serviceSubnet: ${q(i.serviceSubnet ?? "10.96.0.0/12")}`,
        `  dnsDomain: ${q(i.dnsDomain ?? "cluster.local")}`,
        `apiServer:`,
        `  certSANs: ${JSON.stringify(i.certSANs ?? [])}`,
        "",
    ].join("\n");
}

/** `kubeadm config validate --config <file>`: kubeadm's own verdict (its defaulting and validation, no host checks). */
export function kubeadmValidate(kubeadm: string, config: string): { ok: boolean; output: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-kubeadm-"));
    const file = path.join(dir, "kubeadm.yaml");
    fs.writeFileSync(file, config);
    try {
        const out = execFileSync(kubeadm, ["config", "validate", "--config", file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        return { ok: true, output: out };
    } catch (e) {
        const err = e as { stdout?: string; stderr?: string };
        return { ok: false, output: `${err.stdout ?? ""}${err.stderr ?? ""}` };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
