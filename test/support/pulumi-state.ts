/**
 * A real stack in a real backend for the recovery specs: the Pulumi CLI creates the stack and imports a deployment
 * holding a real private key as a secret (the CLI encrypts it); pending operations, which `pulumi stack import`
 * always clears, are then planted into the file backend's checkpoint as a killed engine leaves them.
 */
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { findPulumi } from "../../scripts/workspace";

export const SECRET_SIG = "4dabf18193072939515e22adb298388d";
export const PASSPHRASE = "kube-pki-spec-passphrase";

export const pulumiCli = (): string | undefined => findPulumi();

export interface TestStack {
    project: string;
    env: NodeJS.ProcessEnv;
    name: string;
    keyPem: string;
    cli(args: string[]): string;
}

/** A project dir (Pulumi.yaml of `kube-pki`) and a stack `name` in `backendUrl` holding one tls key, its PEM secret. */
export function createTestStack(dir: string, backendUrl: string, name: string, extraEnv: NodeJS.ProcessEnv = {}, outputs: object = {}): TestStack {
    const project = path.join(dir, "project");
    fs.mkdirSync(project, { recursive: true });
    const root = backendUrl.startsWith("file://") ? backendUrl.slice("file://".length) : undefined;
    if (root) fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(project, "Pulumi.yaml"), "name: kube-pki\nruntime: nodejs\n");
    const env: NodeJS.ProcessEnv = {
        ...process.env,
        PULUMI_BACKEND_URL: backendUrl,
        PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_HOME: path.join(dir, "pulumi-home"),
        ...extraEnv,
    };
    const cli = (args: string[]) => execFileSync("pulumi", [...args, "--non-interactive"], { cwd: project, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    cli(["stack", "init", name]);
    const keyPem = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const exported = JSON.parse(cli(["stack", "export", "--stack", name]));
    const u = (type: string, n: string) => `urn:pulumi:${name}::kube-pki::${type}::${n}`;
    const stackUrn = u("pulumi:pulumi:Stack", `kube-pki-${name}`);
    const provUrn = u("pulumi:providers:tls", "default_5_6_1");
    const provRef = `${provUrn}::04da6b54-80e4-46f7-96ec-b56ff0331ba9`;
    exported.deployment.resources = [
        { urn: stackUrn, custom: false, type: "pulumi:pulumi:Stack", outputs },
        { urn: provUrn, custom: true, id: "04da6b54-80e4-46f7-96ec-b56ff0331ba9", type: "pulumi:providers:tls", inputs: { version: "5.6.1" }, outputs: { version: "5.6.1" }, parent: stackUrn },
        {
            urn: u("tls:index/privateKey:PrivateKey", "ca-key"),
            custom: true,
            id: "ca-key-id",
            type: "tls:index/privateKey:PrivateKey",
            provider: provRef,
            parent: stackUrn,
            protect: true,
            inputs: { algorithm: "ECDSA", ecdsaCurve: "P256" },
            outputs: { algorithm: "ECDSA", ecdsaCurve: "P256", privateKeyPem: { [SECRET_SIG]: "1b47061264138c4ac30d75fd1eb44270", plaintext: JSON.stringify(keyPem) } },
        },
    ];
    const file = path.join(dir, "import.json");
    fs.writeFileSync(file, JSON.stringify(exported), { mode: 0o600 });
    cli(["stack", "import", "--stack", name, "--file", file]);
    fs.rmSync(file);
    return { project, env, name, keyPem, cli };
}

/** The pending operations a kill -9 of the engine mid-run leaves (tls, NodeFiles, components, a kubernetes update). */
export function pendingOps(name: string) {
    const u = (type: string, n: string) => `urn:pulumi:${name}::kube-pki::${type}::${n}`;
    return [
        { resource: { urn: u("tls:index/locallySignedCert:LocallySignedCert", "apiserver-cert"), custom: true, type: "tls:index/locallySignedCert:LocallySignedCert" }, type: "creating" },
        { resource: { urn: u("pulumi-nodejs:dynamic:NodeFiles", "cp-1-files"), custom: true, type: "pulumi-nodejs:dynamic:NodeFiles" }, type: "creating" },
        { resource: { urn: u("kubernetes:core/v1:Secret", "admin-tls"), custom: true, type: "kubernetes:core/v1:Secret" }, type: "updating" },
        // the engine records component resources too (custom: false): state only
        { resource: { urn: u("kube-pki:index:ClusterPki$kube-pki:index:LeafCertificate", "kubelet.conf-cp-1"), custom: false, type: "kube-pki:index:LeafCertificate" }, type: "creating" },
        { resource: { urn: u("kube-pki:index:NodeFiles", "cp-2"), type: "kube-pki:index:NodeFiles" }, type: "deleting" },
    ];
}

/** Every file under `dir` whose bytes contain `needle`. */
export function filesContaining(dir: string, needle: string): string[] {
    const out: string[] = [];
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const full = path.join(d, e.name);
            if (e.isDirectory()) walk(full);
            else if (e.isFile() && fs.readFileSync(full).includes(needle)) out.push(full);
        }
    };
    if (fs.existsSync(dir)) walk(dir);
    return out;
}
