/**
 * Reload actions (docs/rollout.md#reload-actions): POSIX sh run on the node over the RemoteNodeFiles connection
 * (as root, or through `sudo -n` like the writes). Placeholders: {root} the node's tree on the machine
 * (`<remoteRoot>/<node>`, the directory the sink writes), {node}, {component}, {hold} (staticPodHold, seconds).
 *
 * Defaults, kubeadm's static pods: the manifest `{root}/etc/kubernetes/manifests/<component>.yaml` is moved into
 * `{root}/etc/kubernetes/kube-pki-held/`, kept there {hold} seconds (longer than the kubelet's 20 s
 * fileCheckFrequency, so the kubelet stops the pod), then moved back (the kubelet starts it again with the new
 * files). A manifest found held (an interrupted reload) is moved back first; a signal puts it back. The kubelet:
 * `systemctl restart kubelet`.
 */
import { Component } from "../catalog";
import { shQuote } from "../sinks/remote-files/plan";

export const HELD_DIR = "etc/kubernetes/kube-pki-held";

const STATIC_POD = [
    `M={root}/etc/kubernetes/manifests; H={root}/${HELD_DIR}; F={component}.yaml`,
    `mkdir -p -m 700 "$H" || exit 1`,
    `if [ -f "$H/$F" ]; then mv -f "$H/$F" "$M/$F" || exit 1; echo "put back $F held by an interrupted reload"; fi`,
    `[ -f "$M/$F" ] || { echo "no static pod manifest $M/$F: set kube-pki:rollout.reload.{component} to how this node restarts {component}" >&2; exit 2; }`,
    `trap 'mv -f "$H/$F" "$M/$F"; exit 4' HUP INT TERM`,
    `mv -f "$M/$F" "$H/$F" && sleep {hold}; mv -f "$H/$F" "$M/$F"`,
].join("\n");

export const DEFAULT_RELOAD: Record<Component, string> = {
    etcd: STATIC_POD,
    "kube-apiserver": STATIC_POD,
    "kube-controller-manager": STATIC_POD,
    "kube-scheduler": STATIC_POD,
    kubelet: "systemctl restart kubelet",
};

/** The command of a component: the node's override, else the cluster's, else the default. */
export function reloadCommand(c: Component, cluster: Partial<Record<Component, string>>, node: Partial<Record<Component, string>> = {}): string {
    return node[c] ?? cluster[c] ?? DEFAULT_RELOAD[c];
}

/**
 * The program that restarts one component on a node: the tree's path computed on the machine as the sink does
 * (realpath of the remote root, then `/<node>`), the placeholders expanded to quoted shell variables
 * (`"$KPKI_TREE"`, `"$KPKI_NODE"`, `"$KPKI_COMPONENT"`, also in the command's environment). Output ends with
 * `KPKI-RELOADED <component>` or `KPKI-RELOAD-ERR <component> <exit>`.
 */
export function reloadProgram(opts: { root: string; node: string; component: Component; command: string; holdSeconds: number }): string {
    const { component, command } = opts;
    const body = command
        .replace(/\{root\}/g, `"$KPKI_TREE"`)
        .replace(/\{node\}/g, `"$KPKI_NODE"`)
        .replace(/\{component\}/g, `"$KPKI_COMPONENT"`)
        .replace(/\{hold\}/g, String(Math.ceil(opts.holdSeconds)));
    return [
        `set -u`,
        `umask 077`,
        `R=$(realpath -e -- ${shQuote(opts.root)}) || { echo "KPKI-RELOAD-ERR ${component} remote root ${opts.root.replace(/[^A-Za-z0-9._/-]/g, "?")} does not exist"; exit 0; }`,
        `[ "$R" = / ] && KPKI_TREE=/${opts.node} || KPKI_TREE="$R/${opts.node}"`,
        `KPKI_NODE=${shQuote(opts.node)}; KPKI_COMPONENT=${shQuote(component)}`,
        `export KPKI_TREE KPKI_NODE KPKI_COMPONENT`,
        // a plain subshell into a temp file, not $( ): dash does not run the command's traps inside a command substitution
        `L=$(mktemp) || { echo "KPKI-RELOAD-ERR ${component} cannot create a temp file"; exit 0; }`,
        `( ${body.includes("\n") ? `\n${body}\n` : body} ) > "$L" 2>&1; rc=$?`,
        `tail -n 5 "$L" | sed 's/^/KPKI-RELOAD-LOG /'; rm -f -- "$L"`,
        `if [ $rc -eq 0 ]; then echo "KPKI-RELOADED ${component}"; else echo "KPKI-RELOAD-ERR ${component} exit $rc"; fi`,
    ].join("\n");
}

/** The result of a reload program's output. */
export function parseReload(stdout: string): { ok: boolean; error?: string; log: string[] } {
    const lines = stdout.split("\n");
    const log = lines.filter((l) => l.startsWith("KPKI-RELOAD-LOG ")).map((l) => l.slice(16));
    const err = lines.find((l) => l.startsWith("KPKI-RELOAD-ERR "));
    if (err) return { ok: false, error: err.slice(16), log };
    return { ok: lines.some((l) => l.startsWith("KPKI-RELOADED ")), log };
}
