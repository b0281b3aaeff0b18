#!/usr/bin/env bash
# Build and cache the live end-to-end toolchain (Pulumi CLI, Node.js language host, providers, kubeadm,
# kube-apiserver, kubectl, etcd, and the Vault server for the e2e step vault) from Go modules, outside the repository.
#
#   scripts/tools.sh build [name...]   build missing tools into the cache (default: all)
#   scripts/tools.sh path [name...]    print a PATH prefix (colon-separated bin dirs; default: all tools)
#   scripts/tools.sh env [name...]     print export lines: PATH plus the env that keeps Pulumi offline
#   scripts/tools.sh status            show each tool's cache dir, state, build time and size
#   scripts/tools.sh verify            run each tool's version check against tools/versions.env
#   scripts/tools.sh install-plugins [--built] [--quiet]   install the provider plugins into $PULUMI_HOME's plugin cache (offline)
#   scripts/tools.sh prune             delete cache entries no current tool version/wrapper refers to
#   scripts/tools.sh tidy [name...]    go mod tidy a wrapper module (after a version bump; needs the proxy)
#   scripts/tools.sh list              print the tool names
#
# Versions: tools/versions.env (the one place). Wrapper modules: tools/<name>/ (go.mod + go.sum pin every
# dependency). Cache: ${KUBE_PKI_TOOLS_CACHE:-$HOME/.cache/kube-pki/tools}/<name>-<version>-<hash>/bin, where
# <hash> covers the wrapper module's files and the tool's own pins, so editing either rebuilds just that tool. A directory is only used when
# its .complete marker exists; builds go to a temporary directory that is renamed into place at the end.
# Logs: <cache>/logs/<name>-<version>-<hash>.log.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="$ROOT/tools"
CACHE="${KUBE_PKI_TOOLS_CACHE:-$HOME/.cache/kube-pki/tools}"

# shellcheck source=../tools/versions.env
source "$TOOLS_DIR/versions.env"

# pulumi-language-yaml = the Pulumi YAML language host: our main (tools/pulumi-language-yaml) around the served
# github.com/pulumi/pulumi-yaml server, for the YAML consumer of the kube-pki component package (e2e step
# consumer-yaml); its own bin dir, put on PATH by `env`.
# pulumi-language-go = our own Go language host (tools/pulumi-language-go: upstream's module is not on the proxy), for
# the Go consumer (e2e step consumer-go); its own bin dir. Its README lists the RPCs it serves.
# pulumi-language-python = our own Python language host (tools/pulumi-language-python: upstream's module is not on the
# proxy), for the Python consumer (e2e step consumer-python); its own bin dir. Its README lists the RPCs it serves.
# pulumi = the CLI (tools/pulumi) plus the Node.js language host and its shims (tools/pulumi-language-nodejs), in one
# bin directory as in Pulumi's own distribution: the engine expects its bundled plugins next to the pulumi binary
# and warns on every run when it finds them elsewhere on PATH.
# kubelet = k8s.io/kubernetes cmd/kubelet in its own wrapper module (tools/kubelet), for the worker-pool TLS bootstrap
# proof (e2e step pools); separate from `kubernetes` so adding it kept that tool's cache entry valid.
# vault = a slim Vault dev server (tools/vault/main.go around github.com/hashicorp/vault's core: pki, transit), a test
# tool for the e2e step vault only, never shipped.
# s3 = a small S3-compatible server (tools/s3/main.go around github.com/johannesboyne/gofakes3's in-memory backend), a
# test tool for the S3 backend proof (test/backends-s3.spec.ts) only, never shipped.
ALL_TOOLS=(pulumi pulumi-resource-tls pulumi-resource-kubernetes kubernetes kubelet etcd pulumi-language-yaml pulumi-language-go pulumi-language-python vault s3)

# Resource provider plugins: tool name, Pulumi plugin name, version variable.
PROVIDER_TOOLS=(pulumi-resource-tls pulumi-resource-kubernetes)
provider_plugin() {
  case "$1" in
    pulumi-resource-tls) echo "tls $PULUMI_TLS_VERSION" ;;
    pulumi-resource-kubernetes) echo "kubernetes $PULUMI_KUBERNETES_VERSION" ;;
  esac
}

die() { echo "tools.sh: $*" >&2; exit 1; }
log() { echo "tools.sh: $*" >&2; }

# --- per-tool definitions ---------------------------------------------------------------------------------
# tool_version NAME   -> version string used in the cache key
# tool_check NAME     -> "module version" pairs that tools/NAME/go.mod must require (checked before building)
# tool_build NAME OUT -> build the binaries into OUT (a bin directory); runs inside tools/NAME
tool_version() {
  case "$1" in
    pulumi) echo "$PULUMI_VERSION" ;;
    pulumi-resource-tls) echo "$PULUMI_TLS_VERSION" ;;
    pulumi-resource-kubernetes) echo "$PULUMI_KUBERNETES_VERSION" ;;
    kubernetes | kubelet) echo "$KUBERNETES_VERSION" ;;
    etcd) echo "$ETCD_VERSION" ;;
    pulumi-language-yaml) echo "$PULUMI_YAML_VERSION" ;;
    pulumi-language-go) echo "$PULUMI_LANGUAGE_GO_VERSION" ;;
    pulumi-language-python) echo "$PULUMI_LANGUAGE_PYTHON_VERSION" ;;
    vault) echo "$VAULT_VERSION" ;;
    s3) echo "$GOFAKES3_VERSION" ;;
    *) die "unknown tool '$1' (known: ${ALL_TOOLS[*]})" ;;
  esac
}

tool_check() {
  case "$1" in
    pulumi) echo "github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION" ;;
    pulumi-language-nodejs) echo "github.com/pulumi/pulumi/sdk/v3 v$PULUMI_LANGUAGE_NODEJS_VERSION" ;;
    pulumi-resource-tls)
      echo "github.com/hashicorp/terraform-provider-tls $TERRAFORM_PROVIDER_TLS_VERSION"
      echo "github.com/pulumi/pulumi/sdk/v3 v$PULUMI_VERSION"
      ;;
    pulumi-resource-kubernetes)
      echo "github.com/pulumi/pulumi-kubernetes/provider/v4 $PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION"
      ;;
    kubernetes | kubelet)
      echo "k8s.io/kubernetes v$KUBERNETES_VERSION"
      # every staging module is replaced by its published v0.<minor>.<patch> release
      echo "k8s.io/api v0.${KUBERNETES_VERSION#*.}"
      ;;
    etcd)
      echo "go.etcd.io/etcd/server/v3 v$ETCD_VERSION"
      echo "go.etcd.io/etcd/etcdctl/v3 v$ETCD_VERSION"
      ;;
    pulumi-language-yaml)
      echo "github.com/pulumi/pulumi-yaml v$PULUMI_YAML_VERSION"
      # its own pulumi pkg/sdk (pulumi-yaml 1.25.0 does not compile against the CLI's 3.248.0: plugin API changes)
      echo "github.com/pulumi/pulumi/pkg/v3 v$PULUMI_YAML_PULUMI_VERSION"
      ;;
    pulumi-language-go)
      # our host, built with the sdk and pkg of the CLI's version (so it shares the CLI's Go build cache)
      echo "github.com/pulumi/pulumi/sdk/v3 v$PULUMI_LANGUAGE_GO_VERSION"
      echo "github.com/pulumi/pulumi/pkg/v3 v$PULUMI_LANGUAGE_GO_VERSION"
      ;;
    pulumi-language-python)
      # our host, built with the sdk and pkg of the CLI's version (so it shares the CLI's Go build cache)
      echo "github.com/pulumi/pulumi/sdk/v3 v$PULUMI_LANGUAGE_PYTHON_VERSION"
      echo "github.com/pulumi/pulumi/pkg/v3 v$PULUMI_LANGUAGE_PYTHON_VERSION"
      ;;
    vault)
      echo "github.com/hashicorp/vault v$VAULT_VERSION"
      # the api and sdk releases v$VAULT_VERSION was tagged with (its own go.mod replaces them with ./api, ./sdk)
      echo "github.com/hashicorp/vault/api $VAULT_API_VERSION"
      echo "github.com/hashicorp/vault/sdk $VAULT_SDK_VERSION"
      ;;
    s3) echo "github.com/johannesboyne/gofakes3 $GOFAKES3_VERSION" ;;
  esac
}

GOBUILD=(go build -p "${KUBE_PKI_TOOLS_JOBS:-2}" -trimpath)

k8s_ldflags() {
  local v="v$KUBERNETES_VERSION" minor="${KUBERNETES_VERSION#*.}" flags="-s -w" pkg
  minor="${minor%%.*}"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$flags"
}

tool_build() {
  local name="$1" out="$2"
  case "$name" in
    pulumi)
      "${GOBUILD[@]}" -o "$out/pulumi" \
        -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
        github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
      cd "$TOOLS_DIR/pulumi-language-nodejs"
      check_pins pulumi-language-nodejs
      "${GOBUILD[@]}" -o "$out/pulumi-language-nodejs" \
        -ldflags "-s -w -X main.Version=$PULUMI_LANGUAGE_NODEJS_VERSION" .
      # Shims the Node.js SDK needs next to the language host (dynamic providers, policy packs).
      install -m 0755 shims/pulumi-resource-pulumi-nodejs shims/pulumi-analyzer-policy "$out/"
      ;;
    pulumi-resource-tls)
      "${GOBUILD[@]}" -o "$out/pulumi-resource-tls" \
        -ldflags "-s -w -X main.Version=$PULUMI_TLS_VERSION" .
      ;;
    pulumi-resource-kubernetes)
      # Upstream's main embeds schema-embed.json and terraform-mapping-embed.json, which its Makefile makes from the
      # module's schema.json (with the version set) and terraform-mapping.json. Do the same in a scratch copy of the
      # wrapper, so the checkout is never written to.
      local src mod
      src="$(mktemp -d)"; cp go.mod go.sum main.go "$src/"
      # go list -m names the directory only once the module is downloaded (a cold GOMODCACHE has nothing yet)
      go mod download github.com/pulumi/pulumi-kubernetes/provider/v4
      mod="$(go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4)"
      [[ -n "$mod" && -f "$mod/cmd/pulumi-resource-kubernetes/schema.json" ]] || die "pulumi-resource-kubernetes: no schema.json in '$mod'"
      cp "$mod/cmd/pulumi-resource-kubernetes/terraform-mapping.json" "$src/terraform-mapping-embed.json"
      node -e 'const fs = require("fs"); const s = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
        s.version = process.argv[2]; fs.writeFileSync(process.argv[3], JSON.stringify(s));' \
        "$mod/cmd/pulumi-resource-kubernetes/schema.json" "$PULUMI_KUBERNETES_VERSION" "$src/schema-embed.json"
      chmod -R u+w "$src"
      (cd "$src" && "${GOBUILD[@]}" -o "$out/pulumi-resource-kubernetes" \
        -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$PULUMI_KUBERNETES_VERSION" .)
      rm -rf "$src"
      ;;
    kubernetes)
      local ld; ld="$(k8s_ldflags)"
      "${GOBUILD[@]}" -o "$out/kubeadm" -ldflags "$ld" k8s.io/kubernetes/cmd/kubeadm
      "${GOBUILD[@]}" -o "$out/kube-apiserver" -ldflags "$ld" k8s.io/kubernetes/cmd/kube-apiserver
      "${GOBUILD[@]}" -o "$out/kube-controller-manager" -ldflags "$ld" k8s.io/kubernetes/cmd/kube-controller-manager
      "${GOBUILD[@]}" -o "$out/kube-scheduler" -ldflags "$ld" k8s.io/kubernetes/cmd/kube-scheduler
      "${GOBUILD[@]}" -o "$out/kubectl" -ldflags "$ld" k8s.io/kubernetes/cmd/kubectl
      ;;
    kubelet)
      "${GOBUILD[@]}" -o "$out/kubelet" -ldflags "$(k8s_ldflags)" k8s.io/kubernetes/cmd/kubelet
      ;;
    etcd)
      "${GOBUILD[@]}" -o "$out/etcd" -ldflags "-s -w" go.etcd.io/etcd/server/v3
      "${GOBUILD[@]}" -o "$out/etcdctl" -ldflags "-s -w" go.etcd.io/etcd/etcdctl/v3
      ;;
    pulumi-language-yaml)
      # tools/pulumi-language-yaml/main.go: our main around pulumi-yaml's server, plus the Link RPC the CLI needs
      go test -p "${KUBE_PKI_TOOLS_JOBS:-2}" -count=1 .
      "${GOBUILD[@]}" -o "$out/pulumi-language-yaml" \
        -ldflags "-s -w -X github.com/pulumi/pulumi-yaml/pkg/version.Version=v$PULUMI_YAML_VERSION" .
      ;;
    pulumi-language-go)
      # tools/pulumi-language-go: our own host (README.md there); its tests build and run real Go programs, offline
      go test -p "${KUBE_PKI_TOOLS_JOBS:-2}" -count=1 .
      "${GOBUILD[@]}" -o "$out/pulumi-language-go" -ldflags "-s -w -X main.Version=v$PULUMI_LANGUAGE_GO_VERSION" .
      ;;
    pulumi-language-python)
      # tools/pulumi-language-python: our own host (README.md there; runner.py is embedded); its tests need python3
      go test -p "${KUBE_PKI_TOOLS_JOBS:-2}" -count=1 .
      "${GOBUILD[@]}" -o "$out/pulumi-language-python" -ldflags "-s -w -X main.Version=v$PULUMI_LANGUAGE_PYTHON_VERSION" .
      ;;
    vault)
      # tools/vault/main.go: our slim dev server (Vault's core, HTTP API, in-memory storage, the pki and transit
      # engines; not Vault's command package). The version comes from the module's embedded VERSION file; GitCommit
      # names the module version instead of a git checkout.
      "${GOBUILD[@]}" -o "$out/vault" \
        -ldflags "-s -w -X github.com/hashicorp/vault/version.GitCommit=v$VAULT_VERSION" .
      ;;
    s3)
      # tools/s3: our main around gofakes3's in-memory backend; its tests run a real server on a loopback port
      go test -p "${KUBE_PKI_TOOLS_JOBS:-2}" -count=1 .
      "${GOBUILD[@]}" -o "$out/s3" -ldflags "-s -w" .
      ;;
  esac
}

# The version check each tool must pass after a build (prints what it ran; fails on mismatch).
tool_verify() {
  local name="$1" bin="$2" got
  case "$name" in
    pulumi)
      got="$("$bin/pulumi-language-nodejs" --version)"
      [[ "$got" == "$PULUMI_LANGUAGE_NODEJS_VERSION" ]] || die "pulumi-language-nodejs --version: got '$got'"
      got="$("$bin/pulumi" version)"; [[ "$got" == "v$PULUMI_VERSION" ]] || die "pulumi version: got '$got'"
      got="pulumi $got, pulumi-language-nodejs $PULUMI_LANGUAGE_NODEJS_VERSION" ;;
    pulumi-resource-tls)
      got="$("$bin/pulumi-resource-tls" --version)"
      [[ "$got" == "$PULUMI_TLS_VERSION" ]] || die "pulumi-resource-tls --version: got '$got'"
      got="pulumi-resource-tls $got" ;;
    pulumi-resource-kubernetes)
      # The provider has no --version flag. The module version is in the build info; the version it reports is linked
      # in with -X, which -trimpath keeps out of the build info, so check the embedded schema's version instead.
      got="$(go version -m "$bin/pulumi-resource-kubernetes")"
      LC_ALL=C grep -a -q "\"version\":\"$PULUMI_KUBERNETES_VERSION\"" "$bin/pulumi-resource-kubernetes" ||
        die "pulumi-resource-kubernetes: the embedded schema does not say version $PULUMI_KUBERNETES_VERSION"
      [[ "$got" == *"github.com/pulumi/pulumi-kubernetes/provider/v4"*"$PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION"* ]] ||
        die "pulumi-resource-kubernetes: not built from provider/v4 $PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION: $got"
      got="pulumi-resource-kubernetes $PULUMI_KUBERNETES_VERSION (provider/v4 $PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION)" ;;
    kubernetes)
      got="$("$bin/kubeadm" version -o short)"
      [[ "$got" == "v$KUBERNETES_VERSION" ]] || die "kubeadm version: got '$got'"
      got="$("$bin/kube-apiserver" --version)"
      [[ "$got" == "Kubernetes v$KUBERNETES_VERSION" ]] || die "kube-apiserver --version: got '$got'"
      for b in kube-controller-manager kube-scheduler; do
        got="$("$bin/$b" --version)"
        [[ "$got" == "Kubernetes v$KUBERNETES_VERSION" ]] || die "$b --version: got '$got'"
      done
      got="$("$bin/kubectl" version --client -o json)"
      [[ "$got" == *"\"gitVersion\": \"v$KUBERNETES_VERSION\""* ]] || die "kubectl version --client: got '$got'"
      got="kubeadm, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl v$KUBERNETES_VERSION" ;;
    kubelet)
      got="$("$bin/kubelet" --version)"
      [[ "$got" == "Kubernetes v$KUBERNETES_VERSION" ]] || die "kubelet --version: got '$got'"
      got="kubelet v$KUBERNETES_VERSION" ;;
    etcd)
      got="$("$bin/etcd" --version)"; got="${got%%$'\n'*}"
      [[ "$got" == "etcd Version: $ETCD_VERSION" ]] || die "etcd --version: got '$got'"
      got="$("$bin/etcdctl" version)"; got="${got%%$'\n'*}"
      [[ "$got" == "etcdctl version: $ETCD_VERSION" ]] || die "etcdctl version: got '$got'"
      got="etcd, etcdctl $ETCD_VERSION" ;;
    pulumi-language-yaml)
      # No --version flag: the module version is in the build info, the reported one linked in with -X.
      got="$(go version -m "$bin/pulumi-language-yaml")"
      [[ "$got" == *"github.com/pulumi/pulumi-yaml"*"v$PULUMI_YAML_VERSION"* ]] ||
        die "pulumi-language-yaml: not built from pulumi-yaml v$PULUMI_YAML_VERSION: $got"
      LC_ALL=C grep -a -q "v$PULUMI_YAML_VERSION" "$bin/pulumi-language-yaml" ||
        die "pulumi-language-yaml: version v$PULUMI_YAML_VERSION not linked in"
      got="pulumi-language-yaml v$PULUMI_YAML_VERSION (pulumi sdk/pkg v$PULUMI_YAML_PULUMI_VERSION)" ;;
    pulumi-language-go)
      got="$("$bin/pulumi-language-go" -version 2>/dev/null)" # it warns "launching without arguments" on stderr
      [[ "$got" == "v$PULUMI_LANGUAGE_GO_VERSION" ]] || die "pulumi-language-go -version: got '$got'"
      got="pulumi-language-go $got" ;;
    pulumi-language-python)
      got="$("$bin/pulumi-language-python" -version 2>/dev/null)"
      [[ "$got" == "v$PULUMI_LANGUAGE_PYTHON_VERSION" ]] || die "pulumi-language-python -version: got '$got'"
      got="pulumi-language-python $got" ;;
    vault)
      got="$("$bin/vault" version)"
      [[ "$got" == "Vault v$VAULT_VERSION "* ]] || die "vault version: got '$got'"
      got="$got (kube-pki slim dev server: pki, transit; api $VAULT_API_VERSION, sdk $VAULT_SDK_VERSION)" ;;
    s3)
      # the version comes from the binary's build info (nothing is linked in with -X)
      got="$("$bin/s3" version)"
      [[ "$got" == "gofakes3 $GOFAKES3_VERSION" ]] || die "s3 version: got '$got'"
      got="s3 (kube-pki test server) $got" ;;
  esac
  echo "${got%%$'\n'*}"
}

# --- cache layout -----------------------------------------------------------------------------------------
tool_dirs() {
  case "$1" in
    pulumi) echo pulumi pulumi-language-nodejs ;;
    # our Go and Python hosts share tools/hostkit (a go.mod replace): its files are part of both keys
    pulumi-language-go | pulumi-language-python) echo "$1" hostkit ;;
    *) echo "$1" ;;
  esac
}

tool_hash() {
  # Hash of the wrapper modules' files (go.mod, go.sum, sources, shims) and of this tool's own versions from
  # versions.env (not the whole file: bumping or adding one tool must not rebuild the others).
  local d
  for d in $(tool_dirs "$1"); do
    [[ -d "$TOOLS_DIR/$d" ]] || die "missing wrapper module tools/$d"
  done
  (cd "$TOOLS_DIR" && for d in $(tool_dirs "$1"); do find "$d" -type f ! -name '*.md' -print0; done |
     LC_ALL=C sort -z | xargs -0 sha256sum
   echo "version $(tool_version "$1")"
   for d in $(tool_dirs "$1"); do tool_check "$d"; done) | sha256sum | cut -c1-12
}

tool_key() { echo "$1-$(tool_version "$1")-$(tool_hash "$1")"; }
tool_dir() { echo "$CACHE/$(tool_key "$1")"; }
is_built() { [[ -f "$(tool_dir "$1")/.complete" ]]; }

go_env() {
  export GOFLAGS="-mod=mod -buildvcs=false"
  # Never fetch another Go toolchain: fail loudly instead.
  export GOTOOLCHAIN=local
  # go.sum in each wrapper pins every module. These two are absent from the checksum database mirror reachable
  # here, so they are verified against the committed go.sum alone.
  export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/pulumi/pulumi/pkg,github.com/hashicorp/terraform-provider-tls"
  export CGO_ENABLED="${CGO_ENABLED:-0}"
}

check_pins() {
  local name="$1" mod ver got
  while read -r mod ver; do
    [[ -n "$mod" ]] || continue
    got="$(cd "$TOOLS_DIR/$name" && go list -m -f '{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}' "$mod" 2>&1)" ||
      die "$name: cannot resolve $mod in tools/$name/go.mod: $got"
    [[ "$got" == "$ver" ]] ||
      die "$name: tools/$name/go.mod has $mod $got but tools/versions.env wants $ver (edit go.mod, then scripts/tools.sh tidy $name)"
  done < <(tool_check "$name")
}

build_one() {
  local name="$1" key dir tmp logf start end rc
  key="$(tool_key "$name")"; dir="$CACHE/$key"
  if [[ -f "$dir/.complete" ]]; then
    log "$name: cached in $dir"
    return 0
  fi
  mkdir -p "$CACHE/logs"
  logf="$CACHE/logs/$key.log"
  exec 9>"$CACHE/.lock-$name"
  flock 9
  if [[ -f "$dir/.complete" ]]; then # built by a concurrent run while we waited
    exec 9>&-
    log "$name: cached in $dir"
    return 0
  fi
  [[ -e "$dir" ]] && rm -rf "$dir" # a half-built or stale directory is never reused
  tmp="$(mktemp -d "$CACHE/.tmp-$key.XXXXXX")"
  mkdir -p "$tmp/bin"
  log "$name: building $(tool_version "$name") (log: $logf)"
  start=$(date +%s)
  # Not "( ... ) || rc=$?": bash ignores set -e inside a subshell that is the left side of ||.
  set +e
  (
    set -euo pipefail
    go_env
    cd "$TOOLS_DIR/$name"
    echo "== $(date -u +%FT%TZ) building $key with $(go version)"
    check_pins "$name"
    tool_build "$name" "$tmp/bin"
    echo "== verify"
    tool_verify "$name" "$tmp/bin"
  ) >"$logf" 2>&1
  rc=$?
  set -e
  end=$(date +%s)
  if [[ $rc -ne 0 ]]; then
    rm -rf "$tmp"
    exec 9>&-
    echo "tools.sh: FAILED to build $name (exit $rc); log: $logf" >&2
    tail -n 30 "$logf" | sed 's/^/  | /' >&2
    return "$rc"
  fi
  {
    echo "name=$name"
    echo "version=$(tool_version "$name")"
    echo "build_seconds=$((end - start))"
    echo "built_at=$(date -u +%FT%TZ)"
    echo "go=$(go version | cut -d' ' -f3)"
  } >"$tmp/.complete"
  mv -T "$tmp" "$dir"
  exec 9>&-
  log "$name: built in $((end - start))s -> $dir/bin"
}

cmd_build() {
  local names=("$@") n failed=()
  [[ ${#names[@]} -gt 0 ]] || names=("${ALL_TOOLS[@]}")
  command -v go >/dev/null || die "go is not on PATH (expected /usr/local/go/bin)"
  command -v flock >/dev/null || die "flock (util-linux) is required"
  mkdir -p "$CACHE"
  local rc
  for n in "${names[@]}"; do
    tool_version "$n" >/dev/null
    set +e
    (set -e; build_one "$n") # a subshell with set -e in force (it would be ignored under ||)
    rc=$?
    set -e
    [[ $rc -eq 0 ]] || failed+=("$n")
  done
  [[ ${#failed[@]} -eq 0 ]] || die "failed: ${failed[*]} (logs in $CACHE/logs/)"
}

cmd_path() {
  local n parts=() missing=() names=("$@")
  [[ ${#names[@]} -gt 0 ]] || names=("${ALL_TOOLS[@]}")
  for n in "${names[@]}"; do
    if is_built "$n"; then parts+=("$(tool_dir "$n")/bin"); else missing+=("$n"); fi
  done
  [[ ${#missing[@]} -eq 0 ]] || die "not built: ${missing[*]} (run scripts/tools.sh build)"
  (IFS=:; echo "${parts[*]}")
}

cmd_env() {
  local p
  p="$(cmd_path "$@")"
  echo "export PATH=\"$p:\$PATH\""
  # Keep the Pulumi CLI offline: no update check, never download plugins (they are on PATH, where the engine
  # looks for ambient plugins before its plugin cache, as long as PULUMI_IGNORE_AMBIENT_PLUGINS is unset).
  echo "export PULUMI_SKIP_UPDATE_CHECK=true"
  echo "export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true"
  echo "unset PULUMI_IGNORE_AMBIENT_PLUGINS"
}

cmd_status() {
  local n dir size secs
  for n in "${ALL_TOOLS[@]}"; do
    dir="$(tool_dir "$n")"
    if [[ -f "$dir/.complete" ]]; then
      size="$(du -sh "$dir" | cut -f1)"
      secs="$(sed -n 's/^build_seconds=//p' "$dir/.complete")"
      printf '%-24s built  %6s  %5ss  %s\n' "$n" "$size" "$secs" "$dir"
    else
      printf '%-24s MISSING                %s\n' "$n" "$dir"
    fi
  done
  [[ -d "$CACHE" ]] && echo "cache total: $(du -sh "$CACHE" | cut -f1) in $CACHE"
}

cmd_verify() {
  local n
  for n in "${ALL_TOOLS[@]}"; do
    is_built "$n" || die "$n is not built"
    printf '%-24s ' "$n"
    tool_verify "$n" "$(tool_dir "$n")/bin"
  done
}

# Install the provider plugins into the Pulumi plugin cache ($PULUMI_HOME/plugins, default ~/.pulumi/plugins)
# from the local builds, offline (`pulumi plugin install --file`). The engine then resolves them by exact version
# without the "using pulumi-resource-tls from $PATH" warning it prints for every ambient plugin; use it with
# `env` for the non-provider tools only, e.g. eval "$(scripts/tools.sh env pulumi kubernetes etcd)".
# Flags: --built installs the providers that are built and skips the others (default: all must be built);
# --quiet says nothing about plugins already installed.
cmd_install_plugins() {
  local t plugin version bin pulumi_bin home dest built_only=0 quiet=0 a
  for a in "$@"; do
    case "$a" in
      --built) built_only=1 ;;
      --quiet) quiet=1 ;;
      *) die "install-plugins: unknown flag $a (known: --built, --quiet)" ;;
    esac
  done
  is_built pulumi || die "pulumi is not built"
  pulumi_bin="$(tool_dir pulumi)/bin/pulumi"
  home="${PULUMI_HOME:-$HOME/.pulumi}"
  for t in "${PROVIDER_TOOLS[@]}"; do
    if ! is_built "$t"; then
      ((built_only)) || die "$t is not built"
      continue
    fi
    read -r plugin version < <(provider_plugin "$t")
    bin="$(tool_dir "$t")/bin/$t"
    dest="$home/plugins/resource-$plugin-v$version/$t"
    if [[ -f "$dest" ]] && cmp -s "$bin" "$dest"; then
      ((quiet)) || log "$plugin $version: already in $home/plugins"
      continue
    fi
    PULUMI_SKIP_UPDATE_CHECK=true "$pulumi_bin" plugin install resource "$plugin" "$version" --file "$bin" --reinstall >&2 ||
      die "pulumi plugin install resource $plugin $version --file $bin failed"
    log "$plugin $version: installed into $home/plugins"
  done
}

# Remove cache entries (and logs) that no current tool key refers to.
cmd_prune() {
  local keep=() n e base
  for n in "${ALL_TOOLS[@]}"; do keep+=("$(tool_key "$n")"); done
  [[ -d "$CACHE" ]] || return 0
  for e in "$CACHE"/* "$CACHE"/.tmp-* "$CACHE"/logs/*.log; do
    [[ -e "$e" ]] || continue
    base="$(basename "$e" .log)"
    [[ "$base" == logs ]] && continue
    base="${base#.tmp-}"
    [[ " ${keep[*]} " == *" ${base%.*} "* || " ${keep[*]} " == *" $base "* ]] && continue
    log "removing $e"
    rm -rf "$e"
  done
}

cmd_tidy() {
  local names=("$@") n
  [[ ${#names[@]} -gt 0 ]] || names=("${ALL_TOOLS[@]}")
  go_env
  local d
  for n in "${names[@]}"; do
    for d in $(tool_dirs "$n"); do
      log "tools/$d: go mod tidy"
      (cd "$TOOLS_DIR/$d" && go mod tidy)
    done
  done
}

# Everything runs from main, so the whole file is parsed before anything runs (editing it mid-build is safe).
main() {
  case "${1:-}" in
    build) shift; cmd_build "$@" ;;
    path) shift; cmd_path "$@" ;;
    env) shift; cmd_env "$@" ;;
    status) cmd_status ;;
    verify) cmd_verify ;;
    tidy) shift; cmd_tidy "$@" ;;
    install-plugins) shift; cmd_install_plugins "$@" ;;
    prune) cmd_prune ;;
    list) printf '%s\n' "${ALL_TOOLS[@]}" ;;
    *) sed -n '2,19p' "$0" >&2; exit 2 ;;
  esac
}

main "$@"; exit $?
