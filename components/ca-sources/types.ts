/** The interfaces every CA source and leaf issuer implements (see index.ts). */
import * as pulumi from "@pulumi/pulumi";
import * as vault from "@pulumi/vault";
import { CaEntry, LeafEntry } from "../catalog";
import type { ExternalCa, ResolvedConfig, ResolvedNode, ResolvedUser } from "../resolved";
import type { Identity } from "../identity";
import type { CaMaterial, IssuedLeaf } from "../model";
import type { VaultRoles } from "../vault";

export type { CaMaterial, IssuedLeaf } from "../model";

export type { ExternalCa } from "../resolved";

/** One trusted generation of a CA. */
export interface CaGeneration extends CaMaterial {
    /** What trust bundles carry for it: its certificate, or its chain up to a root we hold (a Vault intermediate). */
    trustPem: pulumi.Output<string>;
}

/** A leaf the component asks an issuer for. */
export interface LeafRequest {
    /** The resource name (`<cluster>-<id>[-<node|user>]`). */
    name: string;
    entry: LeafEntry;
    identity: Identity;
    /** The extra user it belongs to, for issuers that pick a template per user group (Vault roles). */
    user?: ResolvedUser;
    /** An Output when capped at the CA's remaining life (issuers with `capsValidity: false`). */
    validityHours: pulumi.Input<number>;
    renewBeforeHours: number;
    /** Changing it replaces the key and certificate (the rotation hook). */
    rotationToken: string;
}

/** Who signs a CA's leaves. */
export interface LeafIssuer {
    /**
     * True when the issuer itself caps a leaf at its CA's remaining life (Vault's leaf_not_after_behavior): the
     * component then asks for the configured validity. False: the component caps it (a leaf never outlives its CA).
     */
    readonly capsValidity: boolean;
    issue(request: LeafRequest): IssuedLeaf;
}

/** A catalog CA, whatever keeps it. */
export interface CaSource {
    /** Every trusted generation, the active (signing) one first. */
    readonly generations: CaGeneration[];
    /** Whether `<file>.key` goes to the control planes (false: kubeadm's external-CA mode). */
    readonly keyInTree: boolean;
    /** When the active generation expires if this run creates it, known at plan time; undefined when it comes from elsewhere. */
    readonly plannedNotAfterMs?: number;
    /** Who signs this CA's leaves. */
    readonly issuer: LeafIssuer;
    /** The Vault roles that issue this CA's leaves (a Vault CA with `leaves: vault`), exposed as ClusterPki.vaultRoles. */
    readonly vaultRoles?: VaultRoles;
}

/** What a source is built from. */
export interface CaSourceContext {
    /** The ClusterPki: every resource a source creates is its child. */
    parent: pulumi.ComponentResource;
    /** The ClusterPki's name: resource names start with it. */
    name: string;
    entry: CaEntry;
    cfg: ResolvedConfig;
    /** The generations to keep (active first), from the rotation phase. */
    generations: number[];
    /** Control planes, then workers. */
    allNodes: ResolvedNode[];
    /** The root stack's intermediates of this CA, when the cluster is under a RootPki. */
    external?: ExternalCa[];
    /** The cluster's Vault provider (created on first use), or undefined for the ambient provider. */
    vaultProvider: () => vault.Provider | undefined;
}

/** `<cluster>-<ca>` for generation 0, `<cluster>-<ca>-g<n>` after: the names stay put across rotations. */
export function generationName(ctx: CaSourceContext, gen: number): string {
    return `${ctx.name}-${ctx.entry.id}${gen === 0 ? "" : `-g${gen}`}`;
}

/** A CA generation whose trust is its own certificate. */
export function selfTrusted(ca: CaMaterial): CaGeneration {
    return { certPem: ca.certPem, keyPem: ca.keyPem, notBefore: ca.notBefore, notAfter: ca.notAfter, trustPem: ca.certPem };
}
