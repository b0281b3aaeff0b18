/**
 * e2e step `team` (issue 25): a team's layout on a shared backend. A PostgreSQL server (Debian's postgresql, on
 * loopback, stopped at the end) is the backend of a root stack and two cluster stacks, staging and prod. The root's
 * secrets are encrypted by Vault transit (`hashivault://`, a Vault dev server and a transit key made here); staging
 * has a transit key of its own (and a Vault token whose policy allows only that key), prod a passphrase (and a Vault
 * token with no transit permission). Each operator runs with their own credentials only. Checks:
 *  - intermediates by CSR: no private key in any stack's outputs; the root's export holds no cluster key;
 *  - the staging operator cannot decrypt prod's or the root's secrets, and still runs `up` and `preview`;
 *  - two clones `up` one stack at once: one proceeds, the other is told the stack is locked; nothing pending after;
 *  - check-expiration and the destroy guard on that backend;
 *  - a CA rotation of prod's cluster CA through the root (stage → promote → distrust).
 * Runs are kept few: the root lists prod's generations 0 and 1 from the start, so the creation runs
 * (root, clusters' CSRs, root signs, clusters) also sign the generation the rotation stages.
 */
import { randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { destroyRefusal } from "../scripts/destroy-guard";
import { startPostgres } from "../test/support/postgres";
import { Daemon, freePort, waitFor } from "./procs";
import { createStack, exportEncrypted, plainOutputs, pulumiOp, snapshotProject } from "./pulumi";
import { Ctx } from "./steps";

const REPO = path.resolve(__dirname, "..");
const PEM_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

interface Operator {
    name: string;
    ws: LocalWorkspace;
    env: Record<string, string>;
}

async function startVault(ctx: Ctx, signal: AbortSignal) {
    const port = await freePort();
    const token = randomBytes(16).toString("hex");
    const home = path.join(ctx.work, "team-vault-home");
    fs.mkdirSync(home, { mode: 0o700 });
    const env: NodeJS.ProcessEnv = { ...ctx.env, HOME: home };
    delete env.VAULT_TOKEN;
    const daemon = new Daemon("team-vault", "vault", ["server", "-dev", `-dev-listen-address=127.0.0.1:${port}`, `-dev-root-token-id=${token}`, "-dev-no-store-token"], env);
    const address = `http://127.0.0.1:${port}`;
    await waitFor("vault dev server", async () => (await fetch(`${address}/v1/sys/health`)).status === 200, { timeoutMs: 60_000, intervalMs: 300, daemon, signal });
    const call = async (method: string, p: string, body?: object) => {
        const r = await fetch(`${address}/v1/${p}`, { method, headers: { "X-Vault-Token": token }, body: body ? JSON.stringify(body) : undefined });
        if (r.status >= 300) throw new Error(`vault ${method} ${p}: HTTP ${r.status} ${await r.text()}`);
        return r.status === 204 ? {} : ((await r.json()) as { auth?: { client_token: string } });
    };
    await call("POST", "sys/mounts/transit", { type: "transit" });
    for (const key of ["kube-pki-root", "kube-pki-staging"]) await call("POST", `transit/keys/${key}`, { type: "aes256-gcm96" });
    // staging's operator: a token that may use the staging transit key only
    const rules = ["encrypt", "decrypt"].map((op) => `path "transit/${op}/kube-pki-staging" { capabilities = ["update"] }`).join("\n");
    await call("PUT", "sys/policies/acl/kube-pki-staging", { policy: rules });
    const stagingToken = (await call("POST", "auth/token/create", { policies: ["kube-pki-staging"], ttl: "1h" })).auth!.client_token;
    // prod's operator: a passphrase for its stack, and a Vault token without any transit permission
    const prodToken = (await call("POST", "auth/token/create", { policies: ["default"], ttl: "1h" })).auth!.client_token;
    return { daemon, address, token, stagingToken, prodToken };
}

export async function stepTeam(ctx: Ctx, signal: AbortSignal) {
    const s = ctx.suite;
    const pg = await startPostgres();
    const vault = await startVault(ctx, signal).catch(async (e) => {
        await pg.stop();
        throw e;
    });
    try {
        s.check(`PostgreSQL backend on ${pg.url.replace(/\?.*/, "")}; Vault transit key kube-pki-root on ${vault.address}`, true);
        const pulumiCommand = await PulumiCommand.get({ skipVersionCheck: true });
        const base: Record<string, string> = { ...ctx.ws.envVars, PULUMI_BACKEND_URL: pg.url };
        delete base.PULUMI_CONFIG_PASSPHRASE;
        delete base.VAULT_TOKEN;
        const operator = async (name: string, secrets: Record<string, string>, workDir = ctx.projectDir, secretsProvider?: string): Promise<Operator> => {
            const env = { ...base, ...secrets };
            return { name, env, ws: await LocalWorkspace.create({ workDir, pulumiHome: ctx.ws.pulumiHome, pulumiCommand, envVars: env, secretsProvider }) };
        };
        const rootOp = await operator("root", { VAULT_SERVER_URL: vault.address, VAULT_SERVER_TOKEN: vault.token }, ctx.projectDir, "hashivault://kube-pki-root");
        // A stack that reads a StackReference to a hashivault:// stack must be able to open that keeper (a Vault
        // address and a token), though not to decrypt with its key (docs/multi-stack.md#separate-secrets).
        const stagingVault = { VAULT_SERVER_URL: vault.address, VAULT_SERVER_TOKEN: vault.stagingToken };
        const stagingOp = await operator("staging", stagingVault, ctx.projectDir, "hashivault://kube-pki-staging");
        const prodOp = await operator("prod", { PULUMI_CONFIG_PASSPHRASE: "prod-" + randomBytes(8).toString("hex"), VAULT_SERVER_URL: vault.address, VAULT_SERVER_TOKEN: vault.prodToken });

        const rootName = "organization/kube-pki/team-root";
        const clusterConfig = async (cluster: string) => {
            const port = await freePort();
            return { rootStack: rootName, clusterName: cluster, controlPlaneEndpoint: `127.0.0.1:${port}`, controlPlanes: [{ name: "cp-1", advertiseAddress: "127.0.0.1" }], keyAlgorithm: "ECDSA-P256" };
        };
        // each operator creates their own stack with their own secrets (before the root reads it)
        const staging = await createStack(stagingOp.ws, "team-staging", await clusterConfig("staging"));
        const prod = await createStack(prodOp.ws, "team-prod", await clusterConfig("prod"));
        const clusters = [
            { name: "staging", stack: "organization/kube-pki/team-staging", cas: ["ca"] },
            { name: "prod", stack: "organization/kube-pki/team-prod", cas: ["ca"], generations: { ca: [0, 1] } },
        ];
        const root = await createStack(rootOp.ws, "team-root", { role: "root", rootCa: { keyAlgorithm: "ECDSA-P256" }, clusters });
        const up = async (stack: Stack, label: string) => {
            const r = await pulumiOp(`team-up-${label}`, signal, (o) => stack.up(o));
            s.check(`${label}: up succeeded`, r.summary.result === "succeeded", JSON.stringify(r.summary));
            return plainOutputs(r.outputs);
        };
        const r1 = await up(root, "root run 1");
        s.equal("root run 1: awaits the CSRs", [...r1.awaitingRequests].sort(), ["prod/ca/0", "prod/ca/1", "staging/ca/0"]);
        const st1 = await up(staging, "staging run 1 (CSRs)");
        s.check("staging run 1: says what to run next", String(st1.nextStep).includes(`\`up\` on the root stack ${rootName}, then \`up\` here again`), String(st1.nextStep));
        await up(prod, "prod run 1 (CSRs)");
        const r2 = await up(root, "root run 2 (signs)");
        s.equal("root run 2: nothing awaited", r2.awaitingRequests, []);
        const st2 = await up(staging, "staging run 2 (PKI)");
        const p2 = await up(prod, "prod run 2 (PKI)");
        s.check("staging and prod trust their own intermediate, both chained to one root", st2.rootCertificate === r2.rootCertificate && p2.rootCertificate === r2.rootCertificate && st2.caCertificates.ca !== p2.caCertificates.ca, "");

        // no key in any stack's outputs: the stored (encrypted) export of each stack carries none in the clear
        type Res = { type: string; urn: string; outputs?: Record<string, any> };
        const resources = async (op: Operator, name: string) => ((await exportEncrypted(op.ws, name)) as { deployment: { resources: Res[] } }).deployment.resources;
        for (const [label, op, name] of [["root", rootOp, "team-root"], ["staging", stagingOp, "team-staging"], ["prod", prodOp, "team-prod"]] as const) {
            const stackRes = (await resources(op, name)).find((r) => r.type === "pulumi:pulumi:Stack");
            s.check(`${label}: no private key in the clear in any stack output (stored export)`, !PEM_KEY.test(JSON.stringify(stackRes?.outputs ?? {})), "a PEM private key in the outputs");
        }
        const rootOut = await root.outputs();
        s.check("root outputs: no private key at all, secret or not (decrypted)", !PEM_KEY.test(JSON.stringify(rootOut)), "a key in the root's outputs");
        const rootState = (await root.exportStack()).deployment.resources as Res[];
        const rootKeys = rootState.filter((r) => r.type === "tls:index/privateKey:PrivateKey").map((r) => r.urn.split("::").pop());
        s.equal("the root's state (export, decrypted) holds one private key: its own", rootKeys, ["root-root-key"]);
        const prodState = (await prod.exportStack()).deployment.resources as Res[];
        const stored = prodState.find((r) => r.urn.endsWith("::prod-ca-intermediate-key"))?.outputs?.privateKeyPem;
        // a decrypted export keeps the secret envelope: {<sig>: ..., plaintext: "<JSON string>"}
        const prodCaKey = String(typeof stored === "object" && stored?.plaintext ? JSON.parse(stored.plaintext) : (stored ?? ""));
        const body = prodCaKey.split("\n").slice(1, 3).join("");
        s.check("prod's intermediate key is in prod's state only (not in the root's)", body.length > 40 && !JSON.stringify(rootState).includes(body), `key found: ${body.length > 40}`);

        // least privilege: staging's operator cannot decrypt prod's or the root's secrets, and still runs up and preview
        const asStaging = (args: string[]) => spawnSync("pulumi", args, { cwd: ctx.projectDir, env: { ...process.env, ...stagingOp.env }, encoding: "utf8", timeout: 120_000 });
        for (const other of ["team-prod", "team-root"]) {
            // (prod: staging has no passphrase for it; root: staging's token may not use the root's transit key)
            const r = asStaging(["stack", "export", "--show-secrets", "--stack", other]);
            s.check(`staging's credentials: \`pulumi stack export --show-secrets --stack ${other}\` fails`, r.status !== 0 && !PEM_KEY.test(r.stdout), `${r.status} ${r.stderr.slice(0, 300)}`);
        }
        const prodCaRead = asStaging(["stack", "output", "--show-secrets", "--stack", "team-prod", "--json"]);
        s.check("staging's credentials: prod's secret outputs are not readable", prodCaRead.status !== 0 || !PEM_KEY.test(prodCaRead.stdout), prodCaRead.stderr.slice(0, 300));
        const pv = await pulumiOp("team-preview-staging", signal, (o) => staging.preview(o));
        s.check("staging preview with its own credentials: no changes", Object.keys(pv.changeSummary).every((k) => k === "same" || k === "read"), JSON.stringify(pv.changeSummary));

        // two clones, one stack, concurrent up: one proceeds, the other is told the stack is locked
        const clone = snapshotProject(path.join(ctx.work, "team-clone"));
        fs.copyFileSync(path.join(ctx.projectDir, "stacks", "Pulumi.team-staging.yaml"), path.join(clone, "stacks", "Pulumi.team-staging.yaml"));
        const cloneOp = await operator("staging (clone)", stagingVault, clone);
        const stagingClone = await Stack.select("team-staging", cloneOp.ws);
        const both = await Promise.allSettled([
            pulumiOp("team-up-concurrent-a", signal, (o) => staging.up(o)),
            pulumiOp("team-up-concurrent-b", signal, (o) => stagingClone.up(o)),
        ]);
        const failed = both.filter((b) => b.status === "rejected").map((b) => String((b as PromiseRejectedResult).reason?.message ?? b));
        s.check(
            "concurrent up of team-staging from two clones: one succeeds, the other is refused by the backend's lock",
            both.filter((b) => b.status === "fulfilled").length === 1 && failed.length === 1 && /locked/i.test(failed[0]),
            failed.join("\n").slice(0, 600),
        );
        const after = JSON.stringify((await staging.exportStack()).deployment);
        s.check("no pending operation left on team-staging", !/"pending_operations":\[\{/.test(after), "pending operations");

        // check-expiration and the destroy guard on that backend
        const ce = spawnSync(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", path.join(REPO, "scripts/check-expiration.ts"), "--stack", "team-prod", "--json"], {
            cwd: REPO,
            env: { ...process.env, ...prodOp.env, KUBE_PKI_NO_TOOL_BUILD: "1" },
            encoding: "utf8",
            timeout: 180_000,
        });
        let rows: { id?: string; certificate?: string }[] = [];
        try {
            rows = JSON.parse(ce.stdout);
        } catch {
            /* reported below */
        }
        s.check("check-expiration --stack team-prod reads the PostgreSQL backend", ce.status === 0 && rows.some((r) => (r.id ?? r.certificate) === "apiserver"), ce.stderr.slice(0, 400));
        const refusal = destroyRefusal(`"team-root"`, await exportEncrypted(rootOp.ws, "team-root"));
        s.check("the destroy guard refuses the root stack (protected root CA) from that backend's export", /refusing to destroy stack "team-root"/.test(refusal ?? ""), refusal ?? "no refusal");

        // CA rotation of prod's cluster CA through the root: generation 1 was signed at creation
        const phases: string[] = [];
        for (const phase of ["stage", "promote", "distrust"]) {
            await prod.setConfig("kube-pki:caRotation", { value: JSON.stringify({ ca: phase }) });
            const out = await up(prod, `prod CA rotation: ${phase}`);
            const bundle = String(out.trustBundles.ca);
            phases.push(`${phase}: ${(bundle.match(/BEGIN CERTIFICATE/g) ?? []).length} CA(s) trusted`);
        }
        s.equal("prod's CA rotation through the root: stage and promote trust both generations, distrust one", phases, [
            "stage: 2 CA(s) trusted",
            "promote: 2 CA(s) trusted",
            "distrust: 1 CA(s) trusted",
        ]);
        const signedG1 = (await root.outputs()).intermediates.value.prod.ca.find((i: { generation: number }) => i.generation === 1).certPem;
        const finalCa = (await prod.outputs()).caCertificates.value.ca;
        s.check("prod's CA after distrust is the root-signed generation 1", String(finalCa).trim() === String(signedG1).trim(), "");
    } finally {
        await vault.daemon.stop();
        await pg.stop();
    }
}
