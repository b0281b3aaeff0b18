/**
 * Step consumer-yaml: `pulumi package get-schema` of the component package (provider/) is checked (components, docs,
 * no Any); the Pulumi YAML program examples/yaml (copied as it is) runs `pulumi package add <provider dir>`, uses
 * kube-pki:index:ClusterPki and `pulumi up`s it through the YAML language host (built by tools.sh); secrets stay
 * secret in its state, the nodeFiles output makes a tree kubeadm reads; its config takes the cluster CA through
 * stage → promote → distrust (the component reads its memory, exported by the program as kubePkiMemory, inside the
 * provider).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { freePort } from "../procs";
import { Ctx } from "../steps";
import { cli, componentPackageDir, EXAMPLES_DIR, upAndCheckPackageConsumer } from "./common";

export async function stepConsumerYaml(ctx: Ctx, signal: AbortSignal) {
    const s = ctx.suite;
    const pluginDir = await componentPackageDir(ctx);

    // the schema, as `pulumi package get-schema` prints it
    let started = Date.now();
    const schemaRun = await cli(ctx, ctx.work, ["package", "get-schema", pluginDir], "pulumi-package-get-schema", signal);
    s.info(`pulumi package get-schema: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    let schema: any;
    try {
        schema = JSON.parse(schemaRun.stdout);
    } catch {
        schema = undefined;
    }
    s.check("pulumi package get-schema <provider dir>: a JSON schema named kube-pki", schemaRun.code === 0 && schema?.name === "kube-pki", schemaRun.output.slice(-2000));
    const resources = Object.keys(schema?.resources ?? {}).sort();
    s.equal("schema: the components", resources, ["kube-pki:index:ClusterPki", "kube-pki:index:NodeFiles", "kube-pki:index:RemoteNodeFiles", "kube-pki:index:RootPki"]);
    const undocumented: string[] = [];
    for (const [token, r] of Object.entries<any>(schema?.resources ?? {})) {
        if (!r.description) undocumented.push(token);
        for (const [k, p] of Object.entries<any>({ ...r.inputProperties, ...r.properties })) if (!p.description) undocumented.push(`${token}.${k}`);
    }
    s.check("schema: every component, input and output has a description", undocumented.length === 0, undocumented.join(", "));
    s.check("schema: no `Any` type", !schemaRun.stdout.includes("pulumi.json#/Any"));
    const cp = schema?.resources?.["kube-pki:index:ClusterPki"];
    s.check(
        "schema: ClusterPki takes controlPlanes (ControlPlaneNode[]) and clusterName, returns kubeconfigs, nodeFiles, cloudInit, memory",
        cp?.inputProperties?.controlPlanes?.items?.$ref === "#/types/kube-pki:index:ControlPlaneNode" && (cp?.requiredInputs ?? []).includes("clusterName") && ["kubeconfigs", "nodeFiles", "cloudInit", "memory"].every((k) => k in (cp?.properties ?? {})),
        JSON.stringify(cp ?? {}).slice(0, 1500),
    );

    // a YAML program: pulumi package add, then up
    const apiPort = await freePort();
    const dir = path.join(ctx.work, "consumer-yaml");
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(EXAMPLES_DIR, "yaml/Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    started = Date.now();
    const add = await cli(ctx, dir, ["package", "add", pluginDir], "pulumi-package-add-yaml", signal);
    s.info(`pulumi package add (yaml): ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const projectFile = fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8");
    s.check("consumer-yaml: pulumi package add <provider dir> records kube-pki in Pulumi.yaml", add.code === 0 && /packages:\s*\n\s+kube-pki:/.test(projectFile), `${add.output.slice(-2000)}\n---\n${projectFile.slice(-400)}`);

    await upAndCheckPackageConsumer(ctx, "consumer-yaml", dir, apiPort, {}, signal);
}
