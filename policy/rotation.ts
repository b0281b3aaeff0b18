/** Renewal and rotation: early renewal on every certificate, no CA rotation left in phase "stage". */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { config, fmtHours, isUnknown, known, raw, schema, T, TLS_CERTS } from "./common";

// ---------------------------------------------------------------------------------------------------------------
// Renewal

export const earlyRenewal: ResourceValidationPolicy = {
    name: "pki-early-renewal",
    description: "A certificate renews before it expires: earlyRenewalHours on tls certificates (kube-pki: renewBefore), autoRenew on Vault certificates.",
    enforcementLevel: "advisory",
    validateResource: (args, report) => {
        const p = raw(args.props);
        if (TLS_CERTS.includes(args.type)) {
            const h = p.earlyRenewalHours;
            if (isUnknown(h)) return;
            if (!h) report(`no early renewal (earlyRenewalHours is ${h ?? "unset"}): the certificate is replaced only after it has expired; set earlyRenewalHours (kube-pki: leafRenewBefore / caRenewBefore)`);
        }
        if ((args.type === T.vaultCert || args.type === T.vaultSign) && known(p.autoRenew) !== true && !isUnknown(p.autoRenew)) {
            report(`Vault certificate without autoRenew: set autoRenew: true and minSecondsRemaining`);
        }
    },
};


// ---------------------------------------------------------------------------------------------------------------
// kube-pki stacks: CA rotation left staged

export const caRotationStaged: StackValidationPolicy = {
    name: "pki-ca-rotation-staged",
    description: "A kube-pki CA rotation does not stay in phase \"stage\" (two CAs trusted, the new one unused) longer than maxStagedHours.",
    enforcementLevel: "advisory",
    configSchema: schema("maxStagedHours"),
    validateStack: (args, report) => {
        const max = config(args).maxStagedHours;
        for (const r of args.resources.filter((x) => x.type === T.clusterPki)) {
            const p = raw(r.props);
            const states = known(p.rotationState) as Record<string, { phase?: string; generation?: number }> | undefined;
            if (!states || typeof states !== "object") continue;
            const clock = known(known(p.nextRotation)?.clock);
            const nowMs = typeof clock === "string" && !Number.isNaN(Date.parse(clock)) ? Date.parse(clock) : Date.now();
            const inventory = known(p.inventory);
            for (const [ca, s] of Object.entries(states)) {
                if (known(s?.phase) !== "stage") continue;
                const staged = Array.isArray(inventory)
                    ? inventory.find((e: any) => e && e.isCa === true && e.id === ca && e.generation === (s.generation ?? 0) + 1)
                    : undefined;
                const since = known(staged?.notBefore);
                if (typeof since !== "string" || Number.isNaN(Date.parse(since))) continue; // staged in this run, or the SA key
                const hours = (nowMs - Date.parse(since)) / 3_600_000;
                if (hours > max) {
                    report(
                        `${r.name}: CA ${ca} has been staged since ${since} (${fmtHours(hours)}, more than ${max}h): ` +
                            `promote it (kube-pki:caRotation.${ca}: promote) or abort the rotation (none)`,
                        r.urn,
                    );
                }
            }
        }
    },
};
