/**
 * Arguments of the public building blocks (CertificateAuthority, LeafCertificate, the Vault components): the same
 * rules as stack config, named by the argument, so that a library user gets a ConfigError at preview time and
 * nothing is created.
 */
import { keyAlgorithmProblem } from "./keys";
import { isIp, MAX_DURATION_HOURS, zoneIdProblem } from "./problems";

export interface BuildingBlockArgs {
    keyAlgorithm?: unknown;
    commonName?: unknown;
    validityHours?: unknown;
    renewBeforeHours?: unknown;
    ipAddresses?: unknown;
}

/** Every problem of the arguments a building block has (absent optional fields are not checked), as `arg: problem`. */
export function buildingBlockProblems(args: BuildingBlockArgs | undefined, has: (keyof BuildingBlockArgs)[]): string[] {
    if (!args || typeof args !== "object") return ["(args): must be an object"];
    const out: string[] = [];
    const add = (field: string, message: string) => out.push(`${field}: ${message}`);
    if (has.includes("keyAlgorithm")) {
        const problem = keyAlgorithmProblem(args.keyAlgorithm);
        if (problem) add("keyAlgorithm", problem);
    }
    if (has.includes("commonName") && (typeof args.commonName !== "string" || args.commonName === "")) {
        add("commonName", 'is required (e.g. "kubernetes")');
    }
    const v = args.validityHours;
    if (has.includes("validityHours") && typeof v !== "object") {
        if (!Number.isInteger(v) || (v as number) <= 0 || (v as number) > MAX_DURATION_HOURS) {
            add("validityHours", `${String(v)} must be a whole number of hours between 1 and ${MAX_DURATION_HOURS} (100 years)`);
        }
    }
    const r = args.renewBeforeHours;
    if (has.includes("renewBeforeHours") && r !== undefined) {
        if (!Number.isInteger(r) || (r as number) < 0 || (typeof v === "number" && (r as number) >= v)) {
            add("renewBeforeHours", `${String(r)} must be a whole number of hours, ≥ 0 and shorter than validityHours`);
        }
    }
    if (has.includes("ipAddresses") && args.ipAddresses !== undefined) {
        if (!Array.isArray(args.ipAddresses)) add("ipAddresses", "must be a list of IP addresses");
        else
            args.ipAddresses.forEach((ip, i) => {
                const zone = typeof ip === "string" ? zoneIdProblem(ip) : undefined;
                if (zone) add(`ipAddresses[${i}]`, zone);
                else if (typeof ip !== "string" || !isIp(ip)) add(`ipAddresses[${i}]`, `${JSON.stringify(ip)} is not an IP address (e.g. "10.0.0.11" or "fd00::11")`);
            });
    }
    return out;
}
