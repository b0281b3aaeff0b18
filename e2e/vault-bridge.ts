/**
 * The Vault bridge of the e2e step vault: the pulumi-vault provider plugin cannot be built here (its modules are
 * refused by the proxy), so the component's @pulumi/vault resources are applied to a REAL Vault server by this small
 * mapping, registered on the tls emulator (Pulumi mocks) in place of the unit tests' Vault emulation. Each resource
 * makes the HTTP API calls terraform-provider-vault makes for it and returns the outputs the provider would:
 *
 *   vault:index/mount:Mount                        POST sys/mounts/<path>, GET sys/mounts/<path> (accessor)
 *   ...SecretBackendIntermediateCertRequest        POST <backend>/intermediate/generate/<type>
 *   ...SecretBackendIntermediateSetSigned          POST <backend>/intermediate/set-signed
 *   ...SecretBackendConfigIssuers                  POST <backend>/config/issuers
 *   ...SecretBackendConfigUrls                     POST <backend>/config/urls
 *   ...SecretBackendRole                           POST <backend>/roles/<name>, then GET it back (the provider's read)
 *   ...SecretBackendCert                           POST <backend>/issue/<name>
 *
 * Real: the server, its PKI engine (key generation, CSR, issuer import, role validation, issuance, every X.509
 * byte of what it issues). Not real: the provider plugin (this mapping stands for it: arguments are sent under
 * their Vault API names, and no Terraform schema defaults are added beyond the ones listed below); tls resources
 * run through the tls emulator (real crypto). Deletes are not sent (the dev server is thrown away at the end).
 */
import { HandlerContext, HandlerResult, TlsEmulator } from "../test/support/tls-emulator";
import { certStateDefaults, VAULT_TYPES } from "../test/support/vault-emulator";

export interface VaultServer {
    /** e.g. http://127.0.0.1:8201 */
    address: string;
    token: string;
}

/** Every request the bridge made, with Vault's warnings (the report of a run). */
export interface BridgeCall {
    method: string;
    path: string;
    status: number;
    warnings: string[];
}

export class VaultApiError extends Error {
    constructor(
        message: string,
        readonly status: number,
        readonly errors: string[],
    ) {
        super(message);
    }
}

/** One Vault HTTP API call; throws like the provider reports API errors ("Error making API request ... Code: 400"). */
export async function vaultRequest(
    server: VaultServer,
    method: "GET" | "POST" | "PUT" | "LIST" | "DELETE",
    apiPath: string,
    body?: Record<string, unknown>,
    calls?: BridgeCall[],
    prefix = "Vault",
): Promise<any> {
    const url = `${server.address}/v1/${apiPath}`;
    const res = await fetch(method === "LIST" ? `${url}?list=true` : url, {
        method: method === "LIST" ? "GET" : method,
        headers: { "X-Vault-Token": server.token, ...(body ? { "Content-Type": "application/json" } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    const json = text ? JSON.parse(text) : {};
    calls?.push({ method, path: apiPath, status: res.status, warnings: json.warnings ?? [] });
    if (res.status >= 400) {
        const errors: string[] = json.errors ?? [text];
        throw new VaultApiError(
            `${prefix}: Error making API request.\n\nURL: ${method} ${url}\nCode: ${res.status}. Errors:\n\n${errors.map((e) => `* ${e}`).join("\n")}`,
            res.status,
            errors,
        );
    }
    return json;
}

const defined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
const norm = (p: unknown) => String(p ?? "").replace(/^\/+|\/+$/g, "");
const joined = (v: unknown) => (Array.isArray(v) && v.length > 0 ? v.join(",") : undefined);

/** Registers the bridge for every vault:* type the component uses. Returns the call log. */
export function registerVaultBridge(emulator: TlsEmulator, server: VaultServer): BridgeCall[] {
    const calls: BridgeCall[] = [];
    const req = (method: "GET" | "POST" | "LIST", p: string, body: Record<string, unknown> | undefined, prefix: string) =>
        vaultRequest(server, method, p, body ? defined(body) : undefined, calls, prefix);
    const previewed = (ctx: HandlerContext): HandlerResult | undefined => (ctx.preview ? { state: { ...ctx.rawInputs } } : undefined);

    emulator.register(VAULT_TYPES.Mount, {
        async create(ctx) {
            const p = previewed(ctx);
            if (p) return p;
            const i = ctx.inputs;
            const path = norm(i.path);
            await req(
                "POST",
                `sys/mounts/${path}`,
                {
                    type: i.type,
                    description: i.description,
                    config: defined({ default_lease_ttl: i.defaultLeaseTtlSeconds, max_lease_ttl: i.maxLeaseTtlSeconds }),
                },
                `error writing to Vault`,
            );
            const read = await req("GET", `sys/mounts/${path}`, undefined, "error reading mount");
            const d = read.data ?? read;
            return {
                id: path,
                state: {
                    ...ctx.rawInputs,
                    path,
                    accessor: d.accessor,
                    defaultLeaseTtlSeconds: d.config?.default_lease_ttl ?? d.default_lease_ttl,
                    maxLeaseTtlSeconds: d.config?.max_lease_ttl ?? d.max_lease_ttl,
                    local: d.local ?? false,
                    sealWrap: d.seal_wrap ?? false,
                },
            };
        },
    });

    emulator.register(VAULT_TYPES.IntermediateCertRequest, {
        async create(ctx) {
            const p = previewed(ctx);
            if (p) return p;
            const i = ctx.inputs;
            const backend = norm(i.backend);
            const res = await req(
                "POST",
                `${backend}/intermediate/generate/${i.type}`,
                {
                    common_name: i.commonName,
                    key_type: i.keyType,
                    key_bits: i.keyBits,
                    exclude_cn_from_sans: i.excludeCnFromSans,
                    format: i.format,
                    private_key_format: i.privateKeyFormat,
                    alt_names: joined(i.altNames),
                    ip_sans: joined(i.ipSans),
                    key_name: i.keyName,
                },
                `error creating intermediate cert request for PKI secret backend "${backend}"`,
            );
            const d = res.data ?? {};
            return {
                id: `${backend}/intermediate/${i.commonName}`,
                state: {
                    ...ctx.rawInputs,
                    csr: d.csr,
                    privateKey: d.private_key ?? "",
                    privateKeyType: d.private_key_type ?? "",
                    keyId: d.key_id ?? "",
                    keyName: i.keyName ?? "",
                },
            };
        },
    });

    emulator.register(VAULT_TYPES.IntermediateSetSigned, {
        async create(ctx) {
            const p = previewed(ctx);
            if (p) return p;
            const backend = norm(ctx.inputs.backend);
            const res = await req(
                "POST",
                `${backend}/intermediate/set-signed`,
                { certificate: ctx.inputs.certificate },
                `error writing intermediate signed certificate to PKI secret backend "${backend}"`,
            );
            const d = res.data ?? {};
            return {
                id: `${backend}/intermediate/set-signed`,
                state: { ...ctx.rawInputs, importedIssuers: d.imported_issuers ?? [], importedKeys: d.imported_keys ?? [] },
            };
        },
    });

    const configIssuers = async (ctx: HandlerContext): Promise<HandlerResult> => {
        const p = previewed(ctx);
        if (p) return p;
        const backend = norm(ctx.inputs.backend);
        const res = await req(
            "POST",
            `${backend}/config/issuers`,
            { default: ctx.inputs.default, default_follows_latest_issuer: ctx.inputs.defaultFollowsLatestIssuer },
            `error writing issuer config to PKI secret backend "${backend}"`,
        );
        return {
            id: `${backend}/config/issuers`,
            state: { ...ctx.rawInputs, defaultFollowsLatestIssuer: res.data?.default_follows_latest_issuer ?? false },
        };
    };
    emulator.register(VAULT_TYPES.ConfigIssuers, { create: configIssuers, update: configIssuers, updatableInputs: ["default", "defaultFollowsLatestIssuer"] });

    const configUrls = async (ctx: HandlerContext): Promise<HandlerResult> => {
        const p = previewed(ctx);
        if (p) return p;
        const backend = norm(ctx.inputs.backend);
        await req(
            "POST",
            `${backend}/config/urls`,
            {
                issuing_certificates: ctx.inputs.issuingCertificates ?? [],
                crl_distribution_points: ctx.inputs.crlDistributionPoints ?? [],
                ocsp_servers: ctx.inputs.ocspServers ?? [],
            },
            `error writing URL config to PKI secret backend "${backend}"`,
        );
        return { id: `${backend}/config/urls`, state: { ...ctx.rawInputs } };
    };
    emulator.register(VAULT_TYPES.ConfigUrls, { create: configUrls, update: configUrls, updatableInputs: ["issuingCertificates", "crlDistributionPoints", "ocspServers"] });

    const role = async (ctx: HandlerContext): Promise<HandlerResult> => {
        const p = previewed(ctx);
        if (p) return p;
        const i = ctx.inputs;
        const backend = norm(i.backend);
        const name = String(i.name);
        const route = `${backend}/roles/${name}`;
        const prefix = `error creating role ${name} for backend "${backend}"`;
        // the arguments under their Vault API names (terraform-provider-vault's pki_secret_backend_role)
        await req(
            "POST",
            route,
            {
                allowed_domains: i.allowedDomains,
                allow_bare_domains: i.allowBareDomains,
                allow_glob_domains: i.allowGlobDomains,
                allow_subdomains: i.allowSubdomains,
                allow_any_name: i.allowAnyName,
                allow_wildcard_certificates: i.allowWildcardCertificates,
                allow_localhost: i.allowLocalhost,
                enforce_hostnames: i.enforceHostnames,
                allow_ip_sans: i.allowIpSans,
                server_flag: i.serverFlag,
                client_flag: i.clientFlag,
                code_signing_flag: i.codeSigningFlag,
                email_protection_flag: i.emailProtectionFlag,
                key_usage: i.keyUsages,
                ext_key_usage: i.extKeyUsages,
                organization: i.organizations,
                ou: i.organizationUnit,
                key_type: i.keyType,
                key_bits: i.keyBits,
                ttl: i.ttl,
                max_ttl: i.maxTtl,
                not_before_duration: i.notBeforeDuration,
                no_store: i.noStore,
                require_cn: i.requireCn,
                issuer_ref: i.issuerRef,
                cn_validations: i.cnValidations,
            },
            prefix,
        );
        // the provider reads the role back into its state
        const d = (await req("GET", route, undefined, `error reading role ${name}`)).data ?? {};
        return {
            id: route,
            state: {
                ...ctx.rawInputs,
                name,
                allowedDomains: d.allowed_domains,
                keyUsages: d.key_usage,
                extKeyUsages: d.ext_key_usage,
                organizations: d.organization,
                keyType: d.key_type,
                keyBits: d.key_bits,
                ttl: String(d.ttl),
                maxTtl: String(d.max_ttl),
                notBeforeDuration: `${d.not_before_duration}s`,
                issuerRef: d.issuer_ref,
                serverFlag: d.server_flag,
                clientFlag: d.client_flag,
                enforceHostnames: d.enforce_hostnames,
                allowLocalhost: d.allow_localhost,
                allowIpSans: d.allow_ip_sans,
                cnValidations: d.cn_validations,
                requireCn: d.require_cn,
                noStore: d.no_store,
            },
        };
    };
    emulator.register(VAULT_TYPES.Role, { create: role, update: role, updatableInputs: ["issuerRef", "allowedDomains", "ttl", "maxTtl", "organizations"] });

    emulator.register(VAULT_TYPES.Cert, {
        async create(ctx) {
            const i = ctx.inputs;
            const base = certStateDefaults(ctx);
            if (ctx.preview) return { state: base };
            const backend = norm(i.backend);
            const roleName = String(i.name);
            const res = await req(
                "POST",
                `${backend}/issue/${roleName}`,
                {
                    common_name: i.commonName,
                    alt_names: joined(i.altNames),
                    ip_sans: joined(i.ipSans),
                    uri_sans: joined(i.uriSans),
                    ttl: i.ttl,
                    format: i.format,
                    private_key_format: i.privateKeyFormat,
                    exclude_cn_from_sans: i.excludeCnFromSans,
                    issuer_ref: i.issuerRef,
                },
                `error creating certificate ${i.commonName} by ${roleName} for PKI secret backend "${backend}"`,
            );
            const d = res.data ?? {};
            if (res.warnings?.length) {
                for (const w of res.warnings) ctx.emulator.warnings.push({ urn: ctx.urn, summary: "Vault warning", detail: w });
            }
            const expiration = Number(d.expiration);
            return {
                id: `${backend}/${roleName}/${i.commonName}`,
                state: {
                    ...base,
                    certificate: d.certificate,
                    issuingCa: d.issuing_ca,
                    // the provider stores ca_chain joined with "\n"
                    caChain: Array.isArray(d.ca_chain) ? d.ca_chain.join("\n") : (d.ca_chain ?? ""),
                    privateKey: d.private_key,
                    privateKeyType: d.private_key_type,
                    serialNumber: d.serial_number,
                    expiration,
                    renewPending: Date.now() / 1000 > expiration - Number(base.minSecondsRemaining),
                },
            };
        },
    });
    return calls;
}
