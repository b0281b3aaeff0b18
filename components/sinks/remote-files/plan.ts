/**
 * RemoteNodeFiles: the programs the sink runs on a node over SSH (docs/delivery.md, "Remote sink"). Pure: they
 * are POSIX sh over coreutils (realpath, stat, sha256sum, base64, sync, mv), built from paths, modes and hashes
 * only; file contents never appear in them (they travel on the channel's stdin, one base64 line per file, read
 * by the shell's `read` builtin, so no content is ever a process argument on either side).
 *
 * Write, per node: the tree must resolve (after symlinks, on the machine, at write time) inside
 * `<realpath(root)>/<node>`; a directory owned by someone other than root / the writing user, or writable by
 * group/others, is refused. An interrupted earlier write is cleaned up first from its journal (only the temp
 * files it listed). Then per directory every changed file is staged as a complete temp file created under
 * umask 077, chown'ed and chmod'ed to its final owner and mode, checked against its sha256 and fsync'ed; when
 * every file of every directory is staged the directories are checked again and the temp files renamed over
 * their targets. A directory that fails to stage (disk full, permission) keeps its old files; the others are
 * still renamed.
 */
import { nodeNameProblem, parseMode, relPathProblem } from "../node-files/paths";

/** The journal and temp names, as the local sink uses them. */
export const REMOTE_JOURNAL = ".kube-pki-journal";

/** One file to stage: its path under the node dir, octal mode and the sha256 of its bytes. */
export interface PlannedFile {
    path: string;
    mode: string;
    sha256: string;
}

/** Single-quoted for sh: safe for any string without NUL. */
export function shQuote(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A problem with a path for the remote side (the local rules, plus no control characters), or undefined. */
export function remotePathProblem(rel: string): string | undefined {
    // eslint-disable-next-line no-control-regex
    return relPathProblem(rel) ?? (/^[A-Za-z0-9._@+=,:/-]+$/.test(rel) ? undefined : "may hold only letters, digits and . _ @ + = , : / - on a remote node");
}

/** A problem with a remote root (absolute, no control characters, no '..'), or undefined. */
export function remoteRootProblem(root: unknown): string | undefined {
    if (typeof root !== "string" || !root.startsWith("/")) return "must be an absolute path on the node (e.g. / or /srv/pki-test)";
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f\x7f]/.test(root)) return "must not contain control characters";
    if (root.split("/").includes("..")) return "must not contain '..'";
    return undefined;
}

/** A user or group as the config names it on the machine: a name (`etcd`, `kube-certs`) or a numeric id. */
const OWNER_NAME = /^(?:[0-9]+|[a-z_][a-z0-9_-]{0,31}\$?)$/i;

/** A problem with an owner or group name, or undefined. */
export function ownerNameProblem(name: unknown): string | undefined {
    if (typeof name !== "string" || !OWNER_NAME.test(name)) return "is not a user/group name or numeric id (letters, digits, _ and -, starting with a letter or _; at most 32)";
    return undefined;
}

/** Who owns the files written: a user and a group, by name or id, resolved on the machine at each run. */
export interface FileOwner {
    user: string;
    group: string;
}

/**
 * Resolves the owner on the machine to `$WANT` (uid:gid) and prints `KPKI-WANT-OWNER uid:gid`; a name the machine
 * does not know is refused before anything is written. Numeric ids are taken as they are.
 */
function ownerSnippet(owner: FileOwner | undefined): string {
    if (!owner) return `WANT=""
`;
    const lookup = (db: "passwd" | "group", name: string, what: string, field: string) => {
        const problem = ownerNameProblem(name);
        if (problem) throw new Error(`${what} ${JSON.stringify(name)} ${problem}`);
        if (/^[0-9]+$/.test(name)) return `${field}=${name}`;
        return `${field}=$(getent ${db} ${shQuote(name)} | cut -d: -f3); [ -n "$${field}" ] || fail ${shQuote(`${what} ${name}: no such ${db === "passwd" ? "user" : "group"} on the machine (create it there, or change ${what})`)}`;
    };
    return [lookup("passwd", owner.user, "owner", "OU"), lookup("group", owner.group, "group", "OG"), `WANT="$OU:$OG"`, `echo "KPKI-WANT-OWNER $WANT"`, ""].join("\n");
}

/** The prelude of every program: strict mode, the failure protocol, the node tree's confinement checks. */
function prelude(root: string, node: string): string {
    const np = nodeNameProblem(node) ?? (/^[A-Za-z0-9._-]+$/.test(node) ? undefined : "may hold only letters, digits and . _ - on a remote node");
    if (np) throw new Error(`node ${JSON.stringify(node)}: ${np}`);
    const rp = remoteRootProblem(root);
    if (rp) throw new Error(`remote root ${JSON.stringify(root)}: ${rp}`);
    return `set -u
umask 077
export LC_ALL=C
ROOT=${shQuote(root)}
NODE=${shQuote(node)}
ME=$(id -u)
NL='
'
fail() { printf 'KPKI-ERR %s\\n' "$*"; exit 3; }
[ -d "$ROOT" ] || fail "remote root $ROOT does not exist or is not a directory (create it, or set remoteRoot)"
RROOT=$(realpath -e -- "$ROOT") || fail "remote root $ROOT cannot be resolved"
[ "$RROOT" = / ] && TREE="/$NODE" || TREE="$RROOT/$NODE"
# a directory others could rearrange is refused: owned by root or by us, not writable by group/others
safe_dir() {
  st=$(stat -c '%u %a' -- "$1") || fail "cannot stat $1"
  o=\${st%% *}; m=\${st#* }
  [ "$o" = 0 ] || [ "$o" = "$ME" ] || fail "$1 is owned by uid $o, neither root nor uid $ME: refusing to write keys under it (chown it)"
  [ $(( 0$m & 022 )) -eq 0 ] || fail "$1 is writable by group or others (mode $m): refusing to write keys under it (chmod go-w it)"
}
# an error message, or the disk's state when it is full (dash's printf says only "I/O error")
full_or() {
  a=$(df -Pk -- "$TREE" 2>/dev/null | awk 'NR==2 {print $4}')
  if [ "\${a:-1}" = 0 ]; then echo "No space left on device (free space on the machine, then run up again)"; else printf '%s' "$1" | tr '\n' ' '; fi
}
# the real path of a directory of the tree, which must stay inside $TREE (symlinks resolved on this machine)
inside() {
  r=$(realpath -e -- "$1" 2>&1) || fail "$2 cannot be resolved ($(printf '%s' "$r" | sed 's/^realpath: //')): a dangling symlink or no permission; refusing to follow it"
  case "$r/" in "$TREE/"*) ;; *) fail "$2 resolves to $r, outside $TREE (node $NODE's tree): refusing to write through it";; esac
  [ -d "$r" ] || fail "$2 exists and is not a directory"
}
`;
}

/** Reads the journal of an earlier write (remote), removes what it lists, or refuses when that writer runs. */
const SWEEP = `J="$TREE/${REMOTE_JOURNAL}"
if [ -f "$J" ] && [ ! -L "$J" ]; then
  read -r jpid jstart jnonce < "$J" || true
  if [ -n "\${jpid:-}" ] && [ -r "/proc/$jpid/stat" ] && [ "$(cut -d' ' -f22 "/proc/$jpid/stat")" = "\${jstart:-}" ]; then
    fail "another write of node $NODE is still running on the machine (pid $jpid); if it is gone, remove $J"
  fi
  jdirs=""
  while read -r kind rel; do
    case "$kind" in
      tmp) case "$rel" in *".kube-pki-tmp-"*"-\${jnonce:-x}") d=$(dirname -- "$TREE/$rel")
             if r=$(realpath -e -- "$d" 2>/dev/null); then case "$r/" in "$TREE/"*) rm -f -- "$r/$(basename -- "$rel")";; esac; fi;; esac;;
      dir) jdirs="$rel
$jdirs";;
    esac
  done < "$J"
  printf '%s' "$jdirs" | while read -r rel; do [ -n "$rel" ] && [ ! -L "$TREE/$rel" ] && rmdir -- "$TREE/$rel" 2>/dev/null; done
  rm -f -- "$J"
fi
`;

/** Prints `KPKI-FILE <path> <sha256|absent|symlink|directory|other> <mode|absent>` for each path (and `KPKI-OWNER-OF <path> <uid:gid>` for a regular file). */
const STATE_FN = `state() {
  f="$TREE/$1"
  if [ -L "$f" ]; then echo "KPKI-FILE $1 symlink $(stat -c %a -- "$f")"
  elif [ -f "$f" ]; then h=$(sha256sum < "$f") || fail "cannot read $1"; echo "KPKI-FILE $1 \${h%% *} $(stat -c %a -- "$f")"; echo "KPKI-OWNER-OF $1 $(stat -c %u:%g -- "$f")"
  elif [ -d "$f" ]; then echo "KPKI-FILE $1 directory $(stat -c %a -- "$f")"
  elif [ -e "$f" ]; then echo "KPKI-FILE $1 other $(stat -c %a -- "$f")"
  else echo "KPKI-FILE $1 absent absent"; fi
}
`;

/**
 * Inspects a node's files: their hashes and modes computed on the machine (never their contents), every
 * directory on the way checked for confinement, and the temp files an interrupted write left (KPKI-TEMP); with
 * `owner`, the uid:gid it resolves to on the machine (KPKI-WANT-OWNER).
 */
export function inspectProgram(root: string, node: string, paths: string[], owner?: FileOwner): string {
    const lines = [prelude(root, node), ownerSnippet(owner), STATE_FN];
    lines.push(`if [ -L "$TREE" ]; then fail "$TREE is a symlink: node $NODE's tree must be a real directory"; fi`);
    lines.push(`if [ -d "$TREE" ]; then`);
    for (const dir of dirsOf(paths)) lines.push(`  [ -e "$TREE/${dir}" ] && inside "$TREE/${dir}" ${shQuote(`${node}/${dir}`)}`);
    for (const rel of [...paths].sort()) lines.push(`  state ${shQuote(rel)}`);
    lines.push(`  if [ -f "$TREE/${REMOTE_JOURNAL}" ]; then read -r a b n < "$TREE/${REMOTE_JOURNAL}"; grep '^tmp ' "$TREE/${REMOTE_JOURNAL}" | while read -r k rel; do [ -e "$TREE/$rel" ] && echo "KPKI-TEMP $rel"; done; fi`);
    lines.push(`else`);
    for (const rel of [...paths].sort()) lines.push(`  echo "KPKI-FILE ${rel} absent absent"`);
    lines.push(`fi`, `echo KPKI-OK`);
    return lines.join("\n");
}

/** Every directory of the paths (relative to the node), parents first. */
export function dirsOf(paths: string[]): string[] {
    const dirs = new Set<string>();
    for (const rel of paths) {
        const segs = rel.split("/").slice(0, -1);
        for (let i = 1; i <= segs.length; i++) dirs.add(segs.slice(0, i).join("/"));
    }
    return [...dirs].sort((a, b) => a.split("/").length - b.split("/").length || (a < b ? -1 : 1));
}

/** The files grouped by directory (the unit of atomicity), directories and files sorted. */
function unitsOf<T extends { path: string }>(files: T[]): Map<string, T[]> {
    const units = new Map<string, T[]>();
    const dirOf = (rel: string) => (rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : "");
    for (const f of [...files].sort((a, b) => (dirOf(a.path) < dirOf(b.path) ? -1 : dirOf(a.path) > dirOf(b.path) ? 1 : a.path < b.path ? -1 : 1))) {
        units.set(dirOf(f.path), [...(units.get(dirOf(f.path)) ?? []), f]);
    }
    return units;
}

/** The order in which writeProgram reads the files' lines on stdin: directory by directory. */
export function stagingOrder<T extends { path: string }>(files: T[]): T[] {
    return [...unitsOf(files).values()].flat();
}

/**
 * Writes the staged files (stdin: one base64 line per file, in stagingOrder(files)). `dirModes`: relative dir →
 * mode for the directories it may create; `owner`: the files' user and group (names resolved on the machine, a
 * name it does not know refused before anything is written); absent: the writing user's.
 * Output: KPKI-CREATED <dir>, KPKI-UNIT-ERR <dir> <why>, KPKI-RENAMED <path>, then the state of every path of
 * `all` (KPKI-FILE) and KPKI-OK; on a refusal KPKI-ERR <why> and exit 3 with nothing renamed.
 */
export function writeProgram(opts: {
    root: string;
    node: string;
    nonce: string;
    files: PlannedFile[];
    all: string[];
    dirModes: Record<string, number>;
    nodeMode: number;
    owner?: FileOwner;
}): string {
    const { node, nonce, files } = opts;
    for (const f of files) {
        const problem = remotePathProblem(f.path) ?? (parseMode(f.mode) === undefined ? `mode ${JSON.stringify(f.mode)} is not octal` : undefined);
        if (problem) throw new Error(`path ${JSON.stringify(f.path)}: ${problem}`);
        if (!/^[0-9a-f]{64}$/.test(f.sha256)) throw new Error(`path ${JSON.stringify(f.path)}: sha256 is not a hex digest`);
    }
    const tmpOf = (rel: string) => {
        const i = rel.lastIndexOf("/");
        return `${rel.slice(0, i + 1)}.${rel.slice(i + 1)}.kube-pki-tmp-$$-${nonce}`;
    };
    const units = unitsOf(files);
    const out = [prelude(opts.root, node), ownerSnippet(opts.owner), STATE_FN];
    out.push(`OWNER="$WANT"`);
    out.push(`safe_dir "$RROOT"`);
    out.push(`if [ -L "$TREE" ]; then fail "$TREE is a symlink: node $NODE's tree must be a real directory"; fi`);
    out.push(`if [ ! -d "$TREE" ]; then e=$(mkdir -m 700 -- "$TREE" 2>&1) || fail "cannot create $TREE ($(printf '%s' "$e" | sed 's/^mkdir: //')): fix the permissions of the remote root, or connect as root / a sudo user"; chmod ${opts.nodeMode.toString(8)} -- "$TREE"; echo "KPKI-CREATED ."; fi`);
    out.push(`safe_dir "$TREE"`);
    out.push(SWEEP);
    out.push(`J="$TREE/${REMOTE_JOURNAL}"`);
    out.push(`e=$( { printf '%s %s %s\\n' "$$" "$(cut -d' ' -f22 /proc/$$/stat)" ${shQuote(nonce)} > "$J" && sync -- "$J"; } 2>&1 ) || { rm -f -- "$J"; fail "cannot record the write journal in $TREE: $(full_or "$e")"; }`);
    for (const f of files) out.push(`echo "tmp ${tmpOf(f.path)}" >> "$J"`);
    out.push(`sync -- "$J"`);
    out.push(`STAGED=""`);
    out.push(`U_STAGED=""`);
    out.push(`cleanup() { printf '%s%s' "$STAGED" "$U_STAGED" | while read -r t; do [ -n "$t" ] && rm -f -- "$TREE/$t"; done; rm -f -- "$J"; }`);
    out.push(`trap cleanup EXIT`);
    out.push(`trap 'exit 4' HUP INT TERM PIPE`);
    // directories: create what is missing (journaled first), then check each one on the way
    for (const dir of dirsOf(files.map((f) => f.path))) {
        const mode = (opts.dirModes[dir] ?? 0o755).toString(8);
        const label = shQuote(`${node}/${dir}`);
        out.push(`d="$TREE/${dir}"`);
        out.push(`if [ ! -e "$d" ] && [ ! -L "$d" ]; then echo "dir ${dir}" >> "$J"; sync -- "$J"; mkdir -m 700 -- "$d" 2>/dev/null && chmod ${mode} -- "$d" && echo "KPKI-CREATED ${dir}"; fi`);
        out.push(`if [ -e "$d" ] || [ -L "$d" ]; then inside "$d" ${label}; safe_dir "$r"; fi`);
    }
    // stage, unit by unit
    for (const [dir, list] of units) {
        out.push(`U_OK=1; U_STAGED=""; U_ERR=""`);
        out.push(`[ -d "$TREE/${dir}" ] || { U_OK=0; U_ERR="${dir || "."} could not be created"; }`);
        for (const f of list) {
            const tmp = tmpOf(f.path);
            const q = shQuote(f.path);
            out.push(`IFS= read -r line || fail "the sink's input ended early (connection cut?); nothing was renamed"`);
            out.push(`if [ $U_OK = 1 ]; then`);
            out.push(`  if [ -d "$TREE/${f.path}" ] && [ ! -L "$TREE/${f.path}" ]; then U_OK=0; U_ERR=${shQuote(`${f.path} is a directory on the machine; refusing to replace it`)};`);
            out.push(`  elif e=$( { printf '%s' "$line" | base64 -d > "$TREE/${tmp}"; } 2>&1 ); then`);
            out.push(`    U_STAGED="\${U_STAGED}${tmp}\${NL}"`);
            out.push(`    h=$(sha256sum < "$TREE/${tmp}"); [ "\${h%% *}" = ${f.sha256} ] || { U_OK=0; U_ERR=${shQuote(`${f.path}: the staged bytes do not match their sha256 (disk full?)`)}; }`);
            out.push(`    if [ $U_OK = 1 ]; then { [ -z "$OWNER" ] || chown -- "$OWNER" "$TREE/${tmp}"; } && chmod ${parseMode(f.mode)!.toString(8)} -- "$TREE/${tmp}" && sync -- "$TREE/${tmp}" || { U_OK=0; U_ERR=${shQuote(`${f.path}: cannot set owner/mode or sync the staged file`)}; }; fi`);
            out.push(`  else rm -f -- "$TREE/${tmp}"; U_OK=0; U_ERR="${f.path}: $(full_or "$e")"; fi`);
            out.push(`fi`);
        }
        out.push(`if [ $U_OK = 1 ]; then STAGED="$STAGED$U_STAGED"; else printf '%s' "$U_STAGED" | while read -r t; do [ -n "$t" ] && rm -f -- "$TREE/$t"; done; echo "KPKI-UNIT-ERR ${dir || "."} $U_ERR"; fi; U_STAGED=""`);
    }
    // check again, then rename
    for (const dir of dirsOf(files.map((f) => f.path))) out.push(`[ -d "$TREE/${dir}" ] && { inside "$TREE/${dir}" ${shQuote(`${node}/${dir}`)}; safe_dir "$r"; }`);
    out.push(`inside "$TREE" "$NODE"`);
    out.push(`printf '%s' "$STAGED" | while read -r t; do [ -n "$t" ] || continue; f=$(printf '%s' "$t" | sed 's#\\(.*/\\)\\{0,1\\}\\.\\(.*\\)\\.kube-pki-tmp-[0-9]*-${nonce}$#\\1\\2#'); mv -f -- "$TREE/$t" "$TREE/$f" && echo "KPKI-RENAMED $f" || echo "KPKI-UNIT-ERR $(dirname -- "$f") rename failed"; done`);
    for (const dir of new Set(["", ...units.keys()])) out.push(`sync -- "$TREE${dir ? `/${dir}` : ""}" 2>/dev/null || true`);
    out.push(`STAGED=""; rm -f -- "$J"; sync -- "$TREE" 2>/dev/null || true`);
    for (const rel of [...opts.all].sort()) out.push(`state ${shQuote(rel)}`);
    out.push(`echo KPKI-OK`);
    return out.join("\n");
}

/** Removes exactly the given files (regular files or symlinks) and then the created directories when empty. */
export function removeProgram(root: string, node: string, paths: string[], createdDirs: string[]): string {
    const out = [prelude(root, node)];
    out.push(`[ -L "$TREE" ] && fail "$TREE is a symlink: node $NODE's tree must be a real directory"`);
    out.push(`[ -d "$TREE" ] || { echo KPKI-OK; exit 0; }`);
    out.push(SWEEP);
    for (const rel of [...paths].sort()) {
        const dir = rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : "";
        out.push(`if [ -d "$TREE/${dir}" ]; then inside "$TREE/${dir}" ${shQuote(`${node}/${dir}`)}; f="$r/$(basename -- ${shQuote(rel)})"; if [ -L "$f" ] || [ -f "$f" ]; then rm -f -- "$f" && echo "KPKI-REMOVED ${rel}"; fi; fi`);
    }
    const dirs = [...new Set([...createdDirs, ...dirsOf(paths)])].filter((d) => d !== ".").sort((a, b) => b.split("/").length - a.split("/").length);
    for (const d of dirs) out.push(`[ -d "$TREE/${d}" ] && [ ! -L "$TREE/${d}" ] && rmdir -- "$TREE/${d}" 2>/dev/null && echo "KPKI-RMDIR ${d}"`);
    if (createdDirs.includes(".")) out.push(`rmdir -- "$TREE" 2>/dev/null && echo "KPKI-RMDIR ."`);
    out.push(`echo KPKI-OK`);
    return out.join("\n");
}

export interface ProgramResult {
    files: Record<string, { sha256: string; mode: string }>;
    /** uid:gid of each regular file, as the machine says */
    owners: Record<string, string>;
    /** the configured owner resolved on the machine (uid:gid), when one was asked for */
    wantedOwner?: string;
    created: string[];
    renamed: string[];
    removed: string[];
    temps: string[];
    unitErrors: { dir: string; why: string }[];
    error?: string;
    ok: boolean;
}

/** Parses a program's stdout (see the KPKI-* lines above). */
export function parseOutput(stdout: string): ProgramResult {
    const r: ProgramResult = { files: {}, owners: {}, created: [], renamed: [], removed: [], temps: [], unitErrors: [], ok: false };
    for (const line of stdout.split("\n")) {
        const [tag, ...rest] = line.split(" ");
        if (tag === "KPKI-FILE" && rest.length >= 3) {
            const mode = rest.pop() as string;
            const sha256 = rest.pop() as string;
            r.files[rest.join(" ")] = { sha256, mode: mode === "absent" ? mode : mode.padStart(4, "0") };
        } else if (tag === "KPKI-OWNER-OF" && rest.length >= 2) r.owners[rest.slice(0, -1).join(" ")] = rest[rest.length - 1];
        else if (tag === "KPKI-WANT-OWNER") r.wantedOwner = rest[0];
        else if (tag === "KPKI-CREATED") r.created.push(rest.join(" "));
        else if (tag === "KPKI-RENAMED") r.renamed.push(rest.join(" "));
        else if (tag === "KPKI-REMOVED") r.removed.push(rest.join(" "));
        else if (tag === "KPKI-TEMP") r.temps.push(rest.join(" "));
        else if (tag === "KPKI-UNIT-ERR") r.unitErrors.push({ dir: rest[0], why: rest.slice(1).join(" ") });
        else if (tag === "KPKI-ERR") r.error = rest.join(" ");
        else if (tag === "KPKI-OK") r.ok = true;
    }
    return r;
}
