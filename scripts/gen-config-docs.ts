/**
 * Generates, from the one config schema (components/settings.ts):
 *  - components/settings-types.ts: the ClusterPkiSettings interface and its node/user/pool types, with doc comments
 *    (the component package infers its schema from them);
 *  - Pulumi.yaml's typed `config:` section (everything from the `config:` line on; the rest is left alone);
 *  - docs/configuration.md, the configuration reference.
 * `npm run docs:config` writes them; `npm run docs:config -- --check` exits 1 when one is stale (so does
 * test/config-schema.spec.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import {
    CLUSTER_ARGS_STACK_KEYS,
    CLUSTER_SETTINGS,
    entriesOf,
    PROGRAM_SETTINGS,
    SECRETS_SINK_SETTINGS,
    Setting,
    SETTING_TYPES,
    SINK_SETTINGS,
} from "../components/settings";

const ROOT = path.resolve(__dirname, "..");
const GENERATED = "Generated from components/settings.ts by `npm run docs:config` (scripts/gen-config-docs.ts): do not edit.";

/** The TypeScript type of a zod schema, for the kinds the settings use. */
function tsOfZod(schema: unknown): string {
    const def = (schema as { _zod: { def: Record<string, any> } })._zod.def;
    switch (def.type) {
        case "string":
        case "number":
        case "boolean":
            return def.type;
        case "any":
            return "unknown";
        case "array": {
            const item = tsOfZod(def.element);
            return /[ |]/.test(item) ? `(${item})[]` : `${item}[]`;
        }
        case "record":
            return `Record<string, ${tsOfZod(def.valueType)}>`;
        case "union":
            return (def.options as unknown[]).map(tsOfZod).join(" | ");
        default:
            throw new Error(`gen-config-docs: no TypeScript form for a zod ${def.type}`);
    }
}

export function tsOf(s: Setting): string {
    return s.ts ?? tsOfZod(s.schema);
}

function iface(name: string, description: string, fields: Record<string, Setting>): string {
    const lines = [`/** ${description} */`, `export interface ${name} {`];
    for (const [key, s] of entriesOf(fields)) {
        lines.push(`    /** ${s.description}${s.default !== undefined ? ` Default: ${JSON.stringify(s.default)}.` : ""} */`);
        lines.push(`    ${key}${s.required ? "" : "?"}: ${tsOf(s)};`);
    }
    lines.push("}");
    return lines.join("\n");
}

export function renderTypes(): string {
    return [
        `// ${GENERATED}`,
        "",
        ...Object.entries(SETTING_TYPES).map(([name, t]) => iface(name, t.description, t.fields) + "\n"),
        iface(
            "ClusterPkiSettings",
            "The plain part of ClusterPki's arguments (strings, numbers, booleans, lists and maps of them): what the component " +
                'package serves to other languages as its schema (provider/index.ts). Durations are "<n>h", "<n>d" or a number of hours.',
            CLUSTER_SETTINGS,
        ),
        "",
    ].join("\n");
}

/** Pulumi's project config type of a fixed default (typed config declares scalars and string lists only). */
function pulumiType(value: Setting["default"]): string[] {
    if (Array.isArray(value)) return ["type: array", "items:", "  type: string"];
    return [`type: ${typeof value === "number" ? "integer" : typeof value}`];
}

/** The keys Pulumi.yaml declares: those with a fixed default (Pulumi treats a declared key without one as required). */
export function declaredKeys(): [string, Setting][] {
    return entriesOf({ ...CLUSTER_SETTINGS, ...SINK_SETTINGS }).filter(([, s]) => s.stack && s.default !== undefined);
}

export function renderPulumiConfig(): string {
    const lines = ["config:", `  # ${GENERATED}`];
    for (const [key, s] of declaredKeys()) {
        lines.push(`  ${key}:`);
        for (const l of pulumiType(s.default)) lines.push(`    ${l}`);
        lines.push(`    default: ${JSON.stringify(s.default)}`);
        lines.push(`    description: ${JSON.stringify(s.description)}`);
    }
    return lines.join("\n") + "\n";
}

/** Pulumi.yaml with its `config:` section (from the `config:` line to the end) regenerated. */
export function renderPulumiYaml(current: string): string {
    const at = current.search(/^config:/m);
    return (at < 0 ? current.replace(/\n*$/, "\n") : current.slice(0, at)) + renderPulumiConfig();
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

function table(fields: Record<string, Setting>, prefix: string, withStack = true): string {
    const rows = [`| Key | Type | Default | Description |`, `| --- | --- | --- | --- |`];
    for (const [key, s] of entriesOf(fields)) {
        const name = withStack && s.stack ? `\`${prefix}${key}\`` : `\`${key}\``;
        const dflt = s.default !== undefined ? `\`${JSON.stringify(s.default)}\`` : s.required ? "required" : "";
        rows.push(`| ${name} | \`${cell(tsOf(s))}\` | ${dflt} | ${cell(s.description)} |`);
    }
    return rows.join("\n");
}

export function renderDocs(): string {
    const parts = [
        "# Configuration reference",
        "",
        `<!-- ${GENERATED} -->`,
        "",
        "Every `kube-pki:` stack key, and the same fields as ClusterPki arguments for library users (without the",
        "`kube-pki:` prefix). Durations are `\"<n>h\"`, `\"<n>d\"` or a number of hours, from 1h to 100 years",
        "(876000h); a validity is at least 2h, so that a renewal window (at least 1h) fits. A bad value fails at",
        "preview with the key and the fix, before anything is created. Object values are YAML in the stack file.",
        "",
        "## Cluster",
        "",
        table(CLUSTER_SETTINGS, "kube-pki:"),
        "",
        table(CLUSTER_ARGS_STACK_KEYS, "kube-pki:"),
        "",
        "See [vault.md](vault.md) for the Vault object.",
        "",
        ...Object.entries(SETTING_TYPES).flatMap(([name, t]) => [`### ${name}`, "", t.description, "", table(t.fields, "", false), ""]),
        "## Sinks",
        "",
        table(SINK_SETTINGS, "kube-pki:"),
        "",
        "### secretsSink",
        "",
        table(SECRETS_SINK_SETTINGS, "", false),
        "",
        "## Program",
        "",
        table(PROGRAM_SETTINGS, "kube-pki:"),
        "",
    ];
    return parts.join("\n");
}

/** Every generated file: path (from the repository root) → content. */
export function generatedFiles(): Record<string, string> {
    const pulumiYaml = fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8");
    return {
        "components/settings-types.ts": renderTypes(),
        "Pulumi.yaml": renderPulumiYaml(pulumiYaml),
        "docs/configuration.md": renderDocs(),
    };
}

/** The generated files whose committed content differs from what the schema yields. */
export function staleFiles(): string[] {
    return Object.entries(generatedFiles())
        .filter(([file, content]) => {
            const p = path.join(ROOT, file);
            return !fs.existsSync(p) || fs.readFileSync(p, "utf8") !== content;
        })
        .map(([file]) => file);
}

if (require.main === module) {
    if (process.argv.includes("--check")) {
        const stale = staleFiles();
        if (stale.length) {
            console.error(`stale (run npm run docs:config): ${stale.join(", ")}`);
            process.exit(1);
        }
    } else {
        for (const [file, content] of Object.entries(generatedFiles())) {
            fs.mkdirSync(path.dirname(path.join(ROOT, file)), { recursive: true });
            fs.writeFileSync(path.join(ROOT, file), content);
            console.log(`wrote ${file}`);
        }
    }
}
