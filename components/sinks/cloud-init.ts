/**
 * cloud-init sink (docs/design.md#sinks): a node's file map as a `#cloud-config` document whose `write_files` entries carry
 * the absolute path, permissions, owner and base64 content of every file. The document holds private keys, so it
 * is always a secret Output.
 *
 * cloud-init creates missing parent directories itself (its default mode, 0755): kubeadm is fine with that, the
 * keys themselves are 0600. Size (1 control plane + 1 worker, measured): a control-plane document is ~82 KB with
 * RSA-2048 keys and ~31 KB with ECDSA-P256 (workers ~9 / ~4 KB); `encoding: "gz+b64"` saves ~25% (60 / 23 KB).
 * Control-plane trees exceed EC2's 16 KB user-data limit either way: ship them another way (NodeFiles + copy,
 * a secrets manager) or only use cloud-init for workers.
 */
import * as path from "node:path";
import * as zlib from "node:zlib";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import type { FileMap } from "../model";
import { ConfigError } from "../config";
import { parseMode, relPathProblem } from "./node-files";

export interface CloudInitOptions {
    /** `owner` of every file; default "root:root". */
    owner?: string;
    /** Absolute directory the relative paths are joined to; default "/". */
    rootPrefix?: string;
    /** Content encoding: "b64" (default) or "gz+b64" (gzip, then base64; cloud-init decompresses). */
    encoding?: "b64" | "gz+b64";
}

/** One `write_files` entry. */
export interface CloudInitWriteFile {
    path: string;
    permissions: string;
    owner: string;
    encoding: "b64" | "gz+b64";
    content: string;
}

/** Every problem with a file map and options for cloudInit, as `field: what is wrong (fix)`. */
export function cloudInitProblems(files: FileMap, opts: CloudInitOptions = {}): string[] {
    const problems: string[] = [];
    const prefix = opts.rootPrefix ?? "/";
    const trimmed = typeof prefix === "string" && prefix.length > 1 ? prefix.replace(/\/$/, "") : prefix;
    if (typeof prefix !== "string" || !prefix.startsWith("/") || path.posix.normalize(trimmed) !== trimmed) {
        problems.push(`rootPrefix: ${JSON.stringify(prefix)} must be a normalized absolute path (e.g. "/" or "/mnt/root")`);
    }
    const owner = opts.owner ?? "root:root";
    if (typeof owner !== "string" || !/^[A-Za-z0-9._-]+(:[A-Za-z0-9._-]+)?$/.test(owner)) {
        problems.push(`owner: ${JSON.stringify(owner)} must be "user" or "user:group"`);
    }
    if (opts.encoding !== undefined && opts.encoding !== "b64" && opts.encoding !== "gz+b64") {
        problems.push(`encoding: ${JSON.stringify(opts.encoding)} must be "b64" or "gz+b64"`);
    }
    for (const [rel, f] of Object.entries(files ?? {})) {
        const pp = relPathProblem(rel);
        if (pp) problems.push(`files[${JSON.stringify(rel)}]: ${pp}`);
        if (parseMode(f?.mode) === undefined) problems.push(`files[${JSON.stringify(rel)}].mode: ${JSON.stringify(f?.mode)} is not an octal mode like "0600"`);
    }
    return problems;
}

/** The `write_files` entries of a file map, sorted by path (plain values). */
export function cloudInitWriteFiles(contents: Record<string, string>, files: FileMap, opts: CloudInitOptions = {}): CloudInitWriteFile[] {
    const prefix = opts.rootPrefix ?? "/";
    const owner = opts.owner ?? "root:root";
    const encoding = opts.encoding ?? "b64";
    const encode = (s: string) => {
        const bytes = Buffer.from(s, "utf8");
        return (encoding === "gz+b64" ? zlib.gzipSync(bytes, { level: 9 }) : bytes).toString("base64");
    };
    return Object.keys(files)
        .sort()
        .map((rel) => ({
            path: path.posix.join(prefix, rel),
            permissions: (parseMode(files[rel].mode) as number).toString(8).padStart(4, "0"),
            owner,
            encoding,
            content: encode(contents[rel]),
        }));
}

/** Renders a `#cloud-config` document with the given write_files. */
export function renderCloudConfig(writeFiles: CloudInitWriteFile[]): string {
    // YAML 1.1 (cloud-init uses PyYAML): "0600" and the like are quoted so they stay strings.
    return `#cloud-config\n${stringify({ write_files: writeFiles }, { version: "1.1", lineWidth: 0 })}`;
}

/**
 * A node's file map as a `#cloud-config` user-data document (a secret Output). Throws a ConfigError for bad
 * paths, modes, owner or rootPrefix.
 */
export function cloudInit(files: FileMap, opts: CloudInitOptions = {}): pulumi.Output<string> {
    const problems = cloudInitProblems(files, opts);
    if (problems.length > 0) throw new ConfigError("cloudInit args", problems);
    const rels = Object.keys(files).sort();
    const contents = pulumi.all(Object.fromEntries(rels.map((rel) => [rel, pulumi.output(files[rel].content)])));
    return pulumi.secret(contents.apply((c) => renderCloudConfig(cloudInitWriteFiles(c, files, opts))));
}

/** cloudInit for every node of ClusterPki.nodeFiles: node → secret `#cloud-config` document. */
export function cloudInitByNode(nodeFiles: Record<string, FileMap>, opts: CloudInitOptions = {}): Record<string, pulumi.Output<string>> {
    return Object.fromEntries(Object.entries(nodeFiles).map(([node, files]) => [node, cloudInit(files, opts)]));
}
