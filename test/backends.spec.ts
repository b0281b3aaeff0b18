/**
 * Any backend (issue 25 item 3): check-expiration, `npm run pulumi`, the destroy guard and the recovery before
 * each run on the backend PULUMI_BACKEND_URL names; recovery never removes a lock or rewrites state there. Proved
 * on a real PostgreSQL server (Debian's postgresql 15, started on loopback in a temp dir, stopped at the end) with
 * the real Pulumi CLI. Skipped when either is missing.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { destroyRefusal } from "../scripts/destroy-guard";
import { clearPendingCreates, clearStaleLocks } from "../scripts/workspace";
import { createTestStack, PASSPHRASE, pulumiCli, TestStack } from "./support/pulumi-state";
import { Postgres, postgresAvailable, startPostgres } from "./support/postgres";

const REPO = path.resolve(__dirname, "..");
const NOW = "2030-06-01T00:00:00Z";

function inventory() {
    const entry = (id: string, node: string | undefined, isCa: boolean, notBefore: string, notAfter: string) => ({
        id,
        ...(node ? { node } : {}),
        file: isCa ? `etc/kubernetes/pki/${id}.crt` : `etc/kubernetes/pki/${id}.crt`,
        commonName: isCa ? "kubernetes" : "kube-apiserver",
        issuer: "ca",
        isCa,
        ...(isCa ? { generation: 0, active: true } : { issuerGeneration: 0 }),
        dnsNames: [],
        ipAddresses: [],
        extendedUsages: isCa ? [] : ["server_auth"],
        keyAlgorithm: "ECDSA-P256",
        validityHours: isCa ? 87600 : 8760,
        renewBeforeHours: isCa ? 8760 : 720,
        notBefore,
        notAfter,
    });
    return [entry("ca", undefined, true, "2030-01-01T00:00:00Z", "2039-12-30T00:00:00Z"), entry("apiserver", "cp-1", false, "2030-01-01T00:00:00Z", "2031-01-01T00:00:00Z")];
}

/** A wrapper script run as the user runs it (ts-node), with the team backend in the environment. */
function script(file: string, args: string[], env: NodeJS.ProcessEnv) {
    const r = spawnSync(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", path.join(REPO, file), ...args], {
        cwd: REPO,
        env,
        encoding: "utf8",
        timeout: 180_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("any backend: PostgreSQL (real server on loopback, real Pulumi CLI)", function () {
    if (!pulumiCli() || !postgresAvailable()) {
        it.skip("needs the Pulumi CLI and PostgreSQL 15 (apt-get install postgresql)");
        return;
    }
    this.timeout(300_000);
    let pg: Postgres;
    let dir: string;
    let ts: TestStack;
    let env: NodeJS.ProcessEnv;
    before(async () => {
        pg = await startPostgres();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "kp-team-"));
        ts = createTestStack(dir, pg.url, "team", {}, { clusterName: "team", inventory: inventory() });
        env = { ...ts.env, KUBE_PKI_NO_TOOL_BUILD: "1" };
        delete env.KUBE_PKI_STACK;
    });
    after(async () => {
        await pg?.stop();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("check-expiration reads the stack from PULUMI_BACKEND_URL, not .pulumi-state/", () => {
        const r = script("scripts/check-expiration.ts", ["--stack", "team", "--json", "--now", NOW], env);
        assert.equal(r.code, 0, r.stderr);
        const rows = JSON.parse(r.stdout);
        assert.deepEqual(rows.map((x: { certificate?: string; id?: string }) => x.id ?? x.certificate).sort(), ["apiserver", "ca"]);
        const missing = script("scripts/check-expiration.ts", ["--stack", "nope", "--json"], env);
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, /no stack "nope" in postgres:\/\/kubepki@127\.0\.0\.1:\d+\/postgres\?sslmode=disable \(stacks: team;/);
    });

    it("npm run pulumi -- stack output works on it", () => {
        const r = script("scripts/pulumi.ts", ["stack", "output", "clusterName", "--stack", "team"], env);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.trim(), "team");
    });

    it("the destroy guard reads the encrypted export from it", async () => {
        const pulumiCommand = await PulumiCommand.get({ skipVersionCheck: true });
        const ws = await LocalWorkspace.create({ workDir: ts.project, pulumiCommand, envVars: { PULUMI_BACKEND_URL: pg.url, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE, PULUMI_HOME: env.PULUMI_HOME!, PATH: process.env.PATH ?? "" } });
        const { exportEncrypted } = await import("../scripts/workspace");
        const exported = exportEncrypted(await Stack.select("team", ws));
        assert.ok(!JSON.stringify(exported).includes("PRIVATE KEY"), "the guard never sees a decrypted key");
        assert.match(destroyRefusal('"team"', exported) ?? "", /refusing to destroy stack "team": it holds 1 protected resource\(s\).*\n  tls:index\/privateKey:PrivateKey: ca-key/);
    });

    it("recovery never removes a lock or rewrites the state there, and says what to run", async () => {
        assert.deepEqual(clearStaleLocks(pg.url, "team"), { removed: [], kept: [] });
        assert.equal(await clearPendingCreates({ name: "team" } as never, pg.url), undefined);
        const { sharedBackendAdvice } = await import("../scripts/recovery");
        const exported = JSON.parse(ts.cli(["stack", "export", "--stack", "team"]));
        assert.equal(sharedBackendAdvice(exported, "team", pg.url), undefined, "nothing pending, nothing said");
        exported.deployment.pending_operations = [{ type: "creating", resource: { urn: "urn:pulumi:team::kube-pki::tls:index/privateKey:PrivateKey::k", type: "tls:index/privateKey:PrivateKey" } }];
        assert.match(sharedBackendAdvice(exported, "team", "postgres://u:hunter2@db:5432/x")!, /on postgres:\/\/u:\*\*\*@db:5432\/x has 1 pending operation.*never edits the state of a shared backend: .*pulumi -- refresh --stack team.*pulumi -- cancel --stack team/);
    });
});
