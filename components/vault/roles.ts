/**
 * VaultRoles / vaultRolesFromCatalog: one `SecretBackendRole` per catalog leaf kind of a CA, derived from the same
 * table as local issuance (CN/O, key usages, EKU flags, key type, TTLs). See docs/vault.md.
 */
import * as pulumi from "@pulumi/pulumi";
import * as vault from "@pulumi/vault";
import { LEAF_KEY_USAGES, LeafEntry, LEAVES } from "../catalog";
import { ConfigError } from "../validation/problems";
import { providerOpts, seconds, VAULT_KEY_USAGE, vaultKeyParams } from "./common";

/** An extra user of the `user` catalog kind (one Vault role per group: the role fixes the O). */
export interface VaultRoleUser {
    name: string;
    group?: string;
    validityHours?: number;
}

export interface VaultRolesArgs {
    /** Roles are made for the catalog leaves whose `ca` is this id. */
    caId: string;
    mountPath: pulumi.Input<string>;
    /** Leaf key algorithm (kubeadm name): the role's key_type / key_bits (Vault generates leaf keys). */
    keyAlgorithm: string;
    /** Default leaf validity (role ttl). */
    validityHours: number;
    /** Role max_ttl; default validityHours (a longer request is capped by Vault, with a warning). */
    maxValidityHours?: number;
    /** Issuer the roles sign with (an issuer id); default "default" (the mount's default issuer). */
    issuerRef?: pulumi.Input<string>;
    /** Optional features (catalog `feature`) that are on; entries of a feature that is off get no role. Default: all on. */
    features?: Record<string, boolean>;
    /** Node names `{node}` stands for; without them `{node}` is the glob `*` (e.g. `system:node:*`). */
    nodeNames?: string[];
    /**
     * The exact DNS SANs a leaf kind may carry, by leaf id (e.g. apiserver: node names, kubernetes.default.svc...,
     * the endpoint host, extra SANs). Without it the apiserver role allows any DNS SAN (`*`).
     */
    allowedDnsSans?: Record<string, string[]>;
    /** Extra users: one role per group (`kube-pki-user-<group>`), allowing exactly these users' names as CN. */
    users?: VaultRoleUser[];
    /** Vault `no_store`: do not keep issued certificates in Vault storage (no revocation by serial then). */
    noStore?: boolean;
    provider?: vault.Provider;
}

/** A SecretBackendRole's arguments as plain data (what `VaultRoles` registers). */
export interface VaultRoleSpec {
    /** Key in `VaultRoles.roles`: the leaf id, or `user/<group>` (`user` for users without a group). */
    key: string;
    leafId: string;
    name: string;
    allowedDomains: string[];
    allowBareDomains: boolean;
    allowGlobDomains: boolean;
    allowSubdomains: boolean;
    allowAnyName: boolean;
    allowWildcardCertificates: boolean;
    allowLocalhost: boolean;
    enforceHostnames: boolean;
    allowIpSans: boolean;
    serverFlag: boolean;
    clientFlag: boolean;
    codeSigningFlag: boolean;
    emailProtectionFlag: boolean;
    keyUsages: string[];
    organizations: string[];
    keyType: string;
    keyBits: number;
    ttl: string;
    maxTtl: string;
    notBeforeDuration: string;
    noStore: boolean;
    requireCn: boolean;
}

/** A Vault role name for a catalog leaf id (and user group): `kube-pki-<id>[-<group>]`, [A-Za-z0-9_-] only. */
export function vaultRoleName(leafId: string, group?: string): string {
    const raw = `kube-pki-${leafId}${group ? `-${group}` : ""}`;
    return raw.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/-+/g, "-").replace(/-$/, "");
}

const HOSTNAME = /^([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(\.([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*$/;
const unique = (xs: string[]) => [...new Set(xs)];

/**
 * One role spec per catalog leaf kind of `caId` (users: one per group). Pure: no resources.
 * CN patterns come from the CN template (`{node}` → the node names or `*`, `{user}` → the users' names); DNS SAN
 * patterns from the SAN set; O from the O template; server/client flags from the extended usages; key usages
 * DigitalSignature + KeyEncipherment (kubeadm leaves); hostname enforcement only when every allowed name is a
 * hostname (not for `system:...` names).
 */
export function vaultRolesFromCatalog(args: Omit<VaultRolesArgs, "mountPath" | "provider" | "issuerRef">): VaultRoleSpec[] {
    const { keyType, keyBits } = vaultKeyParams(args.keyAlgorithm);
    const nodes = args.nodeNames && args.nodeNames.length > 0 ? args.nodeNames : ["*"];
    const specs: VaultRoleSpec[] = [];
    const entries = LEAVES.filter((e) => e.ca === args.caId && (!e.feature || args.features?.[e.feature] !== false));

    const make = (
        entry: LeafEntry,
        key: string,
        cns: string[],
        organization: string | undefined,
        group: string | undefined,
        maxHours: number,
        ttlHours = Math.min(args.validityHours, maxHours),
    ): VaultRoleSpec => {
        let dns: string[] = [];
        if (entry.sans) {
            const explicit = args.allowedDnsSans?.[entry.id];
            if (explicit) dns = explicit;
            else if (entry.sans === "etcd") dns = [...nodes, "localhost"];
            else if (entry.sans === "kubelet-serving") dns = [...nodes];
            else dns = ["*"]; // apiserver: cluster-specific names unknown here
        }
        const allowed = unique([...cns, ...dns]);
        const hostnameLike = entry.commonName !== "{user}" && allowed.every((p) => HOSTNAME.test(p.replace(/\*/g, "x")));
        return {
            key,
            leafId: entry.id,
            name: vaultRoleName(entry.id, group),
            allowedDomains: allowed,
            allowBareDomains: true,
            allowGlobDomains: allowed.some((p) => p.includes("*")),
            allowSubdomains: false,
            allowAnyName: false,
            // only for explicit wildcard SANs such as apiServerExtraSans "*.example.com"
            allowWildcardCertificates: allowed.some((p) => p.startsWith("*.")),
            allowLocalhost: dns.includes("localhost"),
            enforceHostnames: hostnameLike,
            allowIpSans: !!entry.sans,
            serverFlag: entry.extendedUsages.includes("server_auth"),
            clientFlag: entry.extendedUsages.includes("client_auth"),
            codeSigningFlag: false,
            emailProtectionFlag: false,
            keyUsages: LEAF_KEY_USAGES.map((u) => VAULT_KEY_USAGE[u]),
            organizations: organization ? [organization] : [],
            keyType,
            keyBits,
            ttl: seconds(ttlHours),
            maxTtl: seconds(maxHours),
            notBeforeDuration: "0s",
            noStore: args.noStore ?? false,
            requireCn: true,
        };
    };

    const maxDefault = Math.max(args.maxValidityHours ?? args.validityHours, args.validityHours);
    for (const entry of entries) {
        if (entry.scope === "user") {
            const byGroup = new Map<string, VaultRoleUser[]>();
            for (const u of args.users ?? []) byGroup.set(u.group ?? "", [...(byGroup.get(u.group ?? "") ?? []), u]);
            for (const [group, users] of byGroup) {
                // the group's longest user validity: ttl and max_ttl (a user certificate asks for its own validity)
                const hours = Math.max(...users.map((u) => u.validityHours ?? args.validityHours));
                specs.push(make(entry, group ? `user/${group}` : "user", unique(users.map((u) => u.name)), group || undefined, group || undefined, hours, hours));
            }
            continue;
        }
        const cns = entry.commonName.includes("{node}") ? nodes.map((n) => entry.commonName.replace("{node}", n)) : [entry.commonName];
        specs.push(make(entry, entry.id, unique(cns), entry.organization, undefined, maxDefault));
    }
    const seen = new Map<string, string>();
    for (const s of specs) {
        const other = seen.get(s.name);
        if (other) throw new ConfigError("Vault roles", [`users: role name "${s.name}" is shared by ${other} and ${s.key} (rename a group)`]);
        seen.set(s.name, s.key);
    }
    return specs;
}

/** One Vault role per catalog leaf kind of a CA. `roleNames` are the names VaultLeafCertificate requests against. */
export class VaultRoles extends pulumi.ComponentResource {
    public readonly specs: VaultRoleSpec[];
    public readonly roles: Record<string, vault.pkisecret.SecretBackendRole> = {};
    /** By spec key (leaf id or `user/<group>`): the role name, as an Output that depends on the role. */
    public readonly roleNames: Record<string, pulumi.Output<string>> = {};

    constructor(name: string, args: VaultRolesArgs, opts?: pulumi.ComponentResourceOptions) {
        const specs = vaultRolesFromCatalog(args);
        super("kube-pki:index:VaultRoles", name, {}, opts);
        this.specs = specs;
        const vopts = providerOpts(this, args.provider);
        for (const spec of specs) {
            const { key, leafId, organizations, ...rest } = spec;
            void leafId;
            const role = new vault.pkisecret.SecretBackendRole(
                `${name}-${key.replace("/", "-")}`,
                {
                    backend: args.mountPath,
                    ...rest,
                    ...(organizations.length > 0 ? { organizations } : {}),
                    ...(args.issuerRef !== undefined ? { issuerRef: args.issuerRef } : {}),
                },
                vopts,
            );
            this.roles[key] = role;
            this.roleNames[key] = role.name;
        }
        this.registerOutputs({ roleNames: this.roleNames });
    }
}
