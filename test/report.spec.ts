// Expiry report (components/report.ts, scripts/check-expiration.ts) on REAL certificates: a small kubeadm tree of
// ECDSA P-256 certificates built with @peculiar/x509 in a temp dir, with chosen NotAfter values around a fixed "now".

import "./support/reflect-shim";
import * as x509 from "@peculiar/x509";
import * as assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import type { InventoryEntry } from "../components/cluster-pki";
import {
    escapeLabelValue,
    formatDate,
    formatJson,
    formatPrometheus,
    formatTable,
    humanDuration,
    readCertDir,
    ReportRow,
    residual,
    rowsFromCertDir,
    rowsFromInventory,
    shortHumanDuration,
} from "../components/report";
import * as cliModule from "../scripts/check-expiration";
import { findKubeadm } from "./support/kubeadm";

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const Y = 365 * D;

const NOW = new Date("2026-03-01T12:00:00Z");
const at = (ms: number) => new Date(NOW.getTime() + ms);

// ------------------------------------------------------------------------------------ real certificates

type CryptoKeyPair = crypto.webcrypto.CryptoKeyPair;
const webcrypto = crypto.webcrypto;
const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };

interface Issued {
    cert: x509.X509Certificate;
    keys: CryptoKeyPair;
}

const serial = () => "01" + crypto.randomBytes(15).toString("hex");
const keyPair = () => webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"]) as Promise<CryptoKeyPair>;

async function makeCa(cn: string, notAfter: Date): Promise<Issued> {
    const keys = await keyPair();
    const cert = await x509.X509CertificateGenerator.createSelfSigned(
        {
            serialNumber: serial(),
            name: `CN=${cn}`,
            notBefore: new Date(notAfter.getTime() - 10 * Y),
            notAfter,
            keys,
            signingAlgorithm: ALG,
            extensions: [
                new x509.BasicConstraintsExtension(true, undefined, true),
                new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.keyCertSign, true),
                await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webcrypto),
            ],
        },
        webcrypto,
    );
    return { cert, keys };
}

async function makeLeaf(cn: string, issuer: Issued, notAfter: Date, eku = "1.3.6.1.5.5.7.3.2"): Promise<Issued> {
    const keys = await keyPair();
    const cert = await x509.X509CertificateGenerator.create(
        {
            serialNumber: serial(),
            subject: `CN=${cn}`,
            issuer: issuer.cert.subject,
            notBefore: new Date(Math.min(notAfter.getTime(), NOW.getTime()) - 30 * D),
            notAfter,
            publicKey: keys.publicKey,
            signingKey: issuer.keys.privateKey,
            signingAlgorithm: ALG,
            extensions: [
                new x509.BasicConstraintsExtension(false, undefined, true),
                new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
                new x509.ExtendedKeyUsageExtension([eku], false),
                await x509.AuthorityKeyIdentifierExtension.create(issuer.cert, false, webcrypto),
            ],
        },
        webcrypto,
    );
    return { cert, keys };
}

async function keyPem(keys: CryptoKeyPair): Promise<string> {
    return crypto.KeyObject.from(keys.privateKey).export({ type: "pkcs8", format: "pem" }).toString();
}

function writeFile(file: string, content: string, mode = 0o644) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content, { mode });
}

async function writePair(pki: string, base: string, issued: Issued, withKey = true) {
    writeFile(path.join(pki, `${base}.crt`), issued.cert.toString("pem") + "\n");
    if (withKey) writeFile(path.join(pki, `${base}.key`), await keyPem(issued.keys), 0o600);
}

/** A kubeconfig like kubeadm's (kubeconfigutil.CreateWithCerts), plus a decoy user that is not the current context's. */
async function writeKubeconfig(file: string, ca: Issued, client: Issued, user: string) {
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    writeFile(
        file,
        stringify({
            apiVersion: "v1",
            kind: "Config",
            clusters: [{ name: "test", cluster: { "certificate-authority-data": b64(ca.cert.toString("pem")), server: "https://10.0.0.11:6443" } }],
            contexts: [{ name: `${user}@test`, context: { cluster: "test", user } }],
            "current-context": `${user}@test`,
            preferences: {},
            users: [
                { name: "decoy", user: { "client-certificate-data": "bm90IGEgY2VydGlmaWNhdGU=" } },
                { name: user, user: { "client-certificate-data": b64(client.cert.toString("pem")), "client-key-data": b64(await keyPem(client.keys)) } },
            ],
        }),
        0o600,
    );
}

const tmpDirs: string[] = [];
function tmpDir(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-report-"));
    tmpDirs.push(dir);
    return dir;
}
after(() => {
    for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** NotAfter values of the tree, relative to NOW, and what kubeadm prints for them. */
const TREE = {
    ca: { notAfter: at(10 * Y - H), residual: "9y" }, // CA, key present: ok
    "etcd-ca": { notAfter: at(364 * D + 6 * H), residual: "364d" }, // CA, key ABSENT: externally managed, inside 8760h → renew-due
    "front-proxy-ca": { notAfter: at(-3 * D), residual: "<invalid>" }, // CA expired
    apiserver: { notAfter: at(23 * H + 30 * M), residual: "23h" }, // leaf inside 720h → renew-due
    "etcd-server": { notAfter: at(400 * D), residual: "400d" }, // ShortHumanDuration would say "1y"
    "front-proxy-client": { notAfter: at(3 * D + 5 * H + 10 * M), residual: "3d5h" },
    "apiserver-kubelet-client": { notAfter: at(-1 * S), residual: "0s" }, // expired by 1 s: kubeadm's tolerance still says "0s"
    "admin.conf": { notAfter: at(2 * Y + 100 * D + 2 * H), residual: "2y100d" },
    "scheduler.conf": { notAfter: at(30 * D + H), residual: "30d" }, // just outside the 720h window → ok
};

/** <tmp>/etc/kubernetes/{pki,admin.conf,scheduler.conf}; returns the pki dir. */
async function buildTree(): Promise<string> {
    const root = path.join(tmpDir(), "etc/kubernetes");
    const pki = path.join(root, "pki");
    const ca = await makeCa("kubernetes", TREE.ca.notAfter);
    const etcdCa = await makeCa("etcd-ca", TREE["etcd-ca"].notAfter);
    const frontProxyCa = await makeCa("front-proxy-ca", TREE["front-proxy-ca"].notAfter);
    await writePair(pki, "ca", ca);
    await writePair(pki, "etcd/ca", etcdCa, false);
    await writePair(pki, "front-proxy-ca", frontProxyCa);
    await writePair(pki, "apiserver", await makeLeaf("kube-apiserver", ca, TREE.apiserver.notAfter, "1.3.6.1.5.5.7.3.1"));
    await writePair(pki, "etcd/server", await makeLeaf("cp-1", etcdCa, TREE["etcd-server"].notAfter, "1.3.6.1.5.5.7.3.1"));
    await writePair(pki, "front-proxy-client", await makeLeaf("front-proxy-client", frontProxyCa, TREE["front-proxy-client"].notAfter));
    await writePair(pki, "apiserver-kubelet-client", await makeLeaf("kube-apiserver-kubelet-client", ca, TREE["apiserver-kubelet-client"].notAfter));
    // Signed by a CA that is not in the directory (e.g. a rotated-out CA with the same name).
    const stranger = await makeCa("kubernetes", at(10 * Y));
    writeFile(path.join(root, "stranger-ca.crt"), stranger.cert.toString("pem") + "\n"); // read by no one
    await writePair(pki, "apiserver-etcd-client", await makeLeaf("kube-apiserver-etcd-client", stranger, at(200 * D)));
    await writeKubeconfig(path.join(root, "admin.conf"), ca, await makeLeaf("kubernetes-admin", ca, TREE["admin.conf"].notAfter), "kubernetes-admin");
    await writeKubeconfig(path.join(root, "scheduler.conf"), ca, await makeLeaf("system:kube-scheduler", ca, TREE["scheduler.conf"].notAfter), "system:kube-scheduler");
    fs.writeFileSync(path.join(pki, "sa.pub"), "not a certificate\n");
    return pki;
}

// ------------------------------------------------------------------------------------ specs

describe("report: kubeadm's RESIDUAL TIME (apimachinery duration.HumanDuration)", () => {
    // Expected strings were produced by k8s.io/apimachinery v0.34.4 duration.HumanDuration / ShortHumanDuration
    // (a throwaway Go program over ~6,500 durations, every edge ±1 ms/1 s, agreed with this port).
    const cases: [number, string, string][] = [
        [10 * Y - H, "9y", "9y"],
        [364 * D + 6 * H, "364d", "364d"],
        [365 * D, "365d", "1y"],
        [400 * D, "400d", "1y"],
        [2 * Y + 100 * D, "2y100d", "2y"],
        [3 * Y, "3y", "3y"],
        [8 * Y - 1, "7y364d", "7y"],
        [23 * H + 59 * M, "23h", "23h"],
        [47 * H, "47h", "1d"],
        [3 * D + 5 * H, "3d5h", "3d"],
        [7 * H + 30 * M, "7h30m", "7h"],
        [9 * M + 30 * S, "9m30s", "9m"],
        [119 * S, "119s", "1m"],
        [59 * S, "59s", "59s"],
        [0, "0s", "0s"],
        [-999, "0s", "0s"],
        [-1 * S, "0s", "0s"],
        [-2 * S, "<invalid>", "<invalid>"],
        [-3 * D, "<invalid>", "<invalid>"],
    ];
    for (const [ms, human, short] of cases) {
        it(`${ms} ms → ${human} (ShortHumanDuration ${short})`, () => {
            assert.equal(humanDuration(ms), human);
            assert.equal(shortHumanDuration(ms), short);
            assert.equal(residual(NOW, at(ms)), humanDuration(Math.trunc(ms / 1000) * 1000));
        });
    }
    it("truncates to whole seconds first, like kubeadm's ResidualTimeSeconds", () => {
        assert.equal(residual(NOW, at(-1999)), "0s"); // int64(-1.999 s / 1 s) = -1
        assert.equal(residual(NOW, at(-2000)), "<invalid>");
        assert.equal(residual(NOW, at(120 * S - 1)), "119s");
    });
    it("formats dates like Go's \"Jan 02, 2006 15:04 MST\" in UTC", () => {
        assert.equal(formatDate(new Date("2027-01-02T03:04:59Z")), "Jan 02, 2027 03:04 UTC");
        assert.equal(formatDate(new Date("2035-12-31T23:59:00-01:00")), "Jan 01, 2036 00:59 UTC");
    });
});

describe("report: kubeadm cert dir", function () {
    this.timeout(20000);
    let pki: string;
    let rows: ReportRow[];
    const row = (name: string) => {
        const r = rows.find((x) => x.certificate === name);
        assert.ok(r, `no row ${name}`);
        return r;
    };

    before(async () => {
        pki = await buildTree();
        rows = rowsFromCertDir(pki, NOW);
    });

    it("reads exactly kubeadm's certificates, leaves sorted by name then the CAs", () => {
        assert.deepEqual(
            rows.map((r) => [r.certificate, r.isCa]),
            [
                ["admin.conf", false],
                ["apiserver", false],
                ["apiserver-etcd-client", false],
                ["apiserver-kubelet-client", false],
                ["etcd-server", false],
                ["front-proxy-client", false],
                ["scheduler.conf", false],
                ["ca", true],
                ["etcd-ca", true],
                ["front-proxy-ca", true],
            ],
        );
    });

    it("takes NotAfter/NotBefore from the certificates and kubeconfig client-certificate-data", () => {
        for (const [name, want] of Object.entries(TREE)) {
            assert.equal(row(name).notAfter.toISOString(), want.notAfter.toISOString(), name);
            assert.ok(row(name).notBefore! < row(name).notAfter, name);
        }
        assert.equal(row("admin.conf").file, path.join(path.dirname(pki), "admin.conf"));
        assert.equal(row("etcd-server").file, path.join(pki, "etcd/server.crt"));
    });

    it("prints kubeadm's RESIDUAL TIME for every certificate", () => {
        for (const [name, want] of Object.entries(TREE)) assert.equal(row(name).residual, want.residual, name);
        assert.equal(row("apiserver").residualSeconds, 23 * 3600 + 30 * 60);
        assert.equal(row("apiserver-kubelet-client").residualSeconds, -1);
    });

    it("CA column: the CA in the directory that signed the certificate", () => {
        assert.equal(row("admin.conf").ca, "ca");
        assert.equal(row("apiserver").ca, "ca");
        assert.equal(row("scheduler.conf").ca, "ca");
        assert.equal(row("etcd-server").ca, "etcd-ca");
        assert.equal(row("front-proxy-client").ca, "front-proxy-ca");
        // Same issuer name as ca.crt, different key: matched by signature, not by name.
        assert.equal(row("apiserver-etcd-client").ca, "unknown (CN=kubernetes)");
        for (const ca of ["ca", "etcd-ca", "front-proxy-ca"]) assert.equal(row(ca).ca, ca);
    });

    it("a CA file holding a bundle (staged rotation): kubeadm's first certificate, any of them as issuer", () => {
        const copy = path.join(tmpDir(), "etc/kubernetes/pki");
        fs.cpSync(pki, copy, { recursive: true });
        const first = fs.readFileSync(path.join(pki, "ca.crt"), "utf8");
        fs.writeFileSync(path.join(copy, "ca.crt"), first + fs.readFileSync(path.join(path.dirname(pki), "stranger-ca.crt"), "utf8"));
        const r = rowsFromCertDir(copy, NOW);
        assert.equal(r.find((x) => x.certificate === "apiserver-etcd-client")!.ca, "ca");
        assert.equal(r.find((x) => x.certificate === "ca")!.notAfter.toISOString(), TREE.ca.notAfter.toISOString());
        assert.equal(r.find((x) => x.certificate === "apiserver")!.ca, "ca");
    });

    it("EXTERNALLY MANAGED: the CA's key file is absent", () => {
        assert.equal(row("etcd-ca").externallyManaged, true);
        assert.equal(row("etcd-server").externallyManaged, true);
        assert.equal(row("ca").externallyManaged, false);
        assert.equal(row("apiserver").externallyManaged, false);
        assert.equal(row("front-proxy-ca").externallyManaged, false);
    });

    it("renewAt = NotAfter − renewBefore (720 h leaves, 8760 h CAs) and status flags", () => {
        assert.equal(row("apiserver").renewAt!.getTime(), TREE.apiserver.notAfter.getTime() - 720 * H);
        assert.equal(row("ca").renewAt!.getTime(), TREE.ca.notAfter.getTime() - 8760 * H);
        const status = Object.fromEntries(rows.map((r) => [r.certificate, r.status]));
        assert.deepEqual(status, {
            "admin.conf": "ok",
            apiserver: "renew-due",
            "apiserver-etcd-client": "ok",
            "apiserver-kubelet-client": "expired",
            "etcd-server": "ok",
            "front-proxy-client": "renew-due",
            "scheduler.conf": "ok",
            ca: "ok",
            "etcd-ca": "renew-due",
            "front-proxy-ca": "expired",
        });
        // A custom window moves the flags.
        const narrow = rowsFromCertDir(pki, NOW, { leaf: 1, ca: 24 });
        assert.equal(narrow.find((r) => r.certificate === "apiserver")!.status, "ok");
        assert.equal(narrow.find((r) => r.certificate === "etcd-ca")!.status, "ok");
        assert.equal(narrow.find((r) => r.certificate === "scheduler.conf")!.renewAt!.getTime(), TREE["scheduler.conf"].notAfter.getTime() - H);
    });

    it("lists what kubeadm would print as !MISSING!, and skips the set of an absent CA", async () => {
        const { missing } = readCertDir(pki, NOW);
        assert.deepEqual(
            missing.map((m) => m.certificate),
            ["controller-manager.conf", "etcd-healthcheck-client", "etcd-peer", "super-admin.conf"],
        );
        // A worker: only ca.crt. No etcd / front-proxy sets expected, every ca-signed cert missing.
        const worker = path.join(tmpDir(), "etc/kubernetes/pki");
        fs.mkdirSync(worker, { recursive: true });
        fs.copyFileSync(path.join(pki, "ca.crt"), path.join(worker, "ca.crt"));
        const w = readCertDir(worker, NOW);
        assert.deepEqual(w.rows.map((r) => [r.certificate, r.externallyManaged]), [["ca", true]]);
        assert.deepEqual(
            w.missing.map((m) => m.certificate),
            ["admin.conf", "apiserver", "apiserver-kubelet-client", "controller-manager.conf", "scheduler.conf", "super-admin.conf"],
        );
    });

    it("fails with one clear message on a bad file or directory", () => {
        assert.throws(() => rowsFromCertDir(path.join(pki, "nope"), NOW), /nope: no such directory/);
        const broken = path.join(tmpDir(), "etc/kubernetes/pki");
        fs.mkdirSync(broken, { recursive: true });
        fs.writeFileSync(path.join(broken, "ca.crt"), "garbage\n");
        assert.throws(() => rowsFromCertDir(broken, NOW), /ca\.crt: no PEM certificate/);
        fs.copyFileSync(path.join(pki, "ca.crt"), path.join(broken, "ca.crt"));
        fs.writeFileSync(path.join(path.dirname(broken), "admin.conf"), stringify({ "current-context": "x", contexts: [] }));
        assert.throws(() => rowsFromCertDir(broken, NOW), /admin\.conf: invalid kubeconfig: missing context "x"/);
    });

    it("table: kubeadm's columns and tabwriter layout, plus RENEWS AT and STATUS", () => {
        const text = formatTable(rows, NOW, { missing: readCertDir(pki, NOW).missing });
        const lines = text.split("\n");
        // tabwriter: every cell of a column starts at the header's offset (columns are max(10, widest + 3) wide).
        const blank = lines.indexOf("");
        const aligned = (header: string, body: string[]) => {
            const starts = [...header.matchAll(/(?:^|(?<=   ))\S/g)].map((m) => m.index!);
            for (const l of body.filter((x) => !x.startsWith("!MISSING!"))) {
                for (const s of starts) assert.ok(s === 0 || (l[s - 1] === " " && l[s] !== " "), `misaligned at ${s}:\n${header}\n${l}`);
            }
            return starts;
        };
        const starts = aligned(lines[0], lines.slice(1, blank));
        assert.deepEqual(lines[0].split(/ {3,}/), ["CERTIFICATE", "EXPIRES", "RESIDUAL TIME", "CERTIFICATE AUTHORITY", "EXTERNALLY MANAGED", "RENEWS AT", "STATUS"]);
        const widest = "!MISSING! etcd-healthcheck-client".length;
        assert.equal(starts[1], widest + 3);
        assert.equal(starts[4] - starts[3], "unknown (CN=kubernetes)".length + 3);
        const line = (name: string) => lines.find((l) => l.startsWith(name + " "))!;
        assert.deepEqual(line("apiserver").split(/ {3,}/), ["apiserver", "Mar 02, 2026 11:30 UTC", "23h", "ca", "no", "Jan 31, 2026 11:30 UTC", "RENEW DUE"]);
        assert.deepEqual(line("front-proxy-ca").split(/ {3,}/), ["front-proxy-ca", "Feb 26, 2026 12:00 UTC", "<invalid>", "no", "Feb 26, 2025 12:00 UTC", "EXPIRED"]);
        assert.match(line("etcd-server"), / 400d +etcd-ca +yes +.* OK$/);
        assert.ok(lines.includes("!MISSING! etcd-peer"), text);
        // The CA table starts after one empty line, with its own header and its own column widths.
        assert.match(lines[blank + 1], /^CERTIFICATE AUTHORITY {3}EXPIRES {18}RESIDUAL TIME {3}EXTERNALLY MANAGED {3}RENEWS AT {16}STATUS$/);
        aligned(lines[blank + 1], lines.slice(blank + 2).filter(Boolean));
        assert.deepEqual(
            lines.slice(blank + 2).filter(Boolean).map((l) => l.split(/\s{3,}/)[0]),
            ["ca", "etcd-ca", "front-proxy-ca"],
        );
    });

    it("JSON: stable, ISO timestamps, residual seconds, status", () => {
        const text = formatJson(rows);
        assert.equal(formatJson([...rows].reverse()), text, "order-independent");
        const parsed = JSON.parse(text) as Record<string, unknown>[];
        assert.equal(parsed.length, rows.length);
        const keys = Object.keys(parsed[0]);
        assert.deepEqual(keys, ["certificate", "id", "node", "user", "generation", "file", "isCa", "ca", "externallyManaged", "notBefore", "notAfter", "renewAt", "residual", "residualSeconds", "status"]);
        for (const o of parsed) assert.deepEqual(Object.keys(o), keys);
        const api = parsed.find((o) => o.certificate === "apiserver")!;
        assert.equal(api.notAfter, "2026-03-02T11:30:00Z");
        assert.equal(api.renewAt, "2026-01-31T11:30:00Z");
        assert.equal(api.residualSeconds, 84600);
        assert.equal(api.status, "renew-due");
        assert.equal(api.node, null);
        const fpca = parsed.find((o) => o.certificate === "front-proxy-ca")!;
        assert.equal(fpca.residualSeconds, -3 * 86400);
        assert.equal(fpca.status, "expired");
        assert.equal(fpca.isCa, true);
    });

    it("Prometheus: HELP/TYPE and one gauge sample per certificate and metric", () => {
        const text = formatPrometheus(rows, NOW);
        const samples = parsePrometheus(text);
        const names = ["kube_pki_certificate_not_after_seconds", "kube_pki_certificate_renew_at_seconds", "kube_pki_certificate_expired", "kube_pki_certificate_renew_due"];
        for (const name of names) {
            assert.ok(text.includes(`# HELP ${name} `), name);
            assert.ok(text.includes(`# TYPE ${name} gauge\n`), name);
            assert.equal(samples.filter((s) => s.name === name).length, rows.length, name);
        }
        const get = (name: string, cert: string) => samples.find((s) => s.name === name && s.labels.certificate === cert)!;
        assert.deepEqual(get("kube_pki_certificate_not_after_seconds", "apiserver").labels, { certificate: "apiserver", node: "", ca: "ca" });
        assert.equal(get("kube_pki_certificate_not_after_seconds", "apiserver").value, TREE.apiserver.notAfter.getTime() / 1000);
        assert.equal(get("kube_pki_certificate_renew_at_seconds", "apiserver").value, TREE.apiserver.notAfter.getTime() / 1000 - 720 * 3600);
        assert.equal(get("kube_pki_certificate_expired", "front-proxy-ca").value, 1);
        assert.equal(get("kube_pki_certificate_expired", "apiserver").value, 0);
        assert.equal(get("kube_pki_certificate_renew_due", "apiserver").value, 1);
        assert.equal(get("kube_pki_certificate_renew_due", "ca").value, 0);
        assert.equal(get("kube_pki_certificate_expired", "apiserver-etcd-client").labels.ca, "unknown (CN=kubernetes)");
    });
});

/** A strict-enough parser of the text exposition format: `name{k="v",...} value`, label values unescaped. */
function parsePrometheus(text: string): { name: string; labels: Record<string, string>; value: number }[] {
    assert.ok(text.endsWith("\n"));
    const out: { name: string; labels: Record<string, string>; value: number }[] = [];
    for (const line of text.split("\n")) {
        if (!line || line.startsWith("#")) {
            if (line) assert.match(line, /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* \S/);
            continue;
        }
        const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\} (-?[0-9.e+]+)$/.exec(line);
        assert.ok(m, `bad sample line: ${line}`);
        const labels: Record<string, string> = {};
        for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
            labels[l[1]] = l[2].replace(/\\(.)/g, (_x, c: string) => (c === "n" ? "\n" : c));
        }
        out.push({ name: m[1], labels, value: Number(m[3]) });
    }
    return out;
}

/** A hand-built ClusterPki inventory: 1 control plane cp-1, etcd, a user, a worker. */
function inventory(): InventoryEntry[] {
    const e = (id: string, issuer: string, notAfter: Date, extra: Partial<InventoryEntry> = {}): InventoryEntry => ({
        id,
        file: `etc/kubernetes/pki/${id}.crt`,
        commonName: id,
        issuer,
        isCa: false,
        dnsNames: [],
        ipAddresses: [],
        extendedUsages: ["client_auth"],
        keyAlgorithm: "RSA-2048",
        validityHours: 8760,
        renewBeforeHours: 720,
        notBefore: new Date(notAfter.getTime() - 8760 * H).toISOString().replace(".000Z", "Z"),
        notAfter: notAfter.toISOString().replace(".000Z", "Z"),
        ...extra,
    });
    const ca = { isCa: true, validityHours: 87600, renewBeforeHours: 8760 };
    return [
        e("scheduler.conf", "ca", at(300 * D), { node: "cp-1", file: "cp-1/scheduler.conf" }),
        e("ca", "ca", at(3000 * D), ca),
        e("etcd-ca", "etcd-ca", at(100 * D), ca),
        e("apiserver", "ca", at(10 * D), { node: "cp-1" }),
        e("admin.conf", "ca", at(364 * D), { file: "admin.conf" }),
        e("kubelet.conf", "ca", at(-5 * S), { node: "worker-1", file: "worker-1/kubelet.conf" }),
        e("kubelet.conf", "ca", at(200 * D), { node: "cp-1", file: "cp-1/kubelet.conf" }),
        e("user", "ca", at(29 * D), { user: 'al"i\\ce', file: "users/alice.conf", renewBeforeHours: 24 }),
        e("etcd-server", "etcd-ca", at(364 * D), { node: "cp-1" }),
    ];
}

describe("report: stack inventory", () => {
    const rows = rowsFromInventory(inventory(), NOW);
    const row = (name: string) => rows.find((r) => r.certificate === name)!;

    it("names per-node certificates `<id> (<node>)`, sorts leaves then CAs", () => {
        assert.deepEqual(rows.map((r) => r.certificate), [
            "admin.conf",
            "apiserver (cp-1)",
            "etcd-server (cp-1)",
            "kubelet.conf (cp-1)",
            "kubelet.conf (worker-1)",
            "scheduler.conf (cp-1)",
            'user (al"i\\ce)',
            "ca",
            "etcd-ca",
        ]);
        assert.equal(row("apiserver (cp-1)").node, "cp-1");
        assert.equal(row("apiserver (cp-1)").id, "apiserver");
        assert.equal(row("etcd-server (cp-1)").ca, "etcd-ca");
        assert.equal(row("ca").ca, "ca");
        assert.equal(row("ca").isCa, true);
    });

    it("renewAt = notAfter − renewBeforeHours of each entry; residual and status", () => {
        assert.equal(row("apiserver (cp-1)").renewAt!.getTime(), at(10 * D - 720 * H).getTime());
        assert.equal(row('user (al"i\\ce)').renewAt!.getTime(), at(28 * D).getTime());
        assert.equal(row('user (al"i\\ce)').status, "ok"); // 29 d left, renews 24 h before
        assert.equal(row("apiserver (cp-1)").status, "renew-due");
        assert.equal(row("etcd-ca").status, "renew-due");
        assert.equal(row("kubelet.conf (worker-1)").status, "expired");
        assert.equal(row("kubelet.conf (worker-1)").residual, "<invalid>");
        assert.equal(row("admin.conf").residual, "364d");
        assert.equal(row("ca").residual, "8y"); // 3000 d ≥ 8 × 365 d: years only
    });

    it("a staged CA rotation: one row and one series per CA generation", () => {
        const inv = inventory();
        const ca0 = inv.find((e) => e.id === "ca")!;
        inv.push({ ...ca0, generation: 1, active: false, notAfter: at(3650 * D).toISOString() });
        Object.assign(ca0, { generation: 0, active: true });
        const r = rowsFromInventory(inv, NOW);
        assert.deepEqual(r.filter((x) => x.isCa).map((x) => x.certificate), ["ca (generation 0)", "ca (generation 1)", "etcd-ca"]);
        const series = parsePrometheus(formatPrometheus(r, NOW)).filter((x) => x.name === "kube_pki_certificate_not_after_seconds");
        assert.deepEqual(series.filter((x) => x.labels.certificate === "ca").map((x) => x.labels.generation), ["0", "1"]);
        assert.equal(new Set(series.map((x) => JSON.stringify(x.labels))).size, r.length);
    });

    it("rejects a malformed entry with its index", () => {
        const bad = inventory();
        (bad[3] as unknown as Record<string, unknown>).notAfter = "soon";
        assert.throws(() => rowsFromInventory(bad, NOW), /inventory\[3\] \(apiserver\) notAfter: not a timestamp: "soon"/);
    });

    it("Prometheus: node and user labels, escaped; one series per certificate", () => {
        const text = formatPrometheus(rows, NOW);
        assert.ok(text.includes('certificate="user",node="",user="al\\"i\\\\ce",ca="ca"'), text);
        assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
        const samples = parsePrometheus(text).filter((s) => s.name === "kube_pki_certificate_expired");
        const series = samples.map((s) => JSON.stringify(s.labels));
        assert.equal(new Set(series).size, rows.length, "no duplicate series");
        assert.equal(samples.find((s) => s.labels.user === 'al"i\\ce')!.value, 0);
        assert.equal(samples.find((s) => s.labels.certificate === "kubelet.conf" && s.labels.node === "worker-1")!.value, 1);
    });

    it("table names the node in the CERTIFICATE column", () => {
        const text = formatTable(rows, NOW);
        assert.match(text, /^apiserver \(cp-1\) +Mar 11, 2026 12:00 UTC +10d +ca +no +Feb 09, 2026 12:00 UTC +RENEW DUE$/m);
        assert.match(text, /^kubelet\.conf \(worker-1\) +.* +<invalid> +ca +no +.* +EXPIRED$/m);
    });
});

describe("report: check-expiration CLI", function () {
    this.timeout(60000);
    const script = path.resolve(__dirname, "../scripts/check-expiration.ts");
    const tsNode = path.resolve(__dirname, "../node_modules/.bin/ts-node");
    type Result = { status: number | null; stdout: string; stderr: string };
    /** `ts-node --transpile-only scripts/check-expiration.ts ...args`; runs concurrently (each start costs ~1 s). */
    const cli = (args: string[], env: Record<string, string> = {}): Promise<Result> =>
        new Promise((resolve, reject) => {
            const env0 = { ...process.env };
            delete env0.KUBE_PKI_NOW;
            const child = spawn(tsNode, ["--transpile-only", script, ...args], { cwd: path.resolve(__dirname, ".."), env: { ...env0, ...env } });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (d) => (stdout += d));
            child.stderr.on("data", (d) => (stderr += d));
            child.on("error", reject);
            child.on("close", (status) => resolve({ status, stdout, stderr }));
        });
    const runs: Record<string, Result> = {};
    let pki: string;

    before(async () => {
        pki = await buildTree();
        const outputsFile = path.join(tmpDir(), "outputs.json");
        // `pulumi stack output --json` shape: every output by name.
        fs.writeFileSync(outputsFile, JSON.stringify({ clusterName: "dev", kubeconfigs: "[secret]", inventory: inventory() }, null, 4));
        const jobs: Record<string, [string[], Record<string, string>?]> = {
            certDirTable: [["--cert-dir", pki, "--now", NOW.toISOString()]],
            certDirJson: [["--cert-dir", pki, "--json"], { KUBE_PKI_NOW: "2026-02-20T00:00:00Z" }],
            outputsProm: [["--outputs", outputsFile, "--prometheus", "--now", "2026-03-01T13:00:00+01:00"]],
            outputsTable: [["--outputs", outputsFile, "--now", "2026-02-01T00:00:00Z"]],
            errNoDir: [["--cert-dir", path.join(pki, "missing")]],
        };
        const results = await Promise.all(Object.values(jobs).map(([args, env]) => cli(args, env)));
        Object.keys(jobs).forEach((k, i) => (runs[k] = results[i]));
    });

    it("--cert-dir: kubeadm table, exit 2 when a certificate has expired", () => {
        const res = runs.certDirTable;
        assert.equal(res.status, 2, res.stderr);
        assert.equal(res.stderr, "");
        assert.match(res.stdout, /^CERTIFICATE +EXPIRES +RESIDUAL TIME +CERTIFICATE AUTHORITY +EXTERNALLY MANAGED +RENEWS AT +STATUS$/m);
        assert.match(res.stdout, /^etcd-server +Apr 05, 2027 12:00 UTC +400d +etcd-ca +yes +Mar 06, 2027 12:00 UTC +OK$/m);
        assert.match(res.stdout, /^front-proxy-ca +.* +<invalid> +no +.* +EXPIRED$/m);
        assert.match(res.stdout, /^!MISSING! super-admin\.conf$/m);
    });

    it("--cert-dir --json with KUBE_PKI_NOW before any expiry: exit 0", () => {
        const res = runs.certDirJson;
        assert.equal(res.status, 0, res.stderr);
        const parsed = JSON.parse(res.stdout) as { certificate: string; status: string; residual: string }[];
        assert.equal(parsed.length, 10);
        assert.ok(parsed.every((o) => o.status !== "expired"));
        assert.equal(parsed.find((o) => o.certificate === "front-proxy-ca")!.residual, "6d12h");
    });

    it("--outputs --prometheus: exit 2 (worker-1 kubelet.conf expired)", () => {
        const res = runs.outputsProm;
        assert.equal(res.status, 2, res.stderr);
        const samples = parsePrometheus(res.stdout);
        assert.equal(samples.filter((s) => s.name === "kube_pki_certificate_not_after_seconds").length, inventory().length);
        assert.equal(samples.find((s) => s.name === "kube_pki_certificate_expired" && s.labels.node === "worker-1")!.value, 1);
    });

    it("--outputs table at an earlier --now: exit 0", () => {
        const res = runs.outputsTable;
        assert.equal(res.status, 0, res.stderr);
        assert.match(res.stdout, /^kubelet\.conf \(worker-1\) +Mar 01, 2026 11:59 UTC +28d +ca +no +Jan 30, 2026 11:59 UTC +RENEW DUE$/m);
    });

    it("errors: one line on stderr, exit 1", () => {
        const res = runs.errNoDir;
        assert.equal(res.status, 1, res.stdout + res.stderr);
        assert.match(res.stderr, /^check-expiration: .*missing: no such directory\n$/);
        assert.equal(res.stdout, "");
    });

    // In-process (each CLI start costs ~1 s of CPU): the argument and input checks behind the one-line errors.
    it("--now / KUBE_PKI_NOW: RFC 3339 only", () => {
        assert.equal(cliModule.parseNow("2026-03-01T13:00:00+01:00", "--now").toISOString(), "2026-03-01T12:00:00.000Z");
        assert.equal(cliModule.parseNow("2026-03-01t12:00:00.5Z", "--now").toISOString(), "2026-03-01T12:00:00.500Z");
        assert.throws(() => cliModule.parseNow("tomorrow", "--now"), /^Error: --now: not an RFC 3339 time: "tomorrow"/);
        assert.throws(() => cliModule.parseNow("2026-03-01", "KUBE_PKI_NOW"), /KUBE_PKI_NOW: not an RFC 3339 time/);
        assert.throws(() => cliModule.parseNow("2026-02-30T00:00:00Z", "--now"), /not an RFC 3339 time/);
        assert.equal(cliModule.parseHours("30d", "--leaf-renew-before", 720), 720);
        assert.throws(() => cliModule.parseHours("1w", "--ca-renew-before", 1), /--ca-renew-before: expected <n>h or <n>d/);
    });

    it("--outputs: `pulumi stack output --json` or a bare inventory array", () => {
        const inv = inventory();
        assert.equal(cliModule.inventoryFromOutputs(JSON.stringify({ inventory: inv }), "f").length, inv.length);
        assert.equal(cliModule.inventoryFromOutputs(JSON.stringify(inv), "f").length, inv.length);
        assert.throws(() => cliModule.inventoryFromOutputs("{", "f"), /^Error: f: not JSON/);
        assert.throws(() => cliModule.inventoryFromOutputs(JSON.stringify({ clusterName: "dev" }), "f"), /f: no "inventory" output/);
        assert.throws(() => cliModule.inventoryFromOutputs(JSON.stringify({ inventory: "[secret]" }), "f"), /masked as \[secret\]/);
    });

    it("Automation API errors are reduced to the CLI's error line", () => {
        const transcript = "code: 255\n stdout: \n stderr: warning: x\nerror: no stack named 'prod' found\n\n err?: Error: failed\n";
        assert.equal(cliModule.oneLine(new Error(transcript)), "pulumi: no stack named 'prod' found");
        assert.equal(cliModule.oneLine(new Error("first\nsecond")), "first");
    });
});


describe("report: byte for byte like the real `kubeadm certs check-expiration` (when kubeadm is built)", function () {
    this.timeout(60000);
    it("same table for a full tree with an external etcd CA, an expired cert and missing kubeconfigs", async function () {
        const kubeadm = findKubeadm();
        // kubeadm reads kubeconfigs from /etc/kubernetes (and would contact a cluster through admin.conf): only
        // compare on a machine without one, where both tools see the kubeconfigs as missing.
        if (!kubeadm || fs.existsSync("/etc/kubernetes")) this.skip();
        // kubeadm uses the real clock: NotAfter values sit mid-bucket so a few seconds of drift change nothing.
        const now = new Date();
        const rel = (ms: number) => new Date(now.getTime() + ms);
        const pki = path.join(tmpDir(), "pki");
        const ca = await makeCa("kubernetes", rel(10 * Y - H));
        const etcdCa = await makeCa("etcd-ca", rel(364 * D + 12 * H));
        const fpCa = await makeCa("front-proxy-ca", rel(2 * Y + 100 * D + 12 * H));
        await writePair(pki, "ca", ca);
        await writePair(pki, "etcd/ca", etcdCa, false); // external etcd CA: kubeadm then validates every etcd-ca cert
        await writePair(pki, "front-proxy-ca", fpCa);
        const leaves: [string, Issued, number][] = [
            ["apiserver", ca, 23 * H + 30 * M],
            ["apiserver-kubelet-client", ca, 3 * D + 5 * H + 30 * M],
            ["apiserver-etcd-client", etcdCa, 30 * D + 12 * H],
            ["etcd/server", etcdCa, 300 * D + 12 * H],
            ["etcd/peer", etcdCa, 7 * H + 30 * M + 30 * S],
            ["etcd/healthcheck-client", etcdCa, 150 * M + 30 * S],
            ["front-proxy-client", fpCa, -3 * D],
        ];
        for (const [base, issuer, ms] of leaves) await writePair(pki, base, await makeLeaf(base, issuer, rel(ms)));
        const res = spawnSyncText(kubeadm!, ["certs", "check-expiration", "--cert-dir", pki]);
        const { rows, missing } = readCertDir(pki, new Date());
        assert.equal(formatTable(rows, new Date(), { missing, kubeadm: true }), res);
    });
});

function spawnSyncText(cmd: string, args: string[]): string {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, KUBECONFIG: "/nonexistent" } });
}
