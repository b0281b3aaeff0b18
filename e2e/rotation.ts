/**
 * Step "ca-rotation": the rotation runbook (docs/runbook.md), live. On its own stack (cp-1 on 127.0.0.1, worker-1, user
 * alice) every rotatable CA — `ca`, `etcd-ca`, `front-proxy-ca` — and the service-account key `sa` goes through
 * `caRotation` stage → promote → distrust, one `pulumi up` per phase, each preceded by a `pulumi preview` whose
 * plan is checked (stage: only the new generation is created; promote: exactly the LocallySignedCerts signed by
 * that CA are replaced, no key or CSR is touched; distrust: only the old generation is deleted). After each `up`
 * the new node tree is written (the writer the other steps use), etcd and kube-apiserver are restarted from it
 * (etcd keeps its data dir), and the tree and the live cluster are checked:
 *
 *  - the tree: bundle sizes and order (old first while staged, new first once promoted: kubeadm pairs the first
 *    certificate of ca.crt with ca.key), every leaf verifies against the bundle's first CA, promote keeps keys;
 *  - clients holding the previous phase's credentials and the new ones authenticate: kubeconfigs
 *    (`kubectl auth whoami`), etcd clients (etcdctl, peer mTLS), the front-proxy client (requestheader auth),
 *    service-account tokens; after distrust the old CA's credentials are refused (401 / TLS handshake refused);
 *  - a background prober sends SelfSubjectReviews with every credential currently held (kubeconfigs of the
 *    previous and current phase, front-proxy clients, service-account tokens) through the whole sequence —
 *    previews, ups, checks — and pauses only for the deliberate restarts (pause, restart, wait for /readyz,
 *    resume): every request it sends must authenticate as the expected user.
 *
 * An illegal request (`ca: distrust` straight from none) must be refused at preview, naming `caRotation.ca`, with
 * nothing planned and the state unchanged. Each phase's preview starts as soon as the previous phase's `up` is done
 * (it needs only the stack's state), i.e. while the control plane restarts, and is checked before its own `up`.
 *
 * The engine runs this stack's program with PULUMI_NODEJS_TRANSPILE_ONLY=true (25 operations: ~5 s instead of
 * ~11-20 s each with ts-node's type check; the program's types are checked by `npm run typecheck`).
 */

import { setMaxListeners } from "node:events";
import { freePort, run, sleep } from "./procs";
import { createStack, workspace } from "./pulumi";
import type { Ctx } from "./steps";
import { at, CLUSTER, KUBECONFIGS, Phase, PHASES, read, ROTATED, Rotated, secs } from "./rotation/fixture";
import { PhaseTiming, Plan, RotationRun } from "./rotation/run";
import { caState, checkPlan, checkTree } from "./rotation/expect";

// ------------------------------------------------------------------------------------------------ the step

export async function stepCaRotation(ctx: Ctx, signal: AbortSignal) {
    const s = ctx.suite;
    const stepStart = Date.now();
    // every Automation API operation and command listens on the step's signal; a few run at once here
    setMaxListeners(64, signal);
    // a workspace of its own on the same backend: the same program, run without ts-node's type check
    const ws = await workspace({
        workDir: ctx.projectDir,
        backendUrl: String(ctx.ws.envVars.PULUMI_BACKEND_URL),
        pulumiHome: String(ctx.env.PULUMI_HOME),
        env: ctx.env,
    });
    ws.envVars.PULUMI_NODEJS_TRANSPILE_ONLY = "true";

    const apiPort = await freePort();
    const r = new RotationRun(ctx, ws, signal, apiPort);
    r.ports = { apiserver: apiPort, etcdClient: await freePort(), etcdPeer: await freePort() };
    const config = {
        clusterName: CLUSTER,
        controlPlaneEndpoint: `127.0.0.1:${apiPort}`,
        apiServerBindPort: apiPort,
        controlPlanes: [{ name: "cp-1", advertiseAddress: "127.0.0.1" }],
        workers: [{ name: "worker-1" }],
        users: [{ name: "alice", group: "dev-team" }],
    };
    s.info(`stack ${CLUSTER}: endpoint ${config.controlPlaneEndpoint}, cp-1 + worker-1, user alice; rotating ${ROTATED.join(", ")} (stage → promote → distrust each)`);
    r.stack = await createStack(ws, CLUSTER, config);
    ctx.stacks.push(r.stack);

    try {
        let t = Date.now();
        const first = await r.up("initial");
        s.check(`pulumi up ${CLUSTER}: ${first.changes.create ?? 0} resources created (${secs(Date.now() - t)})`, (first.changes.create ?? 0) > 0, JSON.stringify(first.changes));
        const base = r.snapshot("initial", first.outputs);

        // An illegal request (distrust straight from none) must be refused at preview. A failing program costs
        // ~40 s of CPU here (Node 20.20's util.inspect on the error, see e2e/README.md), so the refused preview
        // runs while the control plane boots.
        const resourcesBefore = ((await r.stack.exportStack()).deployment?.resources ?? []).length;
        const refusal = r.refusedPreview("straight from none", "ca", "distrust", /cannot distrust from "none"/);
        refusal.catch(() => undefined);
        try {
            await r.restart(base);

            // bootstrap: kubeadm's admin binding, a service account, a marker ConfigMap, a token minted before any rotation
            const superAdmin = at(base, "cp-1/etc/kubernetes/super-admin.conf");
            const admin = at(base, "cp-1/etc/kubernetes/admin.conf");
            const boot = [
                ["create", "clusterrolebinding", "kubeadm:cluster-admins", "--clusterrole=cluster-admin", "--group=kubeadm:cluster-admins"],
                ["create", "serviceaccount", "rot", "-n", "default"],
                ["create", "configmap", "rot-marker", "-n", "default", "--from-literal=initial=ok"],
            ];
            for (const args of boot) {
                const b = await r.kubectl(superAdmin, args);
                if (b.code !== 0) throw new Error(`bootstrap kubectl ${args.join(" ")}: ${b.output}`);
            }
            let ready = await r.kubectl(admin, ["get", "configmap", "rot-marker", "-n", "default"]);
            for (let i = 0; i < 15 && ready.code !== 0; i++) {
                await sleep(1000); // RBAC informer catching up
                ready = await r.kubectl(admin, ["get", "configmap", "rot-marker", "-n", "default"]);
            }
            s.check("bootstrap: kubeadm:cluster-admins binding, service account rot, ConfigMap rot-marker (admin.conf can read it)", ready.code === 0, ready.output);
            r.markerKeys.push("initial");
            await r.mintToken("before-sa-stage");
            r.prober.hold("initial", r.heldCreds());
            r.prober.start();
            r.prober.resume();
            s.info(`prober: ${r.prober.held.length} credentials held (every ~100 ms, one SelfSubjectReview over a fresh TLS connection)`);
        } finally {
            await refusal.catch(() => undefined);
        }
        await refusal;
        const resourcesAfter = ((await r.stack.exportStack()).deployment?.resources ?? []).length;
        s.check(`the refused preview changed nothing: ${resourcesAfter} resources in the state, as before`, resourcesAfter === resourcesBefore, `${resourcesBefore} → ${resourcesAfter}`);

        // Each phase: its preview (started as soon as the previous phase's up is done, i.e. while the control plane
        // restarts — it only needs the stack's state), checked before its up; then the up, the tree, the restart
        // and the live checks.
        const sequence = ROTATED.flatMap((ca) => PHASES.map((phase) => ({ ca, phase, label: `${ca} ${phase}` })));
        const startPreview = async (i: number) => {
            const { ca, phase, label } = sequence[i];
            r.requested[ca] = phase;
            await r.setRotation();
            const begin = Date.now();
            const plan = await r.preview(label.replace(/ /g, "-"));
            return { plan, ms: Date.now() - begin };
        };
        let pending: Promise<{ plan: Plan; ms: number }> | undefined;
        try {
            for (let i = 0; i < sequence.length; i++) {
                const { ca, phase, label } = sequence[i];
                s.info(`--- ${label}`);
                const timing: PhaseTiming = { ca, phase, preview: 0, previewWait: 0, up: 0, restart: 0, checks: 0, wall: 0 };
                const phaseStart = Date.now();
                const prevSnap = r.current;
                const prevState = caState(prevSnap.outputs, ca);

                t = Date.now();
                const { plan, ms } = await (pending ?? startPreview(i));
                pending = undefined;
                timing.previewWait = Date.now() - t;
                timing.preview = ms;
                checkPlan(r, ca, phase, plan, prevState);

                t = Date.now();
                const { outputs, changes } = await r.up(label.replace(/ /g, "-"));
                timing.up = Date.now() - t;
                const wantGen = phase === "promote" ? prevState.generation + 1 : prevState.generation;
                const state = caState(outputs, ca);
                s.check(
                    `up ${label}: applied exactly the previewed plan (${JSON.stringify(changes)}); rotationState.${ca} = ${phase}, generation ${wantGen}`,
                    JSON.stringify(changes) === JSON.stringify(plan.summary) && state.phase === phase && state.generation === wantGen,
                    `changes ${JSON.stringify(changes)} vs preview ${JSON.stringify(plan.summary)}; rotationState ${JSON.stringify(outputs.rotationState)}`,
                );
                const snap = r.snapshot(label, outputs);
                checkTree(r, ca, phase, prevSnap, snap);
                // the next phase's preview runs while this phase's control plane restarts and is checked
                if (i + 1 < sequence.length) {
                    pending = startPreview(i + 1);
                    pending.catch(() => undefined);
                }
                // tokens signed with a key that is no longer trusted leave the prober when the key goes
                if (ca === "sa" && phase === "distrust") for (const tok of r.tokens) if (tok.label !== "after-sa-promote") tok.valid = false;

                timing.restart = await r.restart(snap, label);
                t = Date.now();
                await phaseChecks(r, ca, phase);
                timing.checks = Date.now() - t;
                timing.wall = Date.now() - phaseStart;
                r.timings.push(timing);
                s.info(
                    `${label}: ${secs(timing.wall)} — preview ${secs(timing.preview)} (waited ${secs(timing.previewWait)}), up ${secs(timing.up)}, ` +
                        `restart ${secs(timing.restart)}, checks ${secs(timing.checks)}; prober so far ${r.prober.total} requests, ${r.prober.failed} failed; ` +
                        `holds ${r.prober.held.length} credentials`,
                );
            }
        } finally {
            await pending?.catch(() => undefined);
        }
        // one more full round with what is held at the end
        await r.prober.fullRound(30_000);
    } finally {
        await r.prober.stop();
        await r.cp?.stop();
    }

    const p = r.prober;
    s.info(`prober windows (after each restart): ${p.perWindow.map((w) => `${w.window}: ${w.requests}/${w.failed} (${w.creds} creds)`).join("; ")}`);
    s.check(
        `background prober: ${p.total} authenticated requests (SelfSubjectReview, every credential held, through every preview/up/check; paused only for the ${p.perWindow.length} restarts), ${p.failed} failed`,
        p.total > 0 && p.failed === 0,
        p.failures.join("\n"),
    );
    const sum = (k: keyof PhaseTiming) => r.timings.reduce((n, x) => n + (x[k] as number), 0);
    const row = (name: string, cells: number[]) => `${name.padEnd(24)} ${cells.map((c) => secs(c).padStart(8)).join(" ")}`;
    const lines = [`${"phase".padEnd(24)} ${["preview", "(waited)", "up", "restart", "checks", "phase"].map((h) => h.padStart(8)).join(" ")}`];
    for (const x of r.timings) lines.push(row(`${x.ca} ${x.phase}`, [x.preview, x.previewWait, x.up, x.restart, x.checks, x.wall]));
    lines.push(row("sum", [sum("preview"), sum("previewWait"), sum("up"), sum("restart"), sum("checks"), sum("wall")]));
    lines.push(`step total ${secs(Date.now() - stepStart)} (setup, first up, boot, refused preview: ${secs(Date.now() - stepStart - sum("wall"))})`);
    s.info(lines.join("\n"));
}

/** The live checks after a phase's restart. */
async function phaseChecks(r: RotationRun, ca: Rotated, phase: Phase) {
    const snaps = r.snapshots;
    const cur = snaps[snaps.length - 1];
    const prev = snaps[snaps.length - 2];
    // the snapshot taken before this CA's stage, and the one of its stage phase (old-CA credentials)
    const stageIdx = snaps.length - 1 - PHASES.indexOf(phase);
    const beforeStage = snaps[stageIdx - 1];
    const staged = snaps[stageIdx];
    const why = `after ${ca} ${phase}`;

    await r.configMapRoundTrip(`${ca}-${phase}`);
    const allNames = KUBECONFIGS.map((k) => k.name);
    if (ca === "ca") {
        const prevWhat = {
            stage: "pre-stage files: client certs and CA data from the old CA",
            promote: "stage files: client certs signed by the old CA, CA data old+new verifying the re-signed serving cert",
            distrust: "promote files: client certs signed by the new CA, CA data new+old",
        }[phase];
        await r.whoamiAll(prev, allNames, "ok", `${why}, previous phase's kubeconfigs (${prevWhat})`);
        await r.whoamiAll(cur, allNames, "ok", `${why}, new kubeconfigs`);
        if (phase === "promote") {
            await r.whoamiAll(beforeStage, ["admin.conf"], "tls", `${why}, expected: a kubeconfig from before stage (CA data: old CA only) never got the staged bundle`);
        }
        if (phase === "distrust") {
            await r.whoamiAll(staged, allNames, "401", `${why}, old CA's client certs (stage-phase kubeconfigs, CA data old+new)`);
        }
        return;
    }
    // kubeconfigs are untouched by the other CAs' rotations: the files are identical, and still authenticate
    const same = KUBECONFIGS.filter((k) => read(at(prev, k.file)) !== read(at(cur, k.file))).map((k) => k.name);
    r.s.check(`${why}: every kubeconfig is byte-identical to the previous phase's`, same.length === 0, same.join(", "));
    await r.whoamiAll(cur, ["admin.conf", "worker-1 kubelet.conf", "users/alice.conf"], "ok", `${why}, kubeconfigs`);

    if (ca === "etcd-ca") {
        // the apiserver's (new) apiserver-etcd-client talks to etcd: the ConfigMap round trip above, and namespaces
        const ns = await r.kubectl(at(cur, "cp-1/etc/kubernetes/admin.conf"), ["get", "ns", "-o", "name"]);
        r.s.check(`${why}: kubectl get ns (apiserver → etcd with ${cur.label} apiserver-etcd-client)`, ns.code === 0 && ns.stdout.includes("namespace/default"), ns.output.slice(-300));
        await r.etcdClients(prev, "ok", `${why}, previous phase's etcd clients`);
        await r.etcdClients(cur, "ok", `${why}, new etcd clients`);
        if (phase === "distrust") await r.etcdClients(staged, "refused", `${why}, old etcd CA's clients`);
    } else if (ca === "front-proxy-ca") {
        await r.frontProxy(prev, "ok", `${why}, previous phase's proxy client`);
        await r.frontProxy(cur, "ok", `${why}, new proxy client`);
        if (phase === "distrust") await r.frontProxy(staged, "401", `${why}, old front-proxy CA's client`);
    } else {
        // sa: tokens minted before stage and in each phase
        const tokenWhy = `${why}`;
        if (phase === "stage") {
            await r.tokenWhoami("before-sa-stage", "ok", `${tokenWhy} (sa.pub: old + new)`);
            await r.mintToken("after-sa-stage");
            await r.tokenWhoami("after-sa-stage", "ok", `${tokenWhy} (still signed by the old sa.key)`);
            const [t0, t1] = r.tokens;
            r.s.check(`${tokenWhy}: the token minted after stage is signed by the same (old) key as before (same kid)`, t0.kid === t1?.kid, `${t0.kid} vs ${t1?.kid}`);
        } else if (phase === "promote") {
            await r.tokenWhoami("before-sa-stage", "ok", `${tokenWhy} (sa.pub: new + old)`);
            await r.tokenWhoami("after-sa-stage", "ok", tokenWhy);
            await r.mintToken("after-sa-promote");
            await r.tokenWhoami("after-sa-promote", "ok", `${tokenWhy} (signed by the new sa.key)`);
            const t0 = r.tokens[0];
            const t2 = r.tokens.find((x) => x.label === "after-sa-promote");
            r.s.check(`${tokenWhy}: the token minted after promote is signed by a different key (kid changed)`, !!t2 && t2.kid !== t0.kid, `${t0.kid} vs ${t2?.kid}`);
        } else {
            await r.tokenWhoami("before-sa-stage", "401", `${tokenWhy} (old key left sa.pub)`);
            await r.tokenWhoami("after-sa-stage", "401", `${tokenWhy} (old key left sa.pub)`);
            await r.tokenWhoami("after-sa-promote", "ok", `${tokenWhy} (new key)`);
            await r.mintToken("after-sa-distrust");
            await r.tokenWhoami("after-sa-distrust", "ok", tokenWhy);
        }
        // the prober holds the token minted in this phase too
        r.prober.hold(`${ca} ${phase} (+ new token)`, r.heldCreds());
    }
}

