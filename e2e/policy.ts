/**
 * Step "policy": kube-pki's CrossGuard pack (policy/) on the real engine, offline (the pack runs through the Node.js
 * language host's RunPlugin, kind "analyzer"):
 *
 *  (a) `pulumi preview --policy-pack policy` of e2e/policy-weak (plain @pulumi/tls with RSA 1024, the P-224 default
 *      curve, a 20-year CA without cert_signing, a 10-year SAN-less server leaf with cert_signing under a 1000 h CA,
 *      a system:masters client cert, a private key in a plain stack output) fails, naming each violation on its
 *      resource, and names nothing else (not the sound CA, not the secret copy of the key);
 *  (a2) the same preview with --policy-pack-config (a threshold raised, a policy disabled, an allow-list, a level
 *      lowered) names exactly the other violations, at the configured levels;
 *  (b) the project's dev stack (the program in the repo root, stacks/Pulumi.dev.yaml) on a temp backend passes:
 *      `pulumi preview` (outputs unknown) and `pulumi up` (the policies see the final outputs and their secrecy),
 *      both with the pack; super-admin.conf's O=system:masters is on the pack's default allow-list.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { run, type RunResult } from "./procs";
import { PASSPHRASE, REPO_DIR, snapshotProject } from "./pulumi";
import type { Ctx } from "./steps";

const PACK = path.join(REPO_DIR, "policy");

export interface Violation {
    level: string;
    policy: string;
    type: string;
    name: string;
    message: string;
}

/** The violations the CLI prints under "Policies:" (`- [level]  policy  (type: name)`, description, message). */
export function parseViolations(output: string): Violation[] {
    const re = /^\s*- \[(\w+)\]\s+(\S+)\s+\(([^:]+(?::[^:\s]+)*): ([^)]+)\)\n[^\n]*\n\s*([^\n]*)$/gm;
    return [...output.matchAll(re)].map((m) => ({ level: m[1], policy: m[2], type: m[3], name: m[4], message: m[5].trim() }));
}

/** What program (a) must be told: policy, resource name, and a piece of the message. */
const EXPECTED: { policy: string; name: string; says: RegExp; level?: string }[] = [
    { policy: "pki-key-strength", name: "weak-rsa", says: /RSA key of 1024 bits/ },
    { policy: "pki-key-strength", name: "default-curve", says: /curve P224 \(the tls provider's default/ },
    { policy: "pki-ca-cert-signing", name: "ca-no-signing", says: /without "cert_signing"/ },
    { policy: "pki-ca-max-lifetime", name: "ca-no-signing", says: /175200h .* maximum is 87600h/ },
    { policy: "pki-leaf-max-lifetime", name: "ten-year-leaf", says: /87600h .* maximum is 8760h/ },
    { policy: "pki-leaf-outlives-ca", name: "ten-year-leaf", says: /after its CA short-ca/ },
    { policy: "pki-leaf-cert-signing", name: "ten-year-leaf", says: /leaf certificate with "cert_signing"/ },
    { policy: "pki-server-cert-sans", name: "ten-year-leaf", says: /without SANs/ },
    { policy: "pki-early-renewal", name: "ten-year-leaf", says: /no early renewal/, level: "advisory" },
    { policy: "pki-system-masters", name: "admin-cert", says: /O=system:masters/ },
    { policy: "pki-plain-key-output", name: "policy-weak-weak", says: /stack output "serviceKey" holds a private key/ },
];

export async function stepPolicy(ctx: Ctx, signal: AbortSignal) {
    const { suite } = ctx;
    // The pack is an npm workspace of the repository: `npm ci` at the root installs its dependencies, hoisted.
    const resolvable = (m: string) => {
        try {
            return !!require.resolve(m, { paths: [PACK] });
        } catch {
            return false;
        }
    };
    if (!resolvable("@pulumi/policy") || !resolvable("@pulumi/pulumi/cmd/run-policy-pack")) {
        suite.check("@pulumi/policy resolves from policy/ (run npm ci at the repository root)", false);
        return;
    }
    const state = path.join(ctx.work, "policy-state");
    fs.mkdirSync(state, { mode: 0o700 });
    const env = { ...ctx.env, PULUMI_BACKEND_URL: `file://${state}`, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE };
    const pulumi = (cwd: string, args: string[], log: string): Promise<RunResult> =>
        run("pulumi", [...args, "--non-interactive"], { cwd, env, signal, timeoutMs: 600_000, log });

    // (a) the weak program
    const weak = path.join(ctx.work, "policy-weak");
    fs.cpSync(path.join(REPO_DIR, "e2e", "policy-weak"), weak, { recursive: true });
    fs.symlinkSync(path.join(REPO_DIR, "node_modules"), path.join(weak, "node_modules"));
    await pulumi(weak, ["stack", "init", "weak"], "policy-weak");
    const a = await pulumi(weak, ["preview", "--stack", "weak", "--policy-pack", PACK], "policy-weak");
    const found = parseViolations(a.stdout);
    suite.check(
        "(a) weak tls program: pulumi preview --policy-pack policy fails with mandatory violations",
        a.code !== 0 && found.some((v) => v.level === "mandatory") && /❌ kube-pki@v/.test(a.stdout),
        a.output.slice(-3000),
    );
    for (const e of EXPECTED) {
        const hit = found.find((v) => v.policy === e.policy && v.name === e.name && e.says.test(v.message));
        suite.check(
            `(a) ${e.policy} [${e.level ?? "mandatory"}] names ${e.name}${hit ? `: ${hit.message.slice(0, 110)}` : ""}`,
            hit !== undefined && hit.level === (e.level ?? "mandatory"),
            `violations: ${JSON.stringify(found, null, 1).slice(0, 3000)}`,
        );
    }
    const extra = found.filter((v) => !EXPECTED.some((e) => e.policy === v.policy && e.name === v.name && e.says.test(v.message)));
    suite.check(`(a) no other violation (the sound CA short-ca and the secret output secretKey pass): ${found.length} named`, extra.length === 0, JSON.stringify(extra, null, 1));

    // (a2) the same program with a policy config (--policy-pack-config): thresholds, an allow-list and levels apply
    const relaxed = path.join(weak, "policy-config.json");
    fs.writeFileSync(
        relaxed,
        JSON.stringify({
            "pki-leaf-max-lifetime": { leafMaxHours: 87600 },
            "pki-key-strength": "disabled",
            "pki-system-masters": { systemMastersAllowList: ["admin-*"] },
            "pki-server-cert-sans": "advisory",
        }),
    );
    const a2 = await pulumi(weak, ["preview", "--stack", "weak", "--policy-pack", PACK, "--policy-pack-config", relaxed], "policy-weak-config");
    const found2 = parseViolations(a2.stdout);
    const names2 = found2.map((v) => `${v.level} ${v.policy}`).sort();
    suite.equal(
        "(a2) with --policy-pack-config (leafMaxHours 87600, key strength disabled, admin-* allowed, SANs advisory): the other 7 remain",
        names2.join(", "),
        [
            "advisory pki-early-renewal",
            "advisory pki-server-cert-sans",
            "mandatory pki-ca-cert-signing",
            "mandatory pki-ca-max-lifetime",
            "mandatory pki-leaf-cert-signing",
            "mandatory pki-leaf-outlives-ca",
            "mandatory pki-plain-key-output",
        ].join(", "),
    );

    // (b) the project's dev stack, preview then up, both with the pack
    // (its own snapshot of the program: its NodeFiles sink writes out/nodes/ there)
    const dev = snapshotProject(path.join(ctx.work, "policy-dev"));
    fs.copyFileSync(path.join(REPO_DIR, "stacks", "Pulumi.dev.yaml"), path.join(dev, "stacks", "Pulumi.dev.yaml"));
    await pulumi(dev, ["stack", "init", "dev"], "policy-dev");
    const b = await pulumi(dev, ["preview", "--stack", "dev", "--policy-pack", PACK], "policy-dev");
    const bMandatory = parseViolations(b.stdout).filter((v) => v.level === "mandatory");
    suite.check(
        `(b) dev stack: pulumi preview --policy-pack policy passes (${parseViolations(b.stdout).length} advisories)`,
        b.code === 0 && bMandatory.length === 0 && /✅ kube-pki@v/.test(b.stdout),
        b.output.slice(-3000),
    );
    const up = await pulumi(dev, ["up", "--yes", "--skip-preview", "--stack", "dev", "--policy-pack", PACK], "policy-dev-up");
    const upMandatory = parseViolations(up.stdout).filter((v) => v.level === "mandatory");
    suite.check(
        `(b) dev stack: pulumi up --policy-pack policy passes on the final outputs (secret kubeconfigs and keys known)`,
        up.code === 0 && upMandatory.length === 0 && /✅ kube-pki@v/.test(up.stdout) && /Resources:\s*\n\s*\+ \d+ created/.test(up.stdout),
        up.output.slice(-3000),
    );
}
