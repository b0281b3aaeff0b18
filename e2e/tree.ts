/**
 * Node trees on disk: written from the `nodeFiles` stack output exactly as a node-files sink would (file modes
 * from the map, a directory 0700 when it directly holds a secret file, else 0755), and fingerprinted (sha256 +
 * mode of every file) to prove that a tool changed nothing.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { NodeFiles } from "./pulumi";

/** Writes `<root>/<node>/<path>` for every node and file; returns the node dirs. */
export function writeTrees(root: string, nodeFiles: NodeFiles): Record<string, string> {
    const dirs: Record<string, string> = {};
    for (const [node, files] of Object.entries(nodeFiles)) {
        const nodeDir = path.join(root, node);
        dirs[node] = nodeDir;
        // directories that directly hold a secret file are 0700
        const privateDirs = new Set(Object.entries(files).filter(([, f]) => f.secret).map(([rel]) => path.dirname(rel)));
        for (const [rel, file] of Object.entries(files)) {
            const parts = path.dirname(rel).split("/").filter((p) => p && p !== ".");
            let dir = nodeDir;
            mkdir(dir, 0o755);
            for (let i = 0; i < parts.length; i++) {
                dir = path.join(dir, parts[i]);
                mkdir(dir, privateDirs.has(parts.slice(0, i + 1).join("/")) ? 0o700 : 0o755);
            }
            const target = path.join(nodeDir, rel);
            const mode = parseInt(file.mode, 8);
            fs.writeFileSync(target, file.content, { mode, flag: "wx" });
            fs.chmodSync(target, mode); // exact, whatever the umask
        }
    }
    return dirs;
}

function mkdir(dir: string, mode: number) {
    if (fs.existsSync(dir)) return;
    fs.mkdirSync(dir, { mode });
    fs.chmodSync(dir, mode);
}

/** Relative path → "sha256 mode" of every file under `dir` (recursively). */
export function fingerprint(dir: string): Map<string, string> {
    const out = new Map<string, string>();
    const walk = (d: string) => {
        for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, entry.name);
            if (entry.isDirectory()) walk(p);
            else {
                const st = fs.lstatSync(p);
                const sha = createHash("sha256").update(fs.readFileSync(p)).digest("hex");
                out.set(path.relative(dir, p), `${sha} ${(st.mode & 0o7777).toString(8)}`);
            }
        }
    };
    walk(dir);
    return out;
}

/** What differs between two fingerprints: changed, added and removed files. */
export function diffFingerprints(before: Map<string, string>, after: Map<string, string>): string[] {
    const diffs: string[] = [];
    for (const [p, v] of before) {
        if (!after.has(p)) diffs.push(`removed ${p}`);
        else if (after.get(p) !== v) diffs.push(`changed ${p}`);
    }
    for (const p of after.keys()) if (!before.has(p)) diffs.push(`added ${p}`);
    return diffs;
}

/** Every file mode in the written tree as the map asked (and directory modes by the 0700/0755 rule). */
export function checkModes(root: string, nodeFiles: NodeFiles): string[] {
    const problems: string[] = [];
    for (const [node, files] of Object.entries(nodeFiles)) {
        for (const [rel, file] of Object.entries(files)) {
            const st = fs.statSync(path.join(root, node, rel));
            const mode = (st.mode & 0o7777).toString(8).padStart(4, "0");
            if (mode !== file.mode.padStart(4, "0")) problems.push(`${node}/${rel}: mode ${mode}, expected ${file.mode}`);
            if (file.secret && file.mode !== "0600") problems.push(`${node}/${rel}: secret file with mode ${file.mode}`);
        }
    }
    return problems;
}
