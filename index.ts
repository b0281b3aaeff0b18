/**
 * The kube-pki Pulumi program. `kube-pki:role` picks what a stack is:
 *  - "cluster" (default): one cluster's PKI; self-contained, or under a root stack named by `kube-pki:rootStack`;
 *  - "root": the shared root CA; it signs the intermediate CSRs of the clusters listed in `kube-pki:clusters`.
 * Between the two only CSRs and certificates cross (docs/multi-stack.md): no private key is an output of either.
 * Library users import `./components` instead (see docs/library.md).
 */
import * as pulumi from "@pulumi/pulumi";
import {
    ClusterPki,
    clusterConfigKeys,
    ConfigError,
    configKeyProblems,
    MEMORY_OUTPUT,
    memoryOf,
    parseClusterPkiArgs,
    prepareClusterPki,
    IntermediateRequests,
    planIntermediates,
    previousOutput,
    Problems,
    readClusterRequests,
    readPreviousRoot,
    readRootStack,
    REQUESTS_OUTPUT,
    POLICY_OUTPUT,
    validateKeys,
    RootPki,
    STACK_CONFIG_KEYS,
    WHAT_IF_CLOCK_ENV,
    withPreviousRun,
    workerPoolOutputs,
    controlPlaneKubeadmFragment,
} from "./components/internal";
import { buildSinks, nodeStackOutputs, readSinksConfig, SINK_CONFIG_KEYS, sinksConfigProblems } from "./components/sinks";

const PROGRAM_KEYS = ["role", "rootStack", "rootCa", "clusters", ...SINK_CONFIG_KEYS];

type RootCluster = { name: string; stack?: string };

const ROOT_KEYS = ["role", "rootCa", "clusters", "allowRemoveClusters"];

/** Where a stack's config lives, for messages. */
const configContext = () => `config of stack "${pulumi.getStack()}" (stacks/Pulumi.${pulumi.getStack()}.yaml)`;

/** `workers[1].name: ...` → `kube-pki:workers[1].name: ...`: problems name the key as it is written in the stack file. */
function asConfigKey(problem: string): string {
    const key = /^([A-Za-z]+)(?=[[.:])/.exec(problem)?.[1];
    return key && key in STACK_CONFIG_KEYS ? `kube-pki:${problem}` : problem;
}

async function rootStack(config: pulumi.Config) {
    // Pulumi.yaml's typed cluster keys are set on every stack (with their defaults): known here too, and unused.
    const keyProblems = configKeyProblems(config, [...ROOT_KEYS, ...clusterConfigKeys(PROGRAM_KEYS)]);
    if (config.get("clusters") === undefined) {
        keyProblems.push('kube-pki:clusters: is required on a root stack (the clusters to issue intermediates for, e.g. [{name: prod, cas: [ca, etcd-ca, front-proxy-ca]}])');
    }
    if (keyProblems.length) throw new ConfigError(configContext(), keyProblems);
    const clusters = config.requireObject<RootCluster[]>("clusters");
    const previous = await readPreviousRoot(undefined, "root");
    // the CSRs each cluster stack publishes (plain outputs: this stack need not decrypt the cluster's secrets)
    const requests: Record<string, Awaited<ReturnType<typeof readClusterRequests>>> = {};
    for (const c of Array.isArray(clusters) ? clusters : []) {
        if (c && typeof c.name === "string") requests[c.name] = await readClusterRequests(c.stack ?? `organization/${pulumi.getProject()}/${c.name}`);
    }
    const root = new RootPki("root", {
        ...(config.getObject<object>("rootCa") ?? {}),
        clusters,
        requests: Object.fromEntries(Object.entries(requests).filter(([, r]) => r !== undefined)) as Record<string, Record<string, { generation: number; csrPem: string }[]>>,
        // what the previous run issued: dropping an intermediate is refused unless allowRemoveClusters lists it
        previousIntermediates: previous.intermediates,
        previousKeyInRoot: previous.keyInRoot,
        allowRemoveClusters: config.getObject<string[]>("allowRemoveClusters"),
    });
    const stackOf = (key: string) => root.signingPolicy[key.split("/")[0]].stack;
    const nextSteps = [
        ...root.awaitingRequests.map((k) => `${k}: no CSR from stack ${stackOf(k)} yet: run \`up\` on ${stackOf(k)}, then \`up\` here again`),
        ...root.newlySigned.map((k) => `${k}: signed: run \`up\` on ${stackOf(k)} (it takes the certificate)`),
    ];
    for (const line of nextSteps) pulumi.log.warn(`kube-pki: ${line}`);
    return {
        role: "root",
        rootCertificate: root.rootCertificate,
        /** cluster → CA id → [{generation, certPem}] (keyPem, secret, only on generations issued before the CSR handoff) */
        intermediates: root.intermediates,
        /** cluster → {stack, cas: CA id → {commonName, generations, byCsr, keyAlgorithms}}: what each cluster requests */
        [POLICY_OUTPUT]: root.signingPolicy,
        awaitingRequests: root.awaitingRequests,
        /** The RootPki's memory (the issued generations), read back by the next run. */
        [MEMORY_OUTPUT]: memoryOf(root),
    };
}

async function clusterStack(config: pulumi.Config) {
    // One pass over everything the stack config says: unknown keys and unparsable values, the validation of
    // everything that parsed (once: the component reuses it), the what-if clock rule and the sink config against the
    // names the PKI will have; all of it before any resource is registered.
    const { args: parsed, problems } = parseClusterPkiArgs(config, PROGRAM_KEYS);
    const sinksConfig = readSinksConfig(config);
    // "What rotates on date D": KUBE_PKI_NOW overrides the clock (a preview; `up` refuses a clock far from real time).
    if (process.env[WHAT_IF_CLOCK_ENV]) parsed.now = process.env[WHAT_IF_CLOCK_ENV];
    const name = parsed.clusterName ?? pulumi.getStack();
    // The root stack's intermediates are validated with the rest (their generations against caRotation); a root
    // stack that cannot be read is reported after the stack's own config problems.
    const rootStackName = config.get("rootStack");
    let root: Awaited<ReturnType<typeof readRootStack>> | undefined;
    let rootError: unknown;
    let plan: ReturnType<typeof planIntermediates> | undefined;
    // the intermediate keys are created after every check passed; the plan refers to them through `lateKeys`
    const lateKeys: Record<string, pulumi.Output<string>> = {};
    let keysReady!: () => void;
    const keysCreated = new Promise<void>((resolve) => (keysReady = resolve));
    if (rootStackName) {
        try {
            root = await readRootStack(rootStackName, parsed.clusterName ?? name);
            const keys = validateKeys(parsed as Parameters<typeof validateKeys>[0], new Problems()) as unknown as Record<string, string>;
            const published = (await previousOutput(REQUESTS_OUTPUT)) as Parameters<typeof planIntermediates>[3];
            plan = planIntermediates(rootStackName, root, keys, published, (ca, g) => pulumi.secret(pulumi.output(keysCreated.then(() => lateKeys[`${ca}/${g}`]))));
            problems.push(...plan.problems);
            parsed.externalCas = plan.externalCas;
        } catch (e) {
            rootError = e;
        }
    }
    // The memory the previous run exported (kubePkiMemory, or the flat outputs of an older program).
    const firstCreation = rootStackName !== undefined && ((await previousOutput(MEMORY_OUTPUT)) as Record<string, unknown> | undefined)?.[name] === undefined;
    if (plan && firstCreation && plan.unsigned.length && !problems.length) {
        // First creation under a root: publish the CSRs; the PKI is built once the root has signed them.
        const requests = new IntermediateRequests(`${name}-intermediates`, { clusterName: name, requests: plan.requests });
        const next = `run \`up\` on the root stack ${rootStackName}, then \`up\` here again`;
        pulumi.log.warn(`kube-pki: published the CSRs of ${plan.unsigned.join(", ")}; not signed by ${rootStackName} yet: ${next}`);
        return { role: "cluster", clusterName: name, [REQUESTS_OUTPUT]: requests.csrs, awaitingSignature: plan.unsigned, nextStep: next };
    }
    const args = await withPreviousRun(name, parsed, { program: true });
    try {
        const { names } = prepareClusterPki(name, args);
        problems.push(...sinksConfigProblems(names, sinksConfig));
    } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        problems.push(...e.problems);
    }
    if (problems.length) {
        if (plan?.unsigned.length) problems.push(`(root stack ${rootStackName} has not signed ${plan.unsigned.join(", ")} for this stack's keys yet: run \`up\` on it first)`);
        throw new ConfigError(configContext(), problems.map(asConfigKey));
    }
    if (rootError) throw rootError;
    let requests: IntermediateRequests | undefined;
    if (plan) {
        requests = new IntermediateRequests(`${name}-intermediates`, { clusterName: name, requests: plan.requests });
        Object.assign(lateKeys, requests.keys);
        keysReady();
        if (plan.unsigned.length) {
            pulumi.log.warn(`kube-pki: published the CSRs of ${plan.unsigned.join(", ")}; run \`up\` on the root stack ${rootStackName}, then \`up\` here again`);
        }
    }
    const rootCertificate = root?.rootCertificate;
    const pki = new ClusterPki(name, args);
    // Sinks: node file trees, cloud-init documents, Kubernetes Secrets (each only when configured).
    const sinks = buildSinks(pki.config.clusterName, pki, sinksConfig);
    return {
        role: "cluster",
        clusterName: pki.config.clusterName,
        ...(rootCertificate ? { rootCertificate } : {}),
        ...(requests ? { [REQUESTS_OUTPUT]: requests.csrs, awaitingSignature: plan!.unsigned } : {}),
        caCertificates: pki.caCertificates,
        trustBundles: pki.trustBundles,
        serviceAccountPublicKey: pki.serviceAccountPublicKey,
        // kubeconfigs (secret: admin.conf, users/<name>.conf, <node>/kubelet.conf, ...) and nodeFiles (per node: path →
        // {content, mode, secret}); the contents of nodes the NodeFiles sink writes are not repeated here, their
        // trees are named by nodeDirectories and fingerprinted by nodeFileHashes (components/sinks/stack-outputs.ts)
        ...nodeStackOutputs(pki, Object.fromEntries(Object.entries(sinks.nodeFiles).map(([node, sink]) => [node, sink.directory]))),
        inventory: pki.inventory,
        rotationState: pki.rotationState,
        rotationTokens: pki.rotationTokens,
        nextRotation: pki.nextRotation,
        workerPoolTokens: pki.workerPoolTokens,
        /** The component's memory, read back by the next run (the five outputs above are kept for readers of the stack). */
        [MEMORY_OUTPUT]: memoryOf(pki),
        ...(Object.keys(pki.workerPools).length
            ? { workerPools: workerPoolOutputs(pki), workerPoolControlPlaneConfig: controlPlaneKubeadmFragment() }
            : {}),
        nodeFileHashes: Object.fromEntries(Object.entries(sinks.nodeFiles).map(([node, sink]) => [node, sink.hashes])),
        ...(Object.keys(sinks.cloudInit).length ? { cloudInit: sinks.cloudInit } : {}), // secret
        ...(sinks.secrets ? { kubernetesObjects: sinks.secrets.names } : {}),
    };
}

export = async () => {
    const config = new pulumi.Config();
    const role = config.get("role") ?? "cluster";
    if (role === "root") return rootStack(config);
    if (role === "cluster") return clusterStack(config);
    throw new ConfigError("stack config", [`kube-pki:role: "${role}" is not a role (use "cluster" or "root")`]);
};
