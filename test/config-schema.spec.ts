/**
 * The one config schema (components/settings.ts) and the input rules of issue 21 items 9, 11, 12, 13: generated
 * files are current, Pulumi.yaml agrees with the schema, the import graph of the config path has no cycle,
 * durations are bounded, key algorithms and IPv6 zone ids are refused by the public building blocks too, and a
 * plaintext Vault token in the `vault` object is refused.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { parse as parseYaml } from "yaml";
import {
    CertificateAuthority,
    ClusterPki,
    ConfigError,
    LeafCertificate,
    parseClusterPkiArgs,
    STACK_CONFIG_KEYS,
    validateClusterPkiArgs,
} from "../components/internal";
import { CLUSTER_ARGS_STACK_KEYS, CLUSTER_SETTINGS, PROGRAM_SETTINGS, SECRETS_SINK_SETTINGS, SINK_SETTINGS } from "../components/settings";
import type { ClusterPkiSettings } from "../components/settings-types";
import { SecretsSinkConfig, SINK_CONFIG_KEYS } from "../components/sinks";
import { VaultIntermediateCa, VaultLeafCertificate } from "../components/vault";
import { declaredKeys, staleFiles } from "../scripts/gen-config-docs";
import { problemsOf } from "./support/problems";
import { setupMocks } from "./support/tls-emulator";

const ROOT = path.resolve(__dirname, "..");

// Type-level checks (npm run typecheck): the generated interface has the schema's keys, and every value it
// allows is one the zod schema accepts; SecretsSinkConfig (sinks/wiring.ts) has the schema's secretsSink fields.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Accepted = {
    [K in keyof ClusterPkiSettings]-?: NonNullable<ClusterPkiSettings[K]> extends z.input<(typeof CLUSTER_SETTINGS)[K]["schema"]> ? true : false;
};
export const TYPE_CHECKS: [
    Equal<keyof ClusterPkiSettings, keyof typeof CLUSTER_SETTINGS>,
    Equal<Accepted[keyof Accepted], true>,
    Equal<keyof SecretsSinkConfig, keyof typeof SECRETS_SINK_SETTINGS>,
] = [true, true, true];
const base = () => ({
    clusterName: "cfg",
    controlPlaneEndpoint: "api.cfg.example:6443",
    controlPlanes: [{ name: "cp-1", advertiseAddress: "10.0.0.11", extraSans: [] as string[] }],
    workers: [{ name: "worker-1", addresses: ["10.0.1.21"] }],
    users: [{ name: "alice", group: "dev" }],
    apiServerExtraSans: [] as string[],
    now: "2030-01-01T00:00:00Z",
});
const problems = (mutate: (a: any) => void) => problemsOf(base as any, mutate);
/** The ConfigError problems `fn` throws (fails when it throws anything else, or nothing). */
function thrown(fn: () => unknown): string[] {
    try {
        fn();
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${(e as Error)?.stack ?? e}`);
        return e.problems;
    }
    return assert.fail("expected a ConfigError");
}

describe("config schema: one source for the type, the stack keys, Pulumi.yaml and the docs", function () {
    it("the generated files (settings-types.ts, Pulumi.yaml's config, docs/configuration.md) are current", () => {
        assert.deepEqual(staleFiles(), [], "run `npm run docs:config` and commit the result");
    });

    it("Pulumi.yaml declares exactly the schema's keys with a fixed default: type, default, description", () => {
        const project = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
        const expected = Object.fromEntries(declaredKeys());
        assert.deepEqual(Object.keys(project.config).sort(), Object.keys(expected).sort());
        for (const [key, decl] of Object.entries<any>(project.config)) {
            const s = expected[key];
            assert.deepEqual(decl.default, s.default, `${key}: default`);
            assert.equal(decl.description, s.description, `${key}: description`);
            const type = Array.isArray(s.default) ? "array" : typeof s.default === "number" ? "integer" : typeof s.default;
            assert.equal(decl.type, type, `${key}: type`);
            if (type === "array") assert.deepEqual(decl.items, { type: "string" });
        }
    });

    it("Pulumi.yaml's defaults are the component's defaults", () => {
        const defaults = Object.fromEntries(declaredKeys().filter(([k]) => k in CLUSTER_SETTINGS).map(([k, s]) => [k, s.default]));
        assert.deepEqual(validateClusterPkiArgs({ ...base(), ...defaults } as any), validateClusterPkiArgs(base() as any));
    });

    it("STACK_CONFIG_KEYS come from the schema; sink and program keys are documented in it too", () => {
        assert.deepEqual(Object.keys(STACK_CONFIG_KEYS), [...Object.keys(CLUSTER_SETTINGS), ...Object.keys(CLUSTER_ARGS_STACK_KEYS)]);
        assert.deepEqual(Object.keys(SINK_SETTINGS), SINK_CONFIG_KEYS);
        const docs = fs.readFileSync(path.join(ROOT, "docs/configuration.md"), "utf8");
        for (const key of [...Object.keys(STACK_CONFIG_KEYS), ...SINK_CONFIG_KEYS, ...Object.keys(PROGRAM_SETTINGS)]) {
            assert.ok(docs.includes(`\`kube-pki:${key}\``), `docs/configuration.md lists kube-pki:${key}`);
        }
    });

    it("error messages keep naming the field and the fix (required fields, from the schema's hints)", () => {
        const p = problems((a) => {
            delete a.clusterName;
            delete a.controlPlanes[0].advertiseAddress;
        });
        assert.ok(p.includes(`clusterName: is required (the cluster's name, e.g. "prod-eu1")`), p.join("\n"));
        assert.ok(p.includes(`controlPlanes[0].advertiseAddress: is required (the IP its apiserver and etcd listen on, e.g. "10.0.0.11")`), p.join("\n"));
    });
});

describe("import graph: config → validation → CA sources has no cycle (issue 22, cycle a)", function () {
    /** Relative imports (type imports included) of every module under components/. */
    function graph(): Map<string, string[]> {
        const g = new Map<string, string[]>();
        const walk = (dir: string) => {
            for (const f of fs.readdirSync(dir, { withFileTypes: true })) {
                const p = path.join(dir, f.name);
                if (f.isDirectory()) walk(p);
                else if (f.name.endsWith(".ts")) {
                    const src = fs.readFileSync(p, "utf8");
                    const deps = [...src.matchAll(/(?:import|export)[^;]*?from\s+"(\.[^"]+)"/g)].map((m) => {
                        const target = path.resolve(path.dirname(p), m[1]);
                        return fs.existsSync(`${target}.ts`) ? `${target}.ts` : path.join(target, "index.ts");
                    });
                    g.set(p, deps);
                }
            }
        };
        walk(path.join(ROOT, "components"));
        return g;
    }

    it("no module of config.ts, resolved.ts, identity.ts, ca-sources/*, validation/*, vault/* is on an import cycle", () => {
        const g = graph();
        const ours = [...g.keys()].filter((f) => /components\/(config|resolved|identity|settings)\.ts$|components\/(ca-sources|validation|vault)\//.test(f));
        const rel = (f: string) => path.relative(ROOT, f);
        for (const start of ours) {
            // a path from start back to start
            const seen = new Set<string>();
            const stack: [string, string[]][] = [[start, [start]]];
            while (stack.length) {
                const [node, trail] = stack.pop()!;
                for (const next of g.get(node) ?? []) {
                    if (next === start) assert.fail(`import cycle: ${[...trail, next].map(rel).join(" → ")}`);
                    if (!seen.has(next)) {
                        seen.add(next);
                        stack.push([next, [...trail, next]]);
                    }
                }
            }
        }
    });

    it("resolved.ts imports only types, and only from the import-free catalog.ts and rotation.ts", () => {
        const src = fs.readFileSync(path.join(ROOT, "components/resolved.ts"), "utf8");
        const ours = [...src.matchAll(/^import (type )?.*from "(\.[^"]+)";$/gm)];
        assert.deepEqual(ours.map((m) => [m[1], m[2]]), [["type ", "./catalog"], ["type ", "./rotation"]]);
        // catalog.ts and rotation.ts import at most the import-free shared modules (time.ts, model.ts, pem.ts)
        const importFree = ["time", "model", "pem"];
        for (const shared of importFree) {
            assert.ok(!/from "\./.test(fs.readFileSync(path.join(ROOT, "components", `${shared}.ts`), "utf8")), `${shared}.ts imports nothing of ours`);
        }
        for (const leaf of ["catalog.ts", "rotation.ts"]) {
            const deps = [...fs.readFileSync(path.join(ROOT, "components", leaf), "utf8").matchAll(/from "\.\/([^"]+)"/g)].map((m) => m[1]);
            assert.deepEqual(deps.filter((d) => !importFree.includes(d)), [], `${leaf} imports only import-free modules of ours`);
        }
    });
});

describe("durations are bounded (issue 21 item 11)", function () {
    it('"9"×400+"h" and 99999999999h are config errors naming the field (no Infinity, no RangeError)', () => {
        const p = problems((a) => {
            a.leafValidity = "9".repeat(400) + "h";
            a.caValidity = "99999999999h";
            a.users[0].validity = 99999999999;
        });
        assert.ok(p.some((x) => /^leafValidity: "9{24}…" \(401 characters\) is longer than 100 years \(876000h\)/.test(x)), p.join("\n"));
        assert.ok(p.some((x) => /^caValidity: "99999999999h" is longer than 100 years/.test(x)), p.join("\n"));
        assert.ok(p.some((x) => /^users\[0\]\.validity: "99999999999" is longer than 100 years/.test(x)), p.join("\n"));
        assert.ok(!p.some((x) => /Infinity h|NaN/.test(x)), p.join("\n"));
    });

    it("ClusterPki with a 99999999999h validity throws the ConfigError, not a RangeError", () => {
        setupMocks();
        const p = thrown(() => new ClusterPki("cfg", { ...base(), caValidity: "99999999999h", leafValidity: "876001h" } as any));
        assert.ok(p.some((x) => x.startsWith("caValidity:")) && p.some((x) => x.startsWith("leafValidity:")), p.join("\n"));
    });

    it("worker pool, user and Vault validities are bounded too", () => {
        const p = problems((a) => {
            a.workerPools = [{ name: "general", tokenTtl: "876001h" }];
            a.vault = { address: "https://vault.example:8200", ca: { mountPath: "pki-ca", validity: "9".repeat(30) + "d" } };
        });
        assert.ok(p.some((x) => /^workerPools\[0\]\.tokenTtl: "876001h" is longer than 100 years/.test(x)), p.join("\n"));
        assert.ok(p.some((x) => /^vault\.ca\.validity: .* is longer than 100 years/.test(x)), p.join("\n"));
    });

    it("the building blocks bound validityHours too (CertificateAuthority, VaultIntermediateCa)", () => {
        setupMocks();
        const ca = { commonName: "x-ca", keyAlgorithm: "ECDSA-P256", validityHours: 876001, renewBeforeHours: 10 };
        assert.match(thrown(() => new CertificateAuthority("long-ca", ca))[0], /^validityHours: 876001 must be a whole number of hours between 1 and 876000/);
        const inter = { caId: "ca", mountPath: "pki", keyMode: "internal" as const, commonName: "kubernetes", keyAlgorithm: "ECDSA-P256", validityHours: 1e12, parentCertPem: "-", parentKeyPem: "-" };
        assert.ok(thrown(() => new VaultIntermediateCa("long-inter", inter)).some((x) => /^validityHours: 1000000000000 must be/.test(x)));
    });

    it("leafValidity 1h is refused (no room for renewBefore > 0); 3h renews 1h before expiry, never 0", () => {
        const p = problems((a) => (a.leafValidity = "1h"));
        assert.ok(p.some((x) => /^leafValidity: 1h is too short: .* the shortest validity is 2h/.test(x)), p.join("\n"));
        const cfg = validateClusterPkiArgs({ ...base(), leafValidity: "3h", users: [{ name: "alice", validity: "2h" }] } as any);
        assert.equal(cfg.renewBeforeHours.leaf, 1);
        assert.equal(cfg.users[0].renewBeforeHours, 1);
        const pu = problems((a) => (a.users[0].validity = "1h"));
        assert.ok(pu.some((x) => /^users\[0\]\.validity: 1h is too short/.test(x)), pu.join("\n"));
    });
});

describe("key algorithms of the public building blocks (issue 21 item 12)", function () {
    const caArgs = { commonName: "x-ca", keyAlgorithm: "ECDSA-P256", validityHours: 100, renewBeforeHours: 10 };
    const leafArgs = {
        caCertPem: "-",
        caKeyPem: pulumi.secret("-"),
        keyAlgorithm: "ECDSA-P256",
        commonName: "x",
        extendedUsages: ["client_auth"],
        validityHours: 10,
        renewBeforeHours: 1,
    };

    it('CertificateAuthority refuses "ECDSA" (no curve) and "RSA-512", naming keyAlgorithm; nothing is registered', async () => {
        const em = setupMocks();
        for (const keyAlgorithm of ["ECDSA", "RSA-512"]) {
            const p = thrown(() => new CertificateAuthority(`ca-${keyAlgorithm}`, { ...caArgs, keyAlgorithm }));
            assert.match(p[0], new RegExp(`^keyAlgorithm: "${keyAlgorithm}" is not a supported key algorithm \\(one of RSA-2048, RSA-3072, RSA-4096, ECDSA-P256, ECDSA-P384\\)`));
        }
        assert.match(thrown(() => new CertificateAuthority("ca-e", { ...caArgs, keyAlgorithm: "ECDSA" }))[0], /name the curve: "ECDSA-P256"/);
        await new Promise((r) => setTimeout(r, 20));
        assert.equal(em.resources.length, 0, "nothing registered");
    });

    it('LeafCertificate refuses "ECDSA" and "RSA-512" too', () => {
        setupMocks();
        for (const keyAlgorithm of ["ECDSA", "RSA-512"]) {
            assert.match(thrown(() => new LeafCertificate(`leaf-${keyAlgorithm}`, { ...leafArgs, keyAlgorithm }))[0], /^keyAlgorithm: .* is not a supported key algorithm/);
        }
    });
});

describe("IPv6 zone ids are refused everywhere an address is accepted (issue 21 item 13)", function () {
    const zone = /has an IPv6 zone id \("%eth0"\); write the address without it, "fe80::2"/;
    it("advertiseAddress, worker addresses, SANs, controlPlaneEndpoint (bare and bracketed)", () => {
        const fields: [string, (a: any) => void][] = [
            ["controlPlanes[0].advertiseAddress", (a) => (a.controlPlanes[0].advertiseAddress = "fe80::2%eth0")],
            ["workers[0].addresses[0]", (a) => (a.workers[0].addresses = ["fe80::2%eth0"])],
            ["apiServerExtraSans[0]", (a) => (a.apiServerExtraSans = ["fe80::2%eth0"])],
            ["controlPlanes[0].extraSans[0]", (a) => (a.controlPlanes[0].extraSans = ["fe80::2%eth0"])],
            ["controlPlaneEndpoint", (a) => (a.controlPlaneEndpoint = "fe80::2%eth0")],
            ["controlPlaneEndpoint", (a) => (a.controlPlaneEndpoint = "[fe80::2%eth0]:6443")],
        ];
        for (const [field, mutate] of fields) {
            const p = problems(mutate);
            assert.ok(p.some((x) => x.startsWith(`${field}: `) && zone.test(x)), `${field}:\n${p.join("\n")}`);
        }
    });

    it("LeafCertificate and VaultLeafCertificate ipAddresses", () => {
        setupMocks();
        const leaf = { caCertPem: "-", caKeyPem: "-", keyAlgorithm: "ECDSA-P256", commonName: "x", extendedUsages: [], validityHours: 10, renewBeforeHours: 1 };
        assert.match(thrown(() => new LeafCertificate("z", { ...leaf, ipAddresses: ["10.0.0.1", "fe80::2%eth0"] }))[0], /^ipAddresses\[1\]: .*zone id/);
        const v = { mountPath: "pki", roleName: "r", commonName: "x", validityHours: 10, renewBeforeHours: 1, ipAddresses: ["fe80::2%eth0"] };
        assert.match(thrown(() => new VaultLeafCertificate("zv", v))[0], /^ipAddresses\[0\]: .*zone id/);
    });
});

describe("the Vault token is never plaintext stack config (issue 21 item 9)", function () {
    afterEach(() => pulumi.runtime.setAllConfig({}));

    it("a `token` inside kube-pki:vault is refused and points to the secret kube-pki:vaultToken", () => {
        setupMocks();
        pulumi.runtime.setAllConfig({
            "kube-pki:clusterName": "cfg",
            "kube-pki:vault": JSON.stringify({ address: "https://vault.example:8200", token: "s.plaintext", ca: { mountPath: "pki-ca" } }),
        });
        const { args, problems } = parseClusterPkiArgs(new pulumi.Config("kube-pki"));
        const p = problems.find((x) => x.startsWith("kube-pki:vault.token:"));
        assert.ok(p, problems.join("\n"));
        assert.match(p!, /pulumi config set --secret kube-pki:vaultToken/);
        assert.ok(!p!.includes("s.plaintext"), "the message does not repeat the token");
        assert.equal((args.vault as any).token, undefined, "the plaintext token is not passed on");
    });

    it("the secret kube-pki:vaultToken is passed on as a secret", async () => {
        setupMocks();
        pulumi.runtime.setAllConfig(
            { "kube-pki:vault": JSON.stringify({ address: "https://vault.example:8200" }), "kube-pki:vaultToken": "s.secret" },
            ["kube-pki:vaultToken"],
        );
        const { args, problems } = parseClusterPkiArgs(new pulumi.Config("kube-pki"));
        assert.deepEqual(problems, []);
        assert.equal(await (args.vault as any).token.isSecret, true);
    });
});
