/**
 * The demo passphrase (issue 21 item 3, issue 25 item 4): only the dev stack and tests that opt in
 * (KUBE_PKI_DEMO_PASSPHRASE_OK=1) use it, and every such run says so; any other stack without
 * PULUMI_CONFIG_PASSPHRASE or a --secrets-provider is refused before anything runs, naming both.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { UserError } from "../scripts/errors";
import { DEMO_PASSPHRASE, secretsFor, stackSecretsProvider } from "../scripts/passphrase";
import { engineEnv } from "../scripts/workspace";

const REPO = path.resolve(__dirname, "..");
const REFUSAL = /stack "(root|prod)" needs its own secrets: the demo passphrase is only for the "dev" stack\. Set PULUMI_CONFIG_PASSPHRASE .* --secrets-provider hashivault:\/\/<key> .*Nothing was run\./;

function withoutPassphrase<T>(fn: () => T): T {
    const saved = { p: process.env.PULUMI_CONFIG_PASSPHRASE, f: process.env.PULUMI_CONFIG_PASSPHRASE_FILE, o: process.env.KUBE_PKI_DEMO_PASSPHRASE_OK };
    delete process.env.PULUMI_CONFIG_PASSPHRASE;
    delete process.env.PULUMI_CONFIG_PASSPHRASE_FILE;
    delete process.env.KUBE_PKI_DEMO_PASSPHRASE_OK;
    try {
        return fn();
    } finally {
        for (const [k, v] of [["PULUMI_CONFIG_PASSPHRASE", saved.p], ["PULUMI_CONFIG_PASSPHRASE_FILE", saved.f], ["KUBE_PKI_DEMO_PASSPHRASE_OK", saved.o]] as const) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
    }
}

describe("the demo passphrase and --secrets-provider (scripts/passphrase.ts)", () => {
    it("dev uses the demo passphrase and says so; root and prod are refused, naming PULUMI_CONFIG_PASSPHRASE and --secrets-provider", () => {
        const dev = secretsFor("dev", undefined, {});
        assert.deepEqual(dev.env, { PULUMI_CONFIG_PASSPHRASE: DEMO_PASSPHRASE });
        assert.match(dev.notice!, /^kube-pki: stack "dev" uses the demo passphrase \(PULUMI_CONFIG_PASSPHRASE is unset\): for the dev stack and tests only$/);
        for (const stack of ["root", "prod"]) {
            assert.throws(() => secretsFor(stack, undefined, {}), (e: Error) => e instanceof UserError && REFUSAL.test(e.message));
            assert.throws(() => secretsFor(stack, "passphrase", {}), REFUSAL, "--secrets-provider passphrase still needs a passphrase");
        }
    });

    it("an own passphrase, a KMS provider or the tests' explicit opt-in; nothing silent", () => {
        assert.deepEqual(secretsFor("prod", undefined, { PULUMI_CONFIG_PASSPHRASE: "s3cret" }), { env: { PULUMI_CONFIG_PASSPHRASE: "s3cret" } });
        assert.deepEqual(secretsFor("prod", undefined, { PULUMI_CONFIG_PASSPHRASE_FILE: "/run/pp" }), { env: { PULUMI_CONFIG_PASSPHRASE_FILE: "/run/pp" } });
        assert.deepEqual(secretsFor("root", "hashivault://kube-pki-root", {}), { env: {}, secretsProvider: "hashivault://kube-pki-root" });
        for (const kms of ["awskms://alias/kube-pki?region=eu-west-1", "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k", "azurekeyvault://v.vault.azure.net/keys/k"]) {
            assert.equal(secretsFor("prod", kms, {}).secretsProvider, kms);
        }
        const test = secretsFor("prod", undefined, { KUBE_PKI_DEMO_PASSPHRASE_OK: "1" });
        assert.equal(test.env.PULUMI_CONFIG_PASSPHRASE, DEMO_PASSPHRASE);
        assert.match(test.notice!, /stack "prod" uses the demo passphrase \(PULUMI_CONFIG_PASSPHRASE is unset, KUBE_PKI_DEMO_PASSPHRASE_OK=1\)/);
        assert.throws(() => secretsFor("prod", "vault://x", {}), /--secrets-provider "vault:\/\/x": expected passphrase, hashivault:\/\/<key>, awskms:\/\/<key>/);
        assert.deepEqual(secretsFor(undefined, undefined, {}), { env: {} }, "a CLI command without --stack gets no demo passphrase");
        assert.match(secretsFor(undefined, undefined, { KUBE_PKI_DEMO_PASSPHRASE_OK: "1" }).notice!, /^kube-pki: this run uses the demo passphrase/);
    });

    it("a stack created with a KMS keeps it: its stack file's secretsprovider needs no passphrase", () => {
        const file = path.join(REPO, "stacks", "Pulumi.kp-spec-kms.yaml");
        fs.writeFileSync(file, "secretsprovider: hashivault://kube-pki-spec\nencryptedkey: dmF1bHQ6djE6eHh4\nconfig: {}\n");
        try {
            assert.equal(stackSecretsProvider("kp-spec-kms"), "hashivault://kube-pki-spec");
            assert.deepEqual(secretsFor("kp-spec-kms", undefined, {}), { env: {} });
        } finally {
            fs.rmSync(file);
        }
    });

    it("the wrapper refuses before it looks for tools or touches a backend (engineEnv)", () => {
        withoutPassphrase(() => {
            assert.throws(() => engineEnv(undefined, "prod"), REFUSAL);
            const env = engineEnvOrError(() => engineEnv(undefined, "root"));
            assert.match(env, REFUSAL);
        });
    });

    it("npm run preview -- --stack prod with no passphrase: exit 1, the refusal, nothing created in the backend", function () {
        this.timeout(120_000);
        const state = fs.mkdtempSync(path.join(os.tmpdir(), "kp-refuse-"));
        try {
            const env: NodeJS.ProcessEnv = { ...process.env, PULUMI_BACKEND_URL: `file://${state}`, KUBE_PKI_NO_TOOL_BUILD: "1" };
            for (const k of ["PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "KUBE_PKI_DEMO_PASSPHRASE_OK", "KUBE_PKI_STACK"]) delete env[k];
            const r = spawnSync(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", path.join(REPO, "scripts/stack.ts"), "preview", "--stack", "prod"], { cwd: REPO, env, encoding: "utf8" });
            assert.equal(r.status, 1, r.stderr);
            assert.match(r.stderr, REFUSAL);
            assert.ok(!/\n\s+at /.test(r.stderr), "no JS stack");
            assert.deepEqual(fs.readdirSync(state), [], "nothing written to the backend");
        } finally {
            fs.rmSync(state, { recursive: true, force: true });
        }
    });
});

function engineEnvOrError(fn: () => unknown): string {
    try {
        fn();
        return "";
    } catch (e) {
        return (e as Error).message;
    }
}
