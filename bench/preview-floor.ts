/**
 * `npm run bench` (when a Pulumi CLI is found) or `ts-node bench/preview-floor.ts [--runs 3]`: the review loop's
 * floor. A no-op `pulumi preview` of the dev stack (after an `up`) against a no-op preview of a plain @pulumi/tls
 * program with the same number of resources, on the same CLI, backend and passphrase, runs interleaved; plus the
 * same dev preview through the project's wrapper (`npm run -s preview`). Prints the medians and the ratios to the
 * floor. Targets (issue 27, reported, never asserted): dev / floor ≤ 1.3×, ≤ 5 s on a quiet machine.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Table from "cli-table3";
import { engineEnv } from "../scripts/workspace";
import { median, pulumi, type Sample } from "./first-hour";

const PROJECT_DIR = path.resolve(__dirname, "..");
const COPY = ["Pulumi.yaml", "index.ts", "components", "package.json", "tsconfig.json", "tsconfig.pulumi.json", "stacks", "scripts", "tools"];
const PASSPHRASE = "kube-pki bench passphrase";

const runsArg = process.argv.indexOf("--runs");
const runs = runsArg >= 0 ? Number(process.argv[runsArg + 1]) : 3;

/**
 * A plain JavaScript @pulumi/tls program registering `count` resources: one CA (key + cert), then key → CSR → cert
 * leaves. JavaScript, so that the floor pays no TypeScript start-up (what running kube-pki compiled would save).
 */
function floorProgram(count: number): string {
    return `"use strict";
const tls = require("@pulumi/tls");
const count = ${count};
const caKey = new tls.PrivateKey("ca-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
const ca = new tls.SelfSignedCert("ca", {
    privateKeyPem: caKey.privateKeyPem, isCaCertificate: true, validityPeriodHours: 87600, earlyRenewalHours: 2160,
    subject: { commonName: "floor-ca" }, allowedUses: ["digital_signature", "key_encipherment", "cert_signing"],
});
let made = 2;
for (let i = 0; made < count; i++) {
    const key = new tls.PrivateKey(\`leaf-\${i}-key\`, { algorithm: "ECDSA", ecdsaCurve: "P256" });
    made++;
    if (made >= count) break;
    const csr = new tls.CertRequest(\`leaf-\${i}-csr\`, { privateKeyPem: key.privateKeyPem, subject: { commonName: \`leaf-\${i}\` } });
    made++;
    if (made >= count) break;
    new tls.LocallySignedCert(\`leaf-\${i}\`, {
        certRequestPem: csr.certRequestPem, caPrivateKeyPem: caKey.privateKeyPem, caCertPem: ca.certPem,
        validityPeriodHours: 8760, earlyRenewalHours: 720, allowedUses: ["digital_signature", "key_encipherment", "client_auth"],
    });
    made++;
}
`;
}

/** Resources in a stack's state (stack, providers and components included), from `pulumi stack export`. */
function resourceCount(bin: string, cwd: string, stack: string, env: Record<string, string>): number {
    const out = execFileSync(bin, ["stack", "export", "--stack", stack, "--non-interactive"], { cwd, env: { ...process.env, ...env }, encoding: "utf8", maxBuffer: 256 << 20 });
    return (JSON.parse(out).deployment.resources ?? []).length;
}

export async function benchPreviewFloor(): Promise<void> {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-bench-floor-"));
    try {
        const dev = path.join(tmp, "kube-pki");
        const floor = path.join(tmp, "floor");
        fs.mkdirSync(path.join(tmp, "state"), { mode: 0o700 });
        for (const rel of COPY) fs.cpSync(path.join(PROJECT_DIR, rel), path.join(dev, rel), { recursive: true });
        fs.symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(dev, "node_modules"));
        const devYaml = fs.readFileSync(path.join(dev, "stacks/Pulumi.dev.yaml"), "utf8").replace(/^encryptionsalt:.*\n?/m, "");
        fs.writeFileSync(path.join(dev, "stacks/Pulumi.dev.yaml"), devYaml.replace("./out/nodes", path.join(tmp, "out")));
        const backend = `file://${path.join(tmp, "state")}`;
        process.env.PULUMI_CONFIG_PASSPHRASE ??= PASSPHRASE;
        const { pulumiBin, env } = engineEnv(backend);
        env.PULUMI_CONFIG_PASSPHRASE = process.env.PULUMI_CONFIG_PASSPHRASE;

        const must = async (what: string, s: Promise<Sample>) => {
            const r = await s;
            if (r.code !== 0) throw new Error(`bench preview-floor: ${what} failed (exit ${r.code})`);
            return r;
        };
        await must("stack init dev", pulumi(pulumiBin, ["stack", "init", "dev", "--non-interactive"], dev, env));
        await must("pulumi up (dev)", pulumi(pulumiBin, ["up", "--yes", "--skip-preview", "--stack", "dev", "--non-interactive"], dev, env));
        const count = resourceCount(pulumiBin, dev, "dev", env);

        // The floor: the same count of resources, the stack and the tls provider included (2 of them).
        fs.mkdirSync(floor);
        fs.writeFileSync(path.join(floor, "Pulumi.yaml"), "name: tls-floor\nruntime: nodejs\nmain: index.js\n");
        fs.writeFileSync(path.join(floor, "index.js"), floorProgram(count - 2));
        fs.symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(floor, "node_modules"));
        await must("stack init (floor)", pulumi(pulumiBin, ["stack", "init", "floor", "--non-interactive"], floor, env));
        await must("pulumi up (floor)", pulumi(pulumiBin, ["up", "--yes", "--skip-preview", "--stack", "floor", "--non-interactive"], floor, env));
        const floorCount = resourceCount(pulumiBin, floor, "floor", env);

        const rows: { label: string; samples: Sample[] }[] = [
            { label: `plain @pulumi/tls program, JavaScript (${floorCount} resources): the floor`, samples: [] },
            { label: `kube-pki dev stack (${count} resources), bare CLI`, samples: [] },
            { label: "kube-pki dev stack, npm run -s preview (wrapper)", samples: [] },
        ];
        const wrapperEnv = { ...env, PULUMI_BACKEND_URL: backend };
        for (let i = 0; i < runs; i++) {
            process.stderr.write(`preview-floor run ${i + 1}/${runs} (load ${os.loadavg()[0].toFixed(1)})\n`);
            rows[0].samples.push(await must("no-op preview (floor)", pulumi(pulumiBin, ["preview", "--stack", "floor", "--non-interactive"], floor, env)));
            rows[1].samples.push(await must("no-op preview (dev)", pulumi(pulumiBin, ["preview", "--stack", "dev", "--non-interactive"], dev, env)));
            rows[2].samples.push(await must("npm run -s preview", pulumi("npm", ["run", "-s", "preview", "--", "--stack", "dev"], dev, wrapperEnv)));
        }
        const floorMs = median(rows[0].samples.map((s) => s.ms));
        const table = new Table({ head: ["no-op pulumi preview, same CLI and file backend", `wall s (median of ${runs})`, "× floor", "program peak RSS MB"], style: { head: [], border: [] } });
        for (const r of rows) {
            const ms = median(r.samples.map((s) => s.ms));
            table.push([r.label, (ms / 1000).toFixed(1), (ms / floorMs).toFixed(2), median(r.samples.map((s) => s.peakMb)).toFixed(0)]);
        }
        console.log(`\nNo-op preview against the engine's floor (${runs} runs each, interleaved; load ${os.loadavg().map((l) => l.toFixed(1)).join(" ")})`);
        console.log(table.toString());
        const devMs = median(rows[1].samples.map((s) => s.ms));
        console.log(`dev / floor: ${(devMs / floorMs).toFixed(2)}× through the CLI (target ≤ 1.3×); ${(devMs / 1000).toFixed(1)} s (target ≤ 5 s on a quiet machine)`);
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

if (require.main === module) {
    benchPreviewFloor().catch((e) => {
        console.error(e instanceof Error ? e.message : e);
        process.exit(1);
    });
}
