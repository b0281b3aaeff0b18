/**
 * RemoteNodeFiles: the dynamic provider (check / create / read / diff / update / delete) over the SSH programs
 * of plan.ts. Loaded by path by the loader in ../remote-files.ts. Inputs carry the contents as one secret and
 * the SSH private key as a secret; outputs carry hashes and modes (computed on the machine), the directories
 * the sink created, and the connection (its key stays a secret output: delete needs it).
 */
import type * as pulumi from "@pulumi/pulumi";
import * as crypto from "node:crypto";
import { dirModeFn, formatMode, parseMode, sha256Hex, UNKNOWN_VALUE } from "../node-files/paths";
import { dirsOf, FileOwner, inspectProgram, ownerNameProblem, stagingOrder, parseOutput, ProgramResult, remotePathProblem, remoteRootProblem, removeProgram, writeProgram } from "./plan";
import { pinnedFingerprint, runProgram, SshTarget } from "./ssh";
import { planOf, rollNode, RolloutInputs } from "../../rollout/apply";
import { describePlan } from "../../rollout/plan";
import { fleetPhaseProblem } from "../../validation/rollout";

export interface RemoteFilesInputs {
    node: string;
    root: string;
    host: string;
    port: number;
    user: string;
    hostKey: string;
    sudo?: boolean;
    /** the files' user and group on the machine (names or ids; default root); only with root or sudo writes */
    owner?: string;
    group?: string;
    agent?: string;
    privateKey?: string;
    manifest: Record<string, { mode: string; secret: boolean; sha256: string }>;
    contents: Record<string, string>;
    /** the rollout of this node (docs/rollout.md): reloads, gates, its place in the order */
    rollout?: RolloutInputs;
    /** set by check: the node's plan, as `pulumi preview --diff` shows it */
    rolloutPlan?: string;
}

export interface RemoteFilesOutputs extends Omit<RemoteFilesInputs, "contents" | "manifest" | "rollout" | "rolloutPlan"> {
    /** what the last update did: the plan, the components restarted, the gates passed */
    /** (the plan itself is not kept: a node without changes shows none in the next preview) */
    rolloutResult?: { plan: string; restarted: string[]; gates: string[] };
    files: Record<string, { sha256: string; mode: string }>;
    /** relative to the node dir ("." is the node dir itself), in creation order */
    createdDirs: string[];
}

const known = (v: unknown) => v !== undefined && v !== UNKNOWN_VALUE;

function targetOf(p: RemoteFilesInputs | RemoteFilesOutputs): SshTarget {
    return { node: p.node, host: p.host, port: p.port, user: p.user, hostKey: p.hostKey, privateKey: p.privateKey, agent: p.agent, sudo: p.sudo };
}

/** Runs a program and turns every failure into one message naming the node (never contents: none are in it). */
async function run(p: RemoteFilesInputs | RemoteFilesOutputs, program: string, lines: { path: string; line: string }[] = []): Promise<ProgramResult> {
    const r = await runProgram(targetOf(p), program, lines);
    const out = parseOutput(r.stdout);
    const where = `kube-pki RemoteNodeFiles: node ${p.node} (${p.user}@${p.host}:${p.port}, root ${p.root})`;
    if (out.error) throw new Error(`${where}: ${out.error}`);
    if (r.cut || (!out.ok && r.code === null)) {
        throw new Error(`${where}: the connection was cut before the remote program finished; files not yet renamed stay old and the next up converges`);
    }
    if (/sudo: (a password is required|a terminal is required)/.test(r.stderr)) {
        throw new Error(`${where}: ${p.user} cannot run sudo without a password (give it NOPASSWD for /bin/sh, or connect as root)`);
    }
    if (!out.ok) {
        throw new Error(`${where}: the remote program failed (exit ${r.code ?? r.signal}): ${r.stderr.trim().split("\n").slice(-3).join(" ") || "no output"}`);
    }
    return out;
}

/**
 * Who owns the written files: the configured owner and group (root's by default) when the writes run as root (the
 * user root, or sudo); else the writing user (validation refuses owner/group there).
 */
export function fileOwnerOf(p: Pick<RemoteFilesInputs, "user" | "sudo" | "owner" | "group">): FileOwner | undefined {
    const privileged = p.user === "root" || (p.sudo ?? p.user !== "root");
    return privileged ? { user: p.owner ?? "0", group: p.group ?? "0" } : undefined;
}

/** A file whose owner on the machine is not the one configured (resolved there), given an inspection. */
const ownerDrifted = (have: ProgramResult, rel: string) => have.wantedOwner !== undefined && have.owners[rel] !== undefined && have.owners[rel] !== have.wantedOwner;

/** Remote state of each path (sha256 + mode + owner, computed on the machine) and the interrupted write's temp files. */
export async function inspectRemote(p: RemoteFilesInputs | RemoteFilesOutputs, paths: string[]): Promise<ProgramResult> {
    return run(p, inspectProgram(p.root, p.node, paths, fileOwnerOf(p)));
}

function wantedOf(news: RemoteFilesInputs): Record<string, { sha256: string; mode: string } | "unknown"> {
    const out: Record<string, { sha256: string; mode: string } | "unknown"> = {};
    const manifest = known(news.manifest) && news.manifest ? news.manifest : {};
    for (const [rel, m] of Object.entries(manifest)) {
        const mode = m && known(m.mode) ? parseMode(m.mode) : undefined;
        const content = known(news.contents) ? news.contents?.[rel] : undefined;
        const sha = typeof content === "string" && content !== UNKNOWN_VALUE ? sha256Hex(content) : known(m?.sha256) ? m.sha256 : undefined;
        out[rel] = mode === undefined || !sha ? "unknown" : { sha256: sha, mode: formatMode(mode) };
    }
    return out;
}

/** Writes the changed files of the map; returns the outputs. Throws (naming the node) when a directory failed. */
async function writeRemote(news: RemoteFilesInputs, createdBefore: string[]): Promise<RemoteFilesOutputs> {
    const paths = Object.keys(news.manifest).sort();
    const wanted = wantedOf(news);
    const have = await inspectRemote(news, paths);
    const changed = paths.filter((rel) => {
        const w = wanted[rel];
        const h = have.files[rel];
        return w === "unknown" || !h || h.sha256 !== w.sha256 || h.mode !== w.mode || ownerDrifted(have, rel);
    });
    const files = paths.map((rel) => ({ path: rel, content: news.contents[rel], mode: news.manifest[rel].mode, secret: news.manifest[rel].secret === true }));
    const modeOf = dirModeFn(news.node, files);
    const dirModes = Object.fromEntries(dirsOf(paths).map((d) => [d, modeOf(`${news.node}/${d}`)]));
    let result = have;
    if (changed.length > 0 || have.temps.length > 0) {
        const nonce = crypto.randomBytes(8).toString("hex");
        const planned = stagingOrder(changed.map((rel) => ({ path: rel, mode: news.manifest[rel].mode, sha256: sha256Hex(news.contents[rel]) })));
        const program = writeProgram({
            root: news.root,
            node: news.node,
            nonce,
            files: planned,
            all: paths,
            dirModes,
            nodeMode: modeOf(news.node),
            owner: fileOwnerOf(news),
        });
        const lines = planned.map((f) => ({ path: f.path, line: Buffer.from(news.contents[f.path], "utf8").toString("base64") }));
        result = await run(news, program, lines);
    }
    const createdDirs = [...new Set([...createdBefore, ...result.created])];
    const outs: RemoteFilesOutputs = { ...connectionOf(news), files: result.files, createdDirs };
    if (result.unitErrors.length > 0) {
        const notWritten = paths.filter((rel) => result.unitErrors.some((u) => (rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : ".") === u.dir));
        throw new Error(
            `kube-pki RemoteNodeFiles: node ${news.node} (${news.host}:${news.port}): ${notWritten.length} file(s) not written, left as they were ` +
                `(${notWritten.join(", ")}); the other directories were written (${result.renamed.length} file(s) replaced):\n  - ` +
                result.unitErrors.map((u) => `${u.dir}: ${u.why}`).join("\n  - "),
        );
    }
    return outs;
}

function connectionOf(p: RemoteFilesInputs | RemoteFilesOutputs): Omit<RemoteFilesOutputs, "files" | "createdDirs"> {
    const { node, root, host, port, user, hostKey, sudo, owner, group, agent, privateKey } = p;
    return {
        node,
        root,
        host,
        port,
        user,
        hostKey,
        sudo: sudo ?? user !== "root",
        ...(owner ? { owner } : {}),
        ...(group ? { group } : {}),
        ...(agent ? { agent } : {}),
        ...(privateKey ? { privateKey } : {}),
    };
}

/** Every problem with the inputs (plain messages naming the field), for check. */
export function inputProblems(news: Partial<RemoteFilesInputs>): { property: string; reason: string }[] {
    const f: { property: string; reason: string }[] = [];
    if (known(news.host) && (typeof news.host !== "string" || news.host.trim() === "")) f.push({ property: "host", reason: "host must be a host name or address" });
    if (known(news.port) && (!Number.isInteger(news.port) || news.port! < 1 || news.port! > 65535)) f.push({ property: "port", reason: "port must be 1-65535" });
    if (known(news.root)) {
        const rp = remoteRootProblem(news.root);
        if (rp) f.push({ property: "root", reason: `remoteRoot ${rp}` });
    }
    if (known(news.hostKey)) {
        const hk = pinnedFingerprint(news.hostKey);
        if (hk.problem) f.push({ property: "hostKey", reason: `hostKey ${hk.problem}` });
    }
    for (const k of ["owner", "group"] as const) {
        const problem = known(news[k]) && news[k] !== undefined ? ownerNameProblem(news[k]) : undefined;
        if (problem) f.push({ property: k, reason: `${k} ${JSON.stringify(news[k])} ${problem}` });
    }
    if (known(news.privateKey) && known(news.agent) && !news.privateKey && !news.agent) {
        f.push({ property: "privateKey", reason: "give a private key (a Pulumi secret) or an ssh-agent socket" });
    }
    if (known(news.manifest) && news.manifest) {
        for (const rel of Object.keys(news.manifest)) {
            const pp = remotePathProblem(rel);
            if (pp) f.push({ property: "manifest", reason: `path ${JSON.stringify(rel)}: ${pp}` });
        }
    }
    return f;
}

export const remoteFilesImpl: pulumi.dynamic.ResourceProvider = {
    async check(olds: any, news: any) {
        if (known(news.rollout) && news.rollout && known(news.rollout.hashes)) {
            // the per-node plan, from the hashes the node last received (old inputs) to the ones to deliver
            const oldHashes: Record<string, string> | undefined = olds?.rollout?.hashes ?? (olds?.manifest ? Object.fromEntries(Object.entries(olds.manifest).map(([rel, m]: [string, any]) => [rel, m?.sha256])) : undefined);
            news = {
                ...news,
                rolloutPlan: oldHashes
                    ? describePlan(planOf(news.node, oldHashes, news.rollout.hashes, UNKNOWN_VALUE), news.rollout.position)
                    : `${news.node} (${news.rollout.position}): first delivery, nothing restarted, no gates`,
            };
        }
        const failures = inputProblems(news);
        if (known(news.rollout) && news.rollout?.phases && olds?.contents && known(news.rollout.bundles)) {
            const bundles = Object.fromEntries(Object.entries(news.rollout.bundles ?? {}).map(([rel, c]) => [rel, known(c) ? (c as string) : undefined]));
            const refusal = fleetPhaseProblem(news.node, news.rollout.phases, olds.contents, bundles);
            if (refusal) failures.push({ property: "rollout", reason: refusal });
        }
        if (failures.length > 0 || !olds?.manifest || !known(news.manifest) || !known(news.host)) return { inputs: news, failures };
        // drift, by file, as `pulumi preview --diff` shows it (hashes computed on the machine)
        const drift: string[] = [];
        try {
            const have = await inspectRemote(news, Object.keys(olds.manifest ?? {}));
            for (const [rel, w] of Object.entries((olds.manifest ?? {}) as RemoteFilesInputs["manifest"]).sort(([a], [b]) => (a < b ? -1 : 1))) {
                const h = have.files[rel];
                if (!h || h.sha256 === "absent") drift.push(`${rel}: removed on the machine`);
                else if (!/^[0-9a-f]{64}$/.test(h.sha256)) drift.push(`${rel}: replaced by a ${h.sha256} on the machine`);
                else {
                    if (h.sha256 !== w.sha256) drift.push(`${rel}: content changed on the machine`);
                    if (h.mode !== formatMode(parseMode(w.mode) ?? 0)) drift.push(`${rel}: mode ${h.mode} on the machine, written ${w.mode}`);
                    if (ownerDrifted(have, rel)) drift.push(`${rel}: owner ${have.owners[rel]} on the machine, written ${have.wantedOwner}`);
                }
            }
            for (const t of have.temps) drift.push(`${t}: temp file left by an interrupted write (removed by the update)`);
        } catch (e) {
            drift.push(`(the machine could not be inspected: ${(e as Error).message})`);
        }
        return { inputs: drift.length > 0 ? { ...news, drift } : news, failures };
    },

    async create(inputs: any) {
        const outs: RemoteFilesOutputs = await writeRemote(inputs, []);
        return { id: `${inputs.host}:${inputs.port}:${inputs.root}/${inputs.node}`, outs };
    },

    async read(id: string, props: any) {
        if (!props?.host) return { id, props };
        try {
            const have = await inspectRemote(props, Object.keys(props.files ?? {}));
            return { id, props: { ...props, files: have.files } };
        } catch {
            return { id, props }; // unreachable: the update says so
        }
    },

    async diff(_id: string, olds: any, news: any) {
        const replaces = ["node", "root", "host", "port"].filter((k) => known(news[k]) && news[k] !== olds[k]);
        if (replaces.length > 0) return { changes: true, replaces, deleteBeforeReplace: true };
        const conn = ["user", "hostKey", "sudo", "agent", "privateKey"].some((k) => known(news[k]) && (news[k] ?? undefined) !== (olds[k] ?? undefined));
        // owner/group: dropping one (undefined: back to root) is a change too
        const owner = ["owner", "group"].some((k) => news[k] !== UNKNOWN_VALUE && (news[k] ?? undefined) !== (olds[k] ?? undefined));
        const wanted = wantedOf(news);
        if (conn || owner || Object.values(wanted).includes("unknown")) return { changes: true };
        if (Object.keys(olds.files ?? {}).some((rel) => !(rel in wanted))) return { changes: true };
        try {
            const have = await inspectRemote(olds, Object.keys(wanted));
            if (have.temps.length > 0) return { changes: true };
            for (const [rel, w] of Object.entries(wanted)) {
                const h = have.files[rel];
                const rec = olds.files?.[rel];
                if (w === "unknown" || !h || h.sha256 !== w.sha256 || h.mode !== w.mode || ownerDrifted(have, rel) || !rec || rec.sha256 !== w.sha256) return { changes: true };
            }
            return { changes: false };
        } catch {
            return { changes: true }; // the update names the fault
        }
    },

    async update(_id: string, olds: any, news: any) {
        const outs: RemoteFilesOutputs = await writeRemote(news, olds.createdDirs ?? []);
        if (news.rollout) {
            // what the node's components last got (the state: a failed update keeps it) → what is on the machine now
            const oldHashes = Object.fromEntries(Object.entries((olds.files ?? {}) as RemoteFilesOutputs["files"]).map(([rel, f]) => [rel, f.sha256]));
            const hashes = Object.fromEntries(Object.keys(news.manifest).map((rel) => [rel, sha256Hex(news.contents[rel])]));
            const plan = planOf(news.node, oldHashes, hashes, UNKNOWN_VALUE);
            outs.rolloutResult = await rollNode(targetOf(news), news.root, news.rollout, plan, news.contents);
        }
        const dropped = Object.keys(olds.files ?? {}).filter((rel) => !(rel in news.manifest));
        if (dropped.length > 0) {
            const keep = new Set(dirsOf(Object.keys(news.manifest)));
            const r = await run(news, removeProgram(news.root, news.node, dropped, (olds.createdDirs ?? []).filter((d: string) => !keep.has(d) && d !== ".")));
            void r;
        }
        return { outs };
    },

    async delete(_id: string, props: any) {
        await run(props, removeProgram(props.root, props.node, Object.keys(props.files ?? {}), props.createdDirs ?? []));
    },
};
