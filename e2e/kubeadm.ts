/**
 * kubeadm v1.34 against kube-pki node trees:
 *  - `kubeadm certs check-expiration`: kubeadm reads certs from --cert-dir but kubeconfigs only from
 *    /etc/kubernetes (hard-coded), so it runs with `--rootfs <node dir>` (chroot) to read the tree as a node would;
 *  - `kubeadm init phase certs all` / `kubeconfig all` on a copy of the tree must reuse every file ("Using
 *    existing ...") and change none;
 *  - the same phases on an empty dir give kubeadm's own tree for the same config: every certificate's and
 *    kubeconfig's identity (subject, SANs, key usages, servers) is compared with ours.
 *
 * kubeadm cannot take a loopback advertise address: SetAPIEndpointDynamicDefaults treats 127.0.0.0/8 as "pick
 * the global unicast address of the lo interface" and fails with "unable to select an IP from lo network
 * interface". The init phases therefore run on a node-like config (advertiseAddress 10.0.0.11, nothing binds to
 * it); check-expiration needs only a ClusterConfiguration and runs on the loopback tree too.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml, stringify } from "yaml";
import { Suite } from "./harness";
import { run, runOk } from "./procs";
import { diffFingerprints, fingerprint } from "./tree";
import { parseCert } from "../test/support/x509";

export interface KubeadmParams {
    clusterName: string;
    nodeName: string;
    advertiseAddress: string;
    bindPort: number;
    /** host:port */
    controlPlaneEndpoint: string;
    serviceSubnet: string;
    dnsDomain: string;
    certSANs?: string[];
    kubernetesVersion: string;
}

export function clusterConfiguration(p: KubeadmParams, certificatesDir: string) {
    return {
        apiVersion: "kubeadm.k8s.io/v1beta4",
        kind: "ClusterConfiguration",
        clusterName: p.clusterName,
        kubernetesVersion: p.kubernetesVersion,
        controlPlaneEndpoint: p.controlPlaneEndpoint,
        certificatesDir,
        networking: { serviceSubnet: p.serviceSubnet, dnsDomain: p.dnsDomain },
        ...(p.certSANs?.length ? { apiServer: { certSANs: p.certSANs } } : {}),
    };
}

export function initConfiguration(p: KubeadmParams) {
    return {
        apiVersion: "kubeadm.k8s.io/v1beta4",
        kind: "InitConfiguration",
        localAPIEndpoint: { advertiseAddress: p.advertiseAddress, bindPort: p.bindPort },
        // explicit, so that kubeadm does not probe for a container runtime
        nodeRegistration: { name: p.nodeName, criSocket: "unix:///var/run/containerd/containerd.sock" },
    };
}

const yamlDocs = (...docs: object[]) => docs.map((d) => stringify(d)).join("---\n");

/** kubeadm's certificate list (renewal manager) with each cert's CA, for a stacked-etcd control plane. */
export const KUBEADM_CERTS: Record<string, string> = {
    "admin.conf": "ca",
    "super-admin.conf": "ca",
    "controller-manager.conf": "ca",
    "scheduler.conf": "ca",
    apiserver: "ca",
    "apiserver-kubelet-client": "ca",
    "apiserver-etcd-client": "etcd-ca",
    "front-proxy-client": "front-proxy-ca",
    "etcd-server": "etcd-ca",
    "etcd-peer": "etcd-ca",
    "etcd-healthcheck-client": "etcd-ca",
};
export const KUBEADM_CAS = ["ca", "etcd-ca", "front-proxy-ca"];

interface ExpirationInfo {
    certificates: { name: string; caName: string; residualTime: number; externallyManaged: boolean; missing: boolean }[];
    certificateAuthorities: { name: string; residualTime: number; externallyManaged: boolean; missing: boolean }[];
}

/**
 * `kubeadm certs check-expiration` on a node tree, read in place (chroot): every kubeadm certificate and CA is
 * listed, none missing, with the right CA, CA keys present (not "externally managed"), and the residual time of
 * a fresh cert; the tree is unchanged afterwards.
 */
export async function checkExpiration(
    suite: Suite,
    label: string,
    nodeDir: string,
    p: KubeadmParams,
    validity: { leafHours: number; caHours: number },
    env: NodeJS.ProcessEnv,
) {
    const before = fingerprint(nodeDir);
    const cfgDir = path.join(nodeDir, ".e2e-kubeadm");
    fs.mkdirSync(cfgDir, { mode: 0o700 });
    // a ClusterConfiguration only: an InitConfiguration with a loopback advertiseAddress is refused by kubeadm
    fs.writeFileSync(path.join(cfgDir, "kubeadm.yaml"), yamlDocs(clusterConfiguration(p, "/etc/kubernetes/pki")));
    let r;
    try {
        r = await run(
            "kubeadm",
            ["--rootfs", nodeDir, "certs", "check-expiration", "--config", "/.e2e-kubeadm/kubeadm.yaml", "--cert-dir", "/etc/kubernetes/pki", "-o", "json"],
            { env, log: `kubeadm-check-expiration-${label}`, timeoutMs: 60_000 },
        );
    } finally {
        fs.rmSync(cfgDir, { recursive: true, force: true });
    }
    if (!suite.check(`${label}: kubeadm certs check-expiration exits 0`, r.code === 0, r.output)) return;
    const info = JSON.parse(r.stdout) as ExpirationInfo;
    const names = info.certificates.map((c) => c.name).sort();
    suite.equal(`${label}: check-expiration lists every kubeadm certificate`, names, Object.keys(KUBEADM_CERTS).sort());
    const bad = info.certificates.filter((c) => c.missing || c.externallyManaged || c.caName !== KUBEADM_CERTS[c.name]);
    suite.check(
        `${label}: no certificate missing, each signed by its kubeadm CA, none externally managed`,
        bad.length === 0,
        bad.map((c) => `${c.name}: missing=${c.missing} ca=${c.caName} external=${c.externallyManaged}`).join("; "),
    );
    const hours = (s: number) => s / 3600;
    const offLeaf = info.certificates.filter((c) => !c.missing && Math.abs(hours(c.residualTime) - validity.leafHours) > 2);
    suite.check(
        `${label}: residual time of every certificate ≈ ${validity.leafHours} h`,
        offLeaf.length === 0,
        offLeaf.map((c) => `${c.name}: ${hours(c.residualTime).toFixed(1)} h`).join("; "),
    );
    const caNames = info.certificateAuthorities.map((c) => c.name).sort();
    suite.equal(`${label}: check-expiration lists the CAs`, caNames, [...KUBEADM_CAS].sort());
    const badCa = info.certificateAuthorities.filter(
        (c) => c.missing || c.externallyManaged || Math.abs(hours(c.residualTime) - validity.caHours) > 2,
    );
    suite.check(
        `${label}: CAs present with keys (not externally managed), residual ≈ ${validity.caHours} h`,
        badCa.length === 0,
        badCa.map((c) => `${c.name}: missing=${c.missing} external=${c.externallyManaged} residual=${hours(c.residualTime).toFixed(1)} h`).join("; "),
    );
    const diffs = diffFingerprints(before, fingerprint(nodeDir));
    suite.check(`${label}: check-expiration changed no file`, diffs.length === 0, diffs.join("\n"));
}

/** What `kubeadm init phase certs all` must say for an existing tree (stacked etcd, front proxy). */
const EXPECTED_CERT_LINES = [
    "Using existing ca certificate authority",
    "Using existing apiserver certificate and key on disk",
    "Using existing apiserver-kubelet-client certificate and key on disk",
    "Using existing front-proxy-ca certificate authority",
    "Using existing front-proxy-client certificate and key on disk",
    "Using existing etcd/ca certificate authority",
    "Using existing etcd/server certificate and key on disk",
    "Using existing etcd/peer certificate and key on disk",
    "Using existing etcd/healthcheck-client certificate and key on disk",
    "Using existing apiserver-etcd-client certificate and key on disk",
    'Using the existing "sa" key',
];
const KUBECONFIGS = ["admin.conf", "super-admin.conf", "kubelet.conf", "controller-manager.conf", "scheduler.conf"];

/** klog warning/error lines (W1123 12:00:00.000000 ...) of a kubeadm run. */
function klogWarnings(text: string): string[] {
    return text.split("\n").filter((l) => /^[WE]\d{4} /.test(l));
}

/**
 * `kubeadm init phase certs all` and `kubeadm init phase kubeconfig all` on a copy of a node tree: every file is
 * reused ("Using existing ..."), nothing generated, no warning, no file changed.
 */
export async function initPhasesOnCopy(suite: Suite, label: string, nodeDir: string, workDir: string, p: KubeadmParams, env: NodeJS.ProcessEnv) {
    const copy = path.join(workDir, `${label}-copy`);
    await runOk("cp", ["-a", nodeDir, copy], { log: "cp" });
    const before = fingerprint(copy);
    const cfg = path.join(workDir, `${label}-kubeadm.yaml`);
    fs.writeFileSync(cfg, yamlDocs(initConfiguration(p), clusterConfiguration(p, path.join(copy, "etc/kubernetes/pki"))));

    const certs = await run("kubeadm", ["init", "phase", "certs", "all", "--config", cfg], { env, log: `kubeadm-certs-${label}`, timeoutMs: 60_000 });
    if (suite.check(`${label}: kubeadm init phase certs all exits 0`, certs.code === 0, certs.output)) {
        const lines = certs.stdout.split("\n").filter((l) => l.startsWith("[certs] ") && !l.includes("Using certificateDir folder"));
        const said = lines.map((l) => l.slice("[certs] ".length).trim());
        const missing = EXPECTED_CERT_LINES.filter((l) => !said.includes(l));
        const other = said.filter((l) => !EXPECTED_CERT_LINES.includes(l));
        suite.check(`${label}: certs phase reuses every CA, certificate and the sa key`, missing.length === 0, `not said: ${missing.join(" | ")}`);
        suite.check(`${label}: certs phase generates nothing`, other.length === 0, other.join("\n"));
        const warnings = klogWarnings(certs.stderr);
        suite.check(`${label}: certs phase prints no warning`, warnings.length === 0, warnings.join("\n"));
    }

    const kcDir = path.join(copy, "etc/kubernetes");
    const kc = await run("kubeadm", ["init", "phase", "kubeconfig", "all", "--config", cfg, "--kubeconfig-dir", kcDir], {
        env,
        log: `kubeadm-kubeconfig-${label}`,
        timeoutMs: 60_000,
    });
    if (suite.check(`${label}: kubeadm init phase kubeconfig all exits 0`, kc.code === 0, kc.output)) {
        for (const file of KUBECONFIGS) {
            suite.check(
                `${label}: kubeconfig phase reuses ${file}`,
                kc.stdout.includes(`Using existing kubeconfig file: "${path.join(kcDir, file)}"`),
                kc.stdout,
            );
        }
        const generated = kc.stdout.split("\n").filter((l) => /Writing|Generating/.test(l));
        suite.check(`${label}: kubeconfig phase writes nothing`, generated.length === 0, generated.join("\n"));
        // kubeadm only warns when an existing kubeconfig points elsewhere than the server it would write
        const warnings = klogWarnings(kc.stderr);
        for (const w of warnings) {
            const m = /kubeconfig file "([^"]+)" exists already but has an unexpected API Server URL: expected: (\S+), got: (\S+)/.exec(w);
            suite.check(
                m
                    ? `${label}: ${path.basename(m[1])} server is the one kubeadm writes`
                    : `${label}: kubeconfig phase prints no warning`,
                false,
                m ? `kubeadm v${p.kubernetesVersion.replace(/^v/, "")} expects ${m[2]}, the tree has ${m[3]}` : w,
            );
        }
        if (warnings.length === 0) suite.check(`${label}: kubeconfig phase prints no warning (every server as kubeadm writes it)`, true);
    }
    const diffs = diffFingerprints(before, fingerprint(copy));
    suite.check(`${label}: kubeadm init phases changed no file of the copy`, diffs.length === 0, diffs.join("\n"));
    return copy;
}

/**
 * kubeadm's own tree for the same config (phases on an empty dir), compared with ours file by file: certificate
 * identity (CN, O, DNS and IP SANs, key usages, CA flag, key type) and kubeconfig identity (cluster, server,
 * context, user, client CN/O). Differences that are not identity (extension order, AKID/SKID, validity start) are
 * printed as notes.
 */
export async function compareWithKubeadmTree(suite: Suite, label: string, nodeDir: string, workDir: string, p: KubeadmParams, env: NodeJS.ProcessEnv) {
    const ref = path.join(workDir, `${label}-kubeadm-reference`);
    fs.mkdirSync(path.join(ref, "etc/kubernetes/pki"), { recursive: true });
    const cfg = path.join(workDir, `${label}-kubeadm-reference.yaml`);
    fs.writeFileSync(cfg, yamlDocs(initConfiguration(p), clusterConfiguration(p, path.join(ref, "etc/kubernetes/pki"))));
    await runOk("kubeadm", ["init", "phase", "certs", "all", "--config", cfg], { env, log: `kubeadm-reference-certs-${label}`, timeoutMs: 120_000 });
    await runOk("kubeadm", ["init", "phase", "kubeconfig", "all", "--config", cfg, "--kubeconfig-dir", path.join(ref, "etc/kubernetes")], {
        env,
        log: `kubeadm-reference-kubeconfig-${label}`,
        timeoutMs: 120_000,
    });
    const notes: string[] = [];
    const refFiles = [...fingerprint(ref).keys()].sort();
    const ourFiles = new Set(fingerprint(nodeDir).keys());
    const absent = refFiles.filter((f) => !ourFiles.has(f));
    suite.check(`${label}: every file kubeadm writes exists in our tree`, absent.length === 0, absent.join(", "));

    for (const rel of refFiles.filter((f) => f.endsWith(".crt") && ourFiles.has(f))) {
        const theirs = parseCert(fs.readFileSync(path.join(ref, rel), "utf8"));
        const ours = parseCert(fs.readFileSync(path.join(nodeDir, rel), "utf8"));
        compareIdentity(suite, `${label}: ${rel}`, theirs, ours, notes);
    }
    for (const rel of refFiles.filter((f) => f.endsWith(".key") || f.endsWith(".pub"))) {
        if (!ourFiles.has(rel)) continue;
        const pemType = (file: string) => /-----BEGIN ([A-Z ]+)-----/.exec(fs.readFileSync(file, "utf8"))?.[1];
        const t = pemType(path.join(ref, rel));
        const o = pemType(path.join(nodeDir, rel));
        if (t !== o) notes.push(`${rel}: PEM type kubeadm "${t}", ours "${o}"`);
    }
    for (const rel of refFiles.filter((f) => f.endsWith(".conf") && ourFiles.has(f))) {
        const theirs = kubeconfigIdentity(fs.readFileSync(path.join(ref, rel), "utf8"));
        const ours = kubeconfigIdentity(fs.readFileSync(path.join(nodeDir, rel), "utf8"));
        for (const key of Object.keys(theirs) as (keyof typeof theirs)[]) {
            suite.check(
                `${label}: ${path.basename(rel)} ${key} as kubeadm`,
                JSON.stringify(theirs[key]) === JSON.stringify(ours[key]),
                `kubeadm: ${JSON.stringify(theirs[key])}\nours:    ${JSON.stringify(ours[key])}`,
            );
        }
    }
    if (notes.length) suite.info(`differences from kubeadm's own tree that are not identity (notes, not failures):\n- ${notes.join("\n- ")}`);
}

type Parsed = ReturnType<typeof parseCert>;

function compareIdentity(suite: Suite, what: string, theirs: Parsed, ours: Parsed, notes: string[]) {
    const sorted = (a: string[]) => [...a].sort();
    const fields: [string, unknown, unknown][] = [
        ["subject CN", theirs.subjectCN, ours.subjectCN],
        ["subject O", theirs.subjectO, ours.subjectO],
        ["issuer CN", theirs.issuerCN, ours.issuerCN],
        ["DNS SANs", sorted(theirs.dnsNames), sorted(ours.dnsNames)],
        ["IP SANs", sorted(theirs.ipAddresses), sorted(ours.ipAddresses)],
        ["key usage", sorted(theirs.keyUsage), sorted(ours.keyUsage)],
        ["extended key usage", sorted(theirs.extKeyUsage), sorted(ours.extKeyUsage)],
        ["CA flag", theirs.isCA ?? false, ours.isCA ?? false],
        ["key", `${theirs.publicKeyAlgorithm}-${theirs.rsaBits ?? theirs.ecCurve}`, `${ours.publicKeyAlgorithm}-${ours.rsaBits ?? ours.ecCurve}`],
    ];
    const bad = fields.filter(([, t, o]) => JSON.stringify(t) !== JSON.stringify(o));
    suite.check(
        `${what} identity as kubeadm (CN, O, SANs, KU, EKU, CA, key)`,
        bad.length === 0,
        bad.map(([f, t, o]) => `${f}: kubeadm ${JSON.stringify(t)}, ours ${JSON.stringify(o)}`).join("\n"),
    );
    if (JSON.stringify(theirs.dnsNames) !== JSON.stringify(ours.dnsNames) && bad.every(([f]) => f !== "DNS SANs")) {
        notes.push(`${what}: DNS SAN order kubeadm ${theirs.dnsNames.join(",")} / ours ${ours.dnsNames.join(",")}`);
    }
    if (JSON.stringify(theirs.ipAddresses) !== JSON.stringify(ours.ipAddresses) && bad.every(([f]) => f !== "IP SANs")) {
        notes.push(`${what}: IP SAN order kubeadm ${theirs.ipAddresses.join(",")} / ours ${ours.ipAddresses.join(",")}`);
    }
    const ext = (c: Parsed) => c.extensions.map((e) => `${e.oid}${e.critical ? "!" : ""}`).join(" ");
    if (ext(theirs) !== ext(ours)) notes.push(`${what}: extensions kubeadm [${ext(theirs)}] / ours [${ext(ours)}] (! = critical)`);
    if (theirs.pathLen !== ours.pathLen) notes.push(`${what}: pathlen kubeadm ${theirs.pathLen} / ours ${ours.pathLen}`);
    if (theirs.signatureAlgorithm !== ours.signatureAlgorithm) {
        notes.push(`${what}: signature kubeadm ${theirs.signatureAlgorithm} / ours ${ours.signatureAlgorithm}`);
    }
    const len = (c: Parsed) => Math.round((c.notAfter.getTime() - c.notBefore.getTime()) / 1000);
    if (len(theirs) !== len(ours)) notes.push(`${what}: validity kubeadm ${len(theirs)} s / ours ${len(ours)} s`);
}

function kubeconfigIdentity(text: string) {
    const kc = parseYaml(text);
    const ctx = kc.contexts?.find((c: any) => c.name === kc["current-context"]);
    const cluster = kc.clusters?.find((c: any) => c.name === ctx?.context?.cluster);
    const user = kc.users?.find((u: any) => u.name === ctx?.context?.user);
    const certPem = Buffer.from(user?.user?.["client-certificate-data"] ?? "", "base64").toString("utf8");
    const cert = certPem ? parseCert(certPem) : undefined;
    return {
        "current-context": kc["current-context"],
        cluster: ctx?.context?.cluster,
        server: cluster?.cluster?.server,
        user: ctx?.context?.user,
        "client CN/O": cert ? [cert.subjectCN, cert.subjectO] : undefined,
    };
}
