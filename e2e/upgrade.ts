/**
 * upgrade: a stack made by an earlier commit's program is taken over by this checkout without replacing a key or a
 * certificate. The earlier program (default: UPGRADE_FROM, the last commit before the per-node state levers of
 * docs/performance.md; `KUBE_PKI_UPGRADE_FROM=<commit>` picks another) is checked out of this project's own history with
 * `git archive`, runs `up` of a per-node stack with the NodeFiles sink on the step's file backend; then this
 * checkout's program previews the same stack (0 creates, 0 deletes, 0 replaces: the state shrinks, nothing is
 * re-issued), runs `up`, and every file of every node tree is byte-identical afterwards; a last preview is quiet.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Stack } from "@pulumi/pulumi/automation";
import { run, runOk } from "./procs";
import { createStack, exportEncrypted, isSelfRead, Op, plainOutputs, pulumiOp, recordOps, REPO_DIR, workspace } from "./pulumi";
import type { Ctx } from "./steps";

/** The last commit before the per-node state levers (LeafCertificate outputs, stack outputs of sink-written nodes). */
export const UPGRADE_FROM = "5d08c414e93366c9f208c284b9247e30da9ecb39";
const STACK = "upgrade";
/** What the program needs to run (as e2e/pulumi.ts snapshotProject copies it). */
const PROGRAM = ["Pulumi.yaml", "index.ts", "components", "package.json", "tsconfig.json", "tsconfig.pulumi.json"];

/** path under the root → sha256 of every file of the node trees. */
function treeHashes(root: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (dir: string) => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
            const p = path.join(dir, e.name);
            if (e.isDirectory()) walk(p);
            else if (e.isFile()) out[path.relative(root, p)] = crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex");
        }
    };
    walk(root);
    return out;
}

const CHANGING_OPS = new Set(["create", "delete", "replace", "create-replacement", "delete-replaced", "discard-replaced"]);

export async function stepUpgrade(ctx: Ctx, signal: AbortSignal) {
    const s = ctx.suite;
    const from = process.env.KUBE_PKI_UPGRADE_FROM ?? UPGRADE_FROM;
    const base = path.join(ctx.work, "upgrade-base");
    fs.mkdirSync(path.join(base, "stacks"), { recursive: true });
    // A shallow clone (CI may clone with --depth) lacks the earlier commit: deepen it from its origin first.
    const present = 'git -C "$1" cat-file -e "$2^{commit}" 2>/dev/null || git -C "$1" fetch --quiet --unshallow 2>/dev/null || git -C "$1" fetch --quiet origin "$2" 2>/dev/null; git -C "$1" cat-file -e "$2^{commit}"';
    const found = await run("bash", ["-c", present, "bash", REPO_DIR, from], { log: "upgrade-git-archive" });
    if (found.code !== 0) throw new Error(`upgrade: commit ${from} is not in this clone's history and could not be fetched from its origin; clone with history, or set KUBE_PKI_UPGRADE_FROM to a commit this clone has`);
    const archive = 'set -o pipefail; r=$1 c=$2 d=$3; shift 3; git -C "$r" archive --format=tar "$c" -- "$@" | tar -x -C "$d"';
    await runOk("bash", ["-c", archive, "bash", REPO_DIR, from, base, ...PROGRAM], { log: "upgrade-git-archive" });
    fs.symlinkSync(path.join(REPO_DIR, "node_modules"), path.join(base, "node_modules"));
    s.info(`upgrade: the program of ${from.slice(0, 12)} (git archive) makes stack ${STACK}; this checkout takes it over`);

    const backendUrl = String(ctx.ws.envVars.PULUMI_BACKEND_URL);
    const engine = { backendUrl, pulumiHome: String(ctx.env.PULUMI_HOME), env: ctx.env };
    const oldWs = await workspace({ ...engine, workDir: base });
    oldWs.envVars.PULUMI_NODEJS_TRANSPILE_ONLY = "true";
    const root = path.join(ctx.work, "upgrade-nodes");
    const config = {
        clusterName: STACK,
        controlPlaneEndpoint: "127.0.0.1:6443",
        controlPlanes: [{ name: "cp-1", advertiseAddress: "127.0.0.1" }],
        workers: [1, 2, 3].map((n) => ({ name: `worker-${n}`, addresses: [`127.0.0.${20 + n}`] })),
        users: [{ name: "alice", group: "dev-team" }],
        keyAlgorithm: "ECDSA-P256",
        caKeyAlgorithm: "ECDSA-P256",
        nodeFilesRoot: root,
    };
    const oldStack = await createStack(oldWs, STACK, config);
    const made = await pulumiOp(`${STACK}-up-old`, signal, (o) => oldStack.up(o));
    s.check(`upgrade: the earlier program's up succeeded (${made.summary.resourceChanges?.create ?? 0} created)`, made.summary.result === "succeeded", JSON.stringify(made.summary));
    const before = treeHashes(root);
    const oldOutputs = plainOutputs(made.outputs);

    // this checkout's program on the same stack (its config file copied next to it)
    fs.copyFileSync(path.join(base, "stacks", `Pulumi.${STACK}.yaml`), path.join(ctx.projectDir, "stacks", `Pulumi.${STACK}.yaml`));
    const ws = await workspace({ ...engine, workDir: ctx.projectDir });
    ws.envVars.PULUMI_NODEJS_TRANSPILE_ONLY = "true";
    const stack = await Stack.select(STACK, ws);
    ctx.stacks.push(stack);
    const previewOps: Op[] = [];
    const preview = await pulumiOp(`${STACK}-preview-new`, signal, (o) => stack.preview({ ...o, onEvent: recordOps(previewOps) }));
    const changing = previewOps.filter((o) => CHANGING_OPS.has(o.op) && !isSelfRead(o));
    s.check(
        `upgrade: this checkout's preview of the earlier stack: 0 creates, 0 deletes, 0 replaces (${JSON.stringify(preview.changeSummary)})`,
        changing.length === 0,
        changing.map((o) => `${o.op} ${o.urn}`).join("\n"),
    );
    const upOps: Op[] = [];
    const up = await pulumiOp(`${STACK}-up-new`, signal, (o) => stack.up({ ...o, onEvent: recordOps(upOps) }));
    const upChanging = upOps.filter((o) => CHANGING_OPS.has(o.op));
    s.check(`upgrade: the up creates, deletes and replaces nothing (${JSON.stringify(up.summary.resourceChanges)})`, up.summary.result === "succeeded" && upChanging.length === 0, upChanging.map((o) => `${o.op} ${o.urn}`).join("\n"));
    // Files the catalog gained since the earlier commit (e.g. pki/ca-signer.crt) may appear; none of the earlier
    // files may change or go.
    const after = treeHashes(root);
    const changed = Object.keys(before).filter((f) => after[f] !== before[f]);
    const added = Object.keys(after).filter((f) => !(f in before));
    s.check(
        `upgrade: every file of every node tree is byte-identical after the up (no key or certificate re-issued; new files: ${added.join(", ") || "none"})`,
        changed.length === 0,
        `changed or removed: ${changed.join(", ")}`,
    );
    const keptHashes = (now: Record<string, Record<string, string>> | undefined, then: Record<string, Record<string, string>> | undefined) =>
        Object.entries(then ?? {}).every(([node, files]) => Object.entries(files).every(([f, h]) => now?.[node]?.[f] === h));
    const outputs = plainOutputs(up.outputs);
    s.check(
        "upgrade: the stack outputs now name the trees (nodeDirectories, nodeFileHashes) instead of repeating their contents; admin.conf and users/alice.conf stay",
        outputs.nodeFiles === undefined && Object.keys(outputs.nodeDirectories ?? {}).length === 4 && typeof outputs.kubeconfigs?.["admin.conf"] === "string" &&
            outputs.kubeconfigs["admin.conf"] === oldOutputs.kubeconfigs?.["admin.conf"] && typeof outputs.kubeconfigs["users/alice.conf"] === "string" &&
            keptHashes(outputs.nodeFileHashes, oldOutputs.nodeFileHashes),
        JSON.stringify({ nodeFiles: outputs.nodeFiles === undefined, nodeDirectories: outputs.nodeDirectories, kubeconfigs: Object.keys(outputs.kubeconfigs ?? {}) }),
    );
    // the state sheds the copies: no component records a certificate or key its children hold any more
    const state = (await exportEncrypted(ws, STACK)) as { deployment: { resources: { type: string; urn: string; outputs?: Record<string, unknown> }[] } };
    const heavy = state.deployment.resources.filter((r) => /kube-pki:index:(LeafCertificate|CertificateAuthority)$/.test(r.type) && ("keyPem" in (r.outputs ?? {}) || "certPem" in (r.outputs ?? {})));
    s.check("upgrade: after the up no LeafCertificate or CertificateAuthority in the state records certPem or keyPem", heavy.length === 0, heavy.map((r) => r.urn).join("\n"));
    const quietOps: Op[] = [];
    const quiet = await pulumiOp(`${STACK}-preview-after`, signal, (o) => stack.preview({ ...o, onEvent: recordOps(quietOps) }));
    const notSame = quietOps.filter((o) => o.op !== "same" && !isSelfRead(o));
    s.check(`upgrade: the next preview changes nothing (${JSON.stringify(quiet.changeSummary)})`, notSame.length === 0, notSame.map((o) => `${o.op} ${o.urn}`).join("\n"));
}
