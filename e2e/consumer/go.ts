import * as fs from "node:fs";
import * as path from "node:path";
import { freePort, runOk } from "../procs";
import { Ctx } from "../steps";
import { cli, componentPackageDir, EXAMPLES_DIR, nodeFilesSinkChecks, pulumiVersion, upAndCheckPackageConsumer } from "./common";

/**
 * Step consumer-go: a Go program in a temp dir (go.mod requiring the pulumi Go SDK of the CLI's version, main.go,
 * Pulumi.yaml `runtime: go`) runs `pulumi package add <provider dir>` through the Go language host (tools.sh builds
 * it): the host generates the kubepki SDK into sdks/, links it with a go.mod replace and runs `go mod tidy`, which
 * fetches the pulumi SDK's modules from the Go module proxy into the tools' module cache. Then the checks of every
 * package consumer (upAndCheckPackageConsumer), plus the NodeFiles sink the program creates per node (served by the
 * component package): its trees have the map's modes; each `up` compiles the program with `go build`.
 */
export async function stepConsumerGo(ctx: Ctx, signal: AbortSignal) {
    const s = ctx.suite;
    const pluginDir = await componentPackageDir(ctx);
    // the Go module cache of scripts/tools.sh (the environment's), named explicitly; never another Go toolchain
    const gomodcache = (await runOk("go", ["env", "GOMODCACHE"], { env: ctx.env, log: "consumer-go-env" })).stdout.trim();
    const goEnv = { GOMODCACHE: gomodcache, GOTOOLCHAIN: "local", GOFLAGS: "-mod=mod" };
    const dir = path.join(ctx.work, "consumer-go");
    fs.mkdirSync(dir, { recursive: true });
    // examples/go, run as it is (so the example cannot rot); its go.mod must pin the pulumi Go SDK of the CLI's version
    for (const f of ["Pulumi.yaml", "go.mod", "main.go"]) fs.copyFileSync(path.join(EXAMPLES_DIR, "go", f), path.join(dir, f));
    const pinned = /^require github\.com\/pulumi\/pulumi\/sdk\/v3 v(\S+)$/m.exec(fs.readFileSync(path.join(dir, "go.mod"), "utf8"))?.[1];
    s.check(`consumer-go: examples/go/go.mod requires the pulumi Go SDK of the CLI's version (${pulumiVersion()})`, pinned === pulumiVersion(), `go.mod pins ${pinned}`);

    const started = Date.now();
    const add = await cli(ctx, dir, ["package", "add", pluginDir], "pulumi-package-add-go", signal, goEnv);
    s.info(`pulumi package add (go, module cache ${gomodcache}): ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const gomod = fs.readFileSync(path.join(dir, "go.mod"), "utf8");
    s.check(
        "consumer-go: pulumi package add generated the kubepki Go SDK, replaced its module with it in go.mod and recorded kube-pki in Pulumi.yaml",
        add.code === 0 && fs.existsSync(path.join(dir, "sdks/kube-pki-kube-pki/kubepki/clusterPki.go")) && /replace github\.com\/kube-pki\/pulumi-kube-pki\/sdk\/go => \.\/sdks\//.test(gomod) && /packages:\s*\n\s+kube-pki:/.test(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")),
        `${add.output.slice(-2000)}\n---\n${gomod.slice(0, 600)}`,
    );
    await upAndCheckPackageConsumer(ctx, "consumer-go", dir, await freePort(), goEnv, signal, nodeFilesSinkChecks(ctx, "consumer-go"));
}
