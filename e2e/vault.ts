/**
 * Step vault: the Vault intermediate against a REAL Vault server (`vault server -dev` on 127.0.0.1, built by
 * scripts/tools.sh). The component's @pulumi/vault resources reach the server through e2e/vault-bridge.ts (the
 * provider plugin cannot be built here, see the bridge's header); tls resources run on the tls emulator (real
 * crypto). What it proves:
 *  - every role the catalog derives is accepted by the server and reads back as sent;
 *  - every leaf Vault issues carries the locally-signed tree's CN, O, key usages, EKUs and SANs (cert by cert);
 *  - keyMode internal (no CA key anywhere outside Vault) and exported (the key that matches the intermediate);
 *  - etcd and kube-apiserver boot from the Vault-issued tree; `kubectl auth whoami` per identity;
 *  - a CA rotation stage → promote → distrust with Vault intermediates, booted at the end;
 *  - a role refuses a CN outside its pattern (the server's error).
 */
import { randomBytes, X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { certificates, describe, emulate, PkiFiles } from "./fidelity";
import { Daemon, freePort, runOk, waitFor } from "./procs";
import { bootControlPlane, checkWhoami, Ctx, writeScenarioTrees } from "./steps";
import { VaultApiError, vaultRequest, VaultServer } from "./vault-bridge";
import { VAULT_TYPES } from "../test/support/vault-emulator";
import { opensslVerify, parseCert } from "../test/support/x509";
import type { VaultRoleSpec } from "../components/vault";

interface VaultDump extends PkiFiles {
    vaultRoles: Record<string, VaultRoleSpec[]>;
    caKeys: Record<string, string>;
    vaultResources: { type: string; name: string; outputs: Record<string, any> }[];
    bridgeCalls: { method: string; path: string; status: number; warnings: string[] }[];
    warnings: { urn: string; summary: string; detail: string }[];
}

interface RotationDump {
    runs: (Omit<VaultDump, "vaultResources" | "bridgeCalls" | "warnings"> & { phase: object; replaced: string[] })[];
    bridgeCalls: VaultDump["bridgeCalls"];
    warnings: VaultDump["warnings"];
}

const PEMS = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g;
const pems = (text: string): string[] => text.match(PEMS) ?? [];

/** Starts `vault server -dev` on 127.0.0.1:<free port> with a random root token; the daemon is stopped by the caller. */
async function startVault(ctx: Ctx, signal: AbortSignal): Promise<{ daemon: Daemon; server: VaultServer; version: string }> {
    const port = await freePort();
    const token = randomBytes(16).toString("hex");
    const home = path.join(ctx.work, "vault-home");
    fs.mkdirSync(home, { mode: 0o700 });
    const env: NodeJS.ProcessEnv = { ...ctx.env, HOME: home, VAULT_ADDR: `http://127.0.0.1:${port}` };
    delete env.VAULT_TOKEN;
    const daemon = new Daemon("vault", "vault", [
        "server", "-dev", `-dev-listen-address=127.0.0.1:${port}`, `-dev-root-token-id=${token}`, "-dev-no-store-token",
    ], env);
    const server = { address: `http://127.0.0.1:${port}`, token };
    const ms = await waitFor(
        "vault dev server",
        async () => {
            const r = await fetch(`${server.address}/v1/sys/health`);
            return r.status === 200 || `HTTP ${r.status}`;
        },
        { timeoutMs: 60_000, intervalMs: 300, daemon, signal },
    );
    const health = (await (await fetch(`${server.address}/v1/sys/health`)).json()) as { version?: string };
    const cli = (await runOk("vault", ["version"], { env, log: "vault", timeoutMs: 30_000 })).stdout.trim();
    ctx.suite.check(`vault dev server on ${server.address} ready after ${(ms / 1000).toFixed(1)} s (sys/health: version ${health.version})`, true);
    return { daemon, server, version: cli };
}

/** What the catalog fixes on a leaf: compared between the locally-signed tree and the Vault-issued one. */
function identity(pem: string) {
    const c = parseCert(pem);
    return {
        CN: c.subjectCN ?? "",
        O: c.subjectO.join(","),
        keyUsage: [...c.keyUsage].sort().join(","),
        extKeyUsage: [...c.extKeyUsage].sort().join(","),
        dnsNames: [...c.dnsNames].sort().join(","),
        ipAddresses: [...c.ipAddresses].sort().join(","),
    };
}

/** Roles: listed by the server, and each reads back as the catalog derived it. */
async function checkRoles(ctx: Ctx, server: VaultServer, label: string, mount: string, specs: VaultRoleSpec[]) {
    const s = ctx.suite;
    const listed: string[] = (await vaultRequest(server, "LIST", `${mount}/roles`)).data?.keys ?? [];
    s.equal(`${label}: ${mount} holds the ${specs.length} roles the catalog derives`, [...listed].sort(), specs.map((r) => r.name).sort());
    const diffs: string[] = [];
    for (const spec of specs) {
        const d = (await vaultRequest(server, "GET", `${mount}/roles/${spec.name}`)).data;
        const want: Record<string, unknown> = {
            allowed_domains: spec.allowedDomains,
            organization: spec.organizations,
            key_usage: spec.keyUsages,
            server_flag: spec.serverFlag,
            client_flag: spec.clientFlag,
            key_type: spec.keyType,
            key_bits: spec.keyBits,
            ttl: Number(spec.ttl),
            max_ttl: Number(spec.maxTtl),
            enforce_hostnames: spec.enforceHostnames,
            allow_glob_domains: spec.allowGlobDomains,
            allow_bare_domains: spec.allowBareDomains,
            allow_ip_sans: spec.allowIpSans,
            allow_localhost: spec.allowLocalhost,
            require_cn: spec.requireCn,
        };
        for (const [k, v] of Object.entries(want)) {
            if (JSON.stringify(d[k] ?? []) !== JSON.stringify(v ?? [])) diffs.push(`${spec.name}.${k}: sent ${JSON.stringify(v)}, Vault has ${JSON.stringify(d[k])}`);
        }
    }
    s.check(`${label}: every role reads back from Vault as sent (allowed_domains, organization, key_usage, flags, key, TTLs)`, diffs.length === 0, diffs.join("\n"));
}

/** Every leaf of `local` (the locally-signed tree) against the same file of the Vault tree. */
function compareLeaves(ctx: Ctx, label: string, local: PkiFiles, vaulted: PkiFiles, vaultCas: Record<string, string>) {
    const s = ctx.suite;
    const localCerts = certificates(local);
    const vaultCerts = certificates(vaulted);
    let compared = 0;
    let byVault = 0;
    const diffs: string[] = [];
    for (const [file, localPem] of localCerts) {
        const lc = parseCert(localPem);
        if (lc.isCA) continue;
        const vaultPem = vaultCerts.get(file);
        if (!vaultPem) {
            diffs.push(`${file}: missing from the Vault tree`);
            continue;
        }
        compared++;
        const vc = parseCert(vaultPem);
        const issuerCa = Object.entries(vaultCas).find(([, caPem]) => vc.node.checkIssued(new X509Certificate(caPem)))?.[0];
        if (issuerCa) byVault++;
        const a = identity(localPem);
        const b = identity(vaultPem);
        for (const k of Object.keys(a) as (keyof typeof a)[]) {
            if (a[k] !== b[k]) diffs.push(`${file} ${k}: local "${a[k]}", Vault "${b[k]}"`);
        }
    }
    s.check(
        `${label}: ${compared} leaves compared with the locally-signed tree (${byVault} issued by Vault): same CN, O, key usages, EKUs, DNS and IP SANs`,
        diffs.length === 0 && compared === [...localCerts.values()].filter((p) => !parseCert(p).isCA).length && byVault >= 15,
        diffs.join("\n") || `${byVault} issued by Vault`,
    );
}

/** The intermediate certificates Vault holds, per CA id: the first certificate of each Vault CA's bundle. */
function intermediates(files: PkiFiles, ids: Record<string, string>): Record<string, string> {
    const cp = files.nodeFiles["cp-1"];
    return Object.fromEntries(Object.entries(ids).map(([ca, file]) => [ca, pems(cp[`etc/kubernetes/pki/${file}.crt`].content)[0] ?? ""]));
}

function checkKeys(ctx: Ctx, label: string, dump: VaultDump, keyMode: "internal" | "exported", cas: Record<string, string>, mounts: Record<string, string>) {
    const s = ctx.suite;
    const cp = dump.nodeFiles["cp-1"];
    const inters = intermediates(dump, cas);
    for (const [ca, file] of Object.entries(cas)) {
        const certPub = new X509Certificate(inters[ca]).publicKey.export({ type: "spki", format: "der" }).toString("hex");
        const matches = (pem: string) => {
            try {
                return createPublicKey(createPrivateKey(pem)).export({ type: "spki", format: "der" }).toString("hex") === certPub;
            } catch {
                return false;
            }
        };
        const csr = dump.vaultResources.find((r) => r.type === VAULT_TYPES.IntermediateCertRequest && r.outputs.backend === mounts[ca]);
        if (keyMode === "internal") {
            const everywhere = [
                ...Object.values(dump.nodeFiles).flatMap((m) => Object.values(m).map((f) => f.content)),
                ...Object.values(dump.kubeconfigs),
                ...dump.vaultResources.map((r) => JSON.stringify(r.outputs)),
                ...Object.values(dump.caKeys),
            ];
            const keys = everywhere.flatMap((t) => (t.replace(/\\n/g, "\n").match(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g) ?? []));
            s.check(
                `${label} ${ca}: no ${file}.key in the tree, keyPem "", the CSR's privateKey "", and none of the ${keys.length} private keys in the outputs/state matches the intermediate`,
                !(`etc/kubernetes/pki/${file}.key` in cp) && dump.caKeys[ca] === "" && csr !== undefined && csr.outputs.privateKey === "" && !keys.some(matches),
                `tree key: ${`etc/kubernetes/pki/${file}.key` in cp}, keyPem: ${JSON.stringify(dump.caKeys[ca]).slice(0, 40)}, csr privateKey: ${JSON.stringify(csr?.outputs.privateKey).slice(0, 40)}`,
            );
        } else {
            const key = cp[`etc/kubernetes/pki/${file}.key`]?.content ?? "";
            s.check(`${label} ${ca}: ${file}.key is the exported key of the Vault intermediate (public keys match)`, matches(key), key.slice(0, 40));
        }
    }
}

/** The negative: a role refuses a CN outside its pattern; the error is the server's. */
async function checkRefusal(ctx: Ctx, server: VaultServer, mount: string, specs: VaultRoleSpec[]) {
    const admin = specs.find((r) => r.allowedDomains.includes("kubernetes-admin"))!;
    const refused = await vaultRequest(server, "POST", `${mount}/issue/${admin.name}`, { common_name: "kubernetes-super-admin", ttl: "1h" }).then(
        () => undefined,
        (e: Error) => e,
    );
    ctx.suite.check(
        `role ${admin.name} refuses CN kubernetes-super-admin: Vault answers 400 "common name kubernetes-super-admin not allowed by this role"`,
        refused instanceof VaultApiError && refused.status === 400 && refused.errors.some((e) => /common name kubernetes-super-admin not allowed by this role/.test(e)),
        refused ? refused.message : "issued",
    );
}

export async function stepVault(ctx: Ctx, signal: AbortSignal) {
    const s = ctx.suite;
    const { daemon, server, version } = await startVault(ctx, signal);
    s.info(`Vault: ${version}`);
    let cp: Awaited<ReturnType<typeof bootControlPlane>> | undefined;
    try {
        const apiPort = await freePort();
        const base = {
            clusterName: "vlt",
            controlPlaneEndpoint: `127.0.0.1:${apiPort}`,
            apiServerBindPort: apiPort,
            controlPlanes: [{ name: "cp-1", advertiseAddress: "127.0.0.1" }],
            workers: [{ name: "worker-1", addresses: ["127.0.0.2"] }],
            users: [{ name: "alice", group: "dev-team" }],
            kubeletServingCerts: true,
            kubeProxy: true,
        };
        const vaultCas = { ca: "ca", "etcd-ca": "etcd/ca" };
        const run = <T>(kind: "cluster" | "rotation", name: string, args: object, extra: object = {}) =>
            emulate<T>(ctx.projectDir, ctx.work, kind, name, args, ctx.env, signal, extra);
        const withVault = (prefix: string, keyMode: string) => ({
            ...base,
            vault: { address: server.address, token: server.token, ca: { mountPath: `${prefix}-ca`, keyMode }, "etcd-ca": { mountPath: `${prefix}-etcd`, keyMode } },
        });

        const local = await run<PkiFiles>("cluster", "vlt-local", base);
        for (const keyMode of ["internal", "exported"] as const) {
            const prefix = `pki-${keyMode}`;
            const label = `keyMode ${keyMode}`;
            const t = Date.now();
            const dump = await run<VaultDump>("cluster", `vlt-${keyMode}`, withVault(prefix, keyMode), { vault: server });
            const posts = dump.bridgeCalls.filter((c) => c.method === "POST").length;
            s.info(`${label}: ${dump.bridgeCalls.length} Vault API calls (${posts} writes) in ${((Date.now() - t) / 1000).toFixed(1)} s`);
            const vaultWarnings = dump.bridgeCalls.flatMap((c) => c.warnings.map((w) => `${c.path}: ${w}`));
            if (vaultWarnings.length) s.info(`${label}: Vault warnings:\n  ${[...new Set(vaultWarnings)].join("\n  ")}`);
            await checkRoles(ctx, server, label, `${prefix}-ca`, dump.vaultRoles.ca ?? []);
            await checkRoles(ctx, server, label, `${prefix}-etcd`, dump.vaultRoles["etcd-ca"] ?? []);
            const inters = intermediates(dump, vaultCas);
            compareLeaves(ctx, label, local, dump, inters);
            checkKeys(ctx, label, dump, keyMode, vaultCas, { ca: `${prefix}-ca`, "etcd-ca": `${prefix}-etcd` });
            // the chain: root → Vault intermediate → leaf
            const bundle = dump.nodeFiles["cp-1"]["etc/kubernetes/pki/ca.crt"].content;
            const [intermediate = "", root = ""] = pems(bundle);
            const v = opensslVerify([root], dump.nodeFiles["cp-1"]["etc/kubernetes/pki/apiserver.crt"].content, [intermediate]);
            s.check(`${label}: apiserver.crt verifies root → Vault intermediate → leaf (openssl -x509_strict)`, v.ok, v.output);
            if (keyMode === "internal") {
                // the unit tests' Vault emulator against the server: every X.509 property fidelity compares
                const emulated = await run<PkiFiles>("cluster", "vlt-internal-emulated", withVault(prefix, keyMode), { vaultEmulator: true });
                compareWithEmulator(ctx, dump, emulated);
                await checkRefusal(ctx, server, `${prefix}-ca`, dump.vaultRoles.ca ?? []);
                // boot from the Vault-issued tree (kubeadm's external-CA mode: no ca.key, no etcd/ca.key)
                const treeRoot = writeScenarioTrees(ctx, "vault-internal", dump.nodeFiles);
                cp = await bootControlPlane(ctx, "vault-internal", { config: base, treeRoot, apiPort }, signal);
                await checkIdentities(ctx, cp, treeRoot, dump.kubeconfigs["users/alice.conf"], ["cp-1", "worker-1"]);
                await cp.stop();
                cp = undefined;
            }
        }

        // CA rotation with Vault intermediates: each generation is a new mount (<mountPath>-g<n>)
        const rotArgs = { ...withVault("pki-rot", "internal"), leafValidity: "100h", leafRenewBefore: "20h", caValidity: "1000h", caRenewBefore: "100h" };
        const phases = [{}, { caRotation: { ca: "stage" } }, { caRotation: { ca: "promote" } }, { caRotation: { ca: "distrust" } }];
        const t = Date.now();
        const rot = await run<RotationDump>("rotation", "vlt-rot", rotArgs, { vault: server, phases });
        s.info(`rotation: ${rot.runs.length} runs, ${rot.bridgeCalls.length} Vault API calls in ${((Date.now() - t) / 1000).toFixed(1)} s`);
        checkRotation(ctx, rot);
        const final = rot.runs[rot.runs.length - 1];
        const treeRoot = writeScenarioTrees(ctx, "vault-rotated", final.nodeFiles);
        cp = await bootControlPlane(ctx, "vault-rotated", { config: base, treeRoot, apiPort }, signal);
        await checkIdentities(ctx, cp, treeRoot, final.kubeconfigs["users/alice.conf"], ["cp-1"]);
        const oldAdmin = clientCert(rot.runs[0].kubeconfigs["admin.conf"]);
        const stale = await cp.request({ path: "/api", ca: cp.pkiFile("ca.crt"), cert: oldAdmin.cert(ctx.work), key: oldAdmin.key(ctx.work) }).then(
            (r) => r.status,
            (e: Error) => e.message,
        );
        s.check("after distrust: admin.conf's client cert from the first Vault intermediate is refused (401)", stale === 401, String(stale));
    } finally {
        await cp?.stop();
        await daemon.stop();
    }
}

/** Vault-issued leaves: the server's against the unit tests' emulator's, on the fidelity step's properties. */
function compareWithEmulator(ctx: Ctx, real: PkiFiles, emulated: PkiFiles) {
    const realCerts = certificates(real);
    const emuCerts = certificates(emulated);
    const diffs: string[] = [];
    let compared = 0;
    for (const [file, pem] of realCerts) {
        const e = emuCerts.get(file);
        if (!e || parseCert(pem).isCA) continue;
        compared++;
        const a = describe(pem, realCerts);
        const b = describe(e, emuCerts);
        // Vault reads the clock for NotAfter before generating the key and for NotBefore after it: ttl + 30 s minus
        // the key generation time (3 s seen for RSA-2048 on the loaded machine), truncated to seconds. The emulator
        // reads its clock the same way, but its fixed or fast clock gives ttl + 30 s.
        const ttl = Math.round(Number(b.validitySeconds) / 3600) * 3600;
        const inWindow = (v: string) => Number(v) > ttl && Number(v) <= ttl + 30;
        const close = (k: string) => k === "validitySeconds" && inWindow(a[k]) && inWindow(b[k]);
        for (const k of Object.keys(a)) if (a[k] !== b[k] && !close(k)) diffs.push(`${file} ${k}: Vault "${a[k]}", emulator "${b[k]}"`);
    }
    if (diffs.length) ctx.suite.info(`Vault emulator differences:\n  ${diffs.join("\n  ")}`);
    ctx.suite.check(`Vault emulator vs the server: ${compared} leaves, same X.509 properties (extensions, KU/EKU, subject, issuer, SANs, validity in (ttl, ttl + 30 s]: 30 s of backdating less the key generation time, key, SKID/AKID, serial, PEM)`, diffs.length === 0 && compared >= 15, diffs.slice(0, 20).join("\n"));
}

function clientCert(kubeconfig: string) {
    const get = (field: string) => Buffer.from(new RegExp(`${field}: (\\S+)`).exec(kubeconfig)![1], "base64");
    const write = (work: string, name: string, data: Buffer, mode: number) => {
        const f = path.join(work, name);
        fs.writeFileSync(f, data, { mode });
        return f;
    };
    return {
        cert: (work: string) => write(work, "stale-admin.crt", get("client-certificate-data"), 0o644),
        key: (work: string) => write(work, "stale-admin.key", get("client-key-data"), 0o600),
    };
}

async function checkIdentities(ctx: Ctx, cp: NonNullable<Awaited<ReturnType<typeof bootControlPlane>>>, treeRoot: string, aliceConf: string, nodes: string[]) {
    const s = ctx.suite;
    const kc = (node: string, file: string) => path.join(treeRoot, node, "etc/kubernetes", file);
    await checkWhoami(s, cp, "super-admin.conf", kc("cp-1", "super-admin.conf"), "kubernetes-super-admin", ["system:masters"]);
    await checkWhoami(s, cp, "admin.conf", kc("cp-1", "admin.conf"), "kubernetes-admin", ["kubeadm:cluster-admins"]);
    await checkWhoami(s, cp, "controller-manager.conf", kc("cp-1", "controller-manager.conf"), "system:kube-controller-manager", []);
    await checkWhoami(s, cp, "scheduler.conf", kc("cp-1", "scheduler.conf"), "system:kube-scheduler", []);
    for (const node of nodes) {
        await checkWhoami(s, cp, `${node} kubelet.conf`, kc(node, "kubelet.conf"), `system:node:${node}`, ["system:nodes"]);
        await checkWhoami(s, cp, `${node} kube-proxy.conf`, kc(node, "kube-proxy.conf"), "system:kube-proxy", []);
    }
    const alice = path.join(treeRoot, "alice.conf");
    fs.writeFileSync(alice, aliceConf, { mode: 0o600 });
    await checkWhoami(s, cp, "users/alice.conf", alice, "alice", ["dev-team"]);
}

function checkRotation(ctx: Ctx, rot: RotationDump) {
    const s = ctx.suite;
    const names = ["initial", "stage", "promote", "distrust"];
    const inter = (run: RotationDump["runs"][number]) => pems(run.nodeFiles["cp-1"]["etc/kubernetes/pki/ca.crt"].content);
    const g0 = inter(rot.runs[0])[0];
    const g1 = inter(rot.runs[1])[0] === g0 ? inter(rot.runs[1])[2] : inter(rot.runs[1])[0];
    const issuedBy = (leafPem: string, caPem: string | undefined) => !!caPem && new X509Certificate(leafPem).verify(new X509Certificate(caPem).publicKey);
    rot.runs.forEach((run, i) => {
        const bundle = inter(run);
        const apiserver = run.nodeFiles["cp-1"]["etc/kubernetes/pki/apiserver.crt"].content;
        const expectSigner = i < 2 ? g0 : g1;
        const expectedCount = i === 0 || i === 3 ? 2 : 4;
        const v = opensslVerify(bundle.filter((p) => parseCert(p).subjectCN?.endsWith("-root")), apiserver, bundle.filter((p) => !parseCert(p).subjectCN?.endsWith("-root")));
        s.check(
            `rotation ${names[i]}: ca.crt holds ${expectedCount / 2} Vault intermediate(s) with their roots; apiserver.crt issued by the ${i < 2 ? "first" : "new"} intermediate and verifies`,
            bundle.length === expectedCount && issuedBy(apiserver, expectSigner) && v.ok && (i !== 3 || !bundle.includes(g0)),
            `${bundle.length} certs in ca.crt; issued by expected: ${issuedBy(apiserver, expectSigner)}; ${v.output}`,
        );
    });
    s.check("rotation: the staged intermediate is a different key from the first", !!g1 && !!g0 && new X509Certificate(g1!).publicKey.export({ type: "spki", format: "der" }).toString("hex") !== new X509Certificate(g0!).publicKey.export({ type: "spki", format: "der" }).toString("hex"));
}
