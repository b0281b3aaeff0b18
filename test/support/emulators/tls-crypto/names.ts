/** X.509 names: Go's pkix.Name from the provider's subject block, and its String() form. */
import { children, decode, decodeOid, decodeString, goString, oid, seq, setOf, TAG, tlv } from "../../der";

// ------------------------------------------------------------------------------------------ names

/** The Pulumi `subject` input (CertRequestSubject / SelfSignedCertSubject). */
export interface SubjectInput {
    commonName?: string;
    organization?: string;
    organizationalUnit?: string;
    streetAddresses?: string[];
    locality?: string;
    province?: string;
    country?: string;
    postalCode?: string;
    serialNumber?: string;
    emailAddress?: string;
}

/** The fields of Go's pkix.Name that survive ToRDNSequence. */
export interface GoName {
    country?: string[];
    province?: string[];
    locality?: string[];
    streetAddress?: string[];
    postalCode?: string[];
    organization?: string[];
    organizationalUnit?: string[];
    commonName?: string;
    serialNumber?: string;
    /** ExtraNames: appended as single-valued RDNs (type OID, DER of the value) */
    extraNames?: { type: string; value: Buffer }[];
}

const OID_EMAIL = "1.2.840.113549.1.9.1";

const NAME_OIDS: [keyof GoName, string][] = [
    ["country", "2.5.4.6"],
    ["province", "2.5.4.8"],
    ["locality", "2.5.4.7"],
    ["streetAddress", "2.5.4.9"],
    ["postalCode", "2.5.4.17"],
    ["organization", "2.5.4.10"],
    ["organizationalUnit", "2.5.4.11"],
];

/** common_cert.go createSubjectDistinguishedNames. */
export function subjectToGoName(s: SubjectInput | undefined): GoName {
    const n: GoName = {};
    if (!s) return n;
    const one = (v: string | undefined) => (typeof v === "string" ? [v] : undefined);
    if (typeof s.commonName === "string") n.commonName = s.commonName;
    n.organization = one(s.organization);
    n.organizationalUnit = one(s.organizationalUnit);
    if (Array.isArray(s.streetAddresses)) n.streetAddress = [...s.streetAddresses];
    n.locality = one(s.locality);
    n.province = one(s.province);
    n.country = one(s.country);
    n.postalCode = one(s.postalCode);
    if (typeof s.serialNumber === "string") n.serialNumber = s.serialNumber;
    if (typeof s.emailAddress === "string") {
        n.extraNames = [{ type: OID_EMAIL, value: tlv(TAG.IA5String, Buffer.from(s.emailAddress, "utf8")) }];
    }
    return n;
}

/** cmp.Equal(name, pkix.Name{}): nil and empty slices differ, so `streetAddresses: []` counts as set. */
export function goNameIsZero(n: GoName): boolean {
    return (
        !n.commonName &&
        !n.serialNumber &&
        NAME_OIDS.every(([k]) => n[k] === undefined) &&
        (n.extraNames === undefined || n.extraNames.length === 0)
    );
}

/** pkix.Name.ToRDNSequence, DER-marshalled. */
export function marshalGoName(n: GoName): Buffer {
    const extraTypes = new Set((n.extraNames ?? []).map((e) => e.type));
    const rdns: Buffer[] = [];
    const add = (values: string[] | undefined, type: string) => {
        if (!values || values.length === 0 || extraTypes.has(type)) return;
        rdns.push(setOf(...values.map((v) => seq(oid(type), goString(v)))));
    };
    for (const [k, type] of NAME_OIDS) add(n[k] as string[] | undefined, type);
    if (n.commonName) add([n.commonName], "2.5.4.3");
    if (n.serialNumber) add([n.serialNumber], "2.5.4.5");
    for (const e of n.extraNames ?? []) rdns.push(setOf(seq(oid(e.type), e.value)));
    return seq(...rdns);
}

/** pkix.Name.FillFromRDNSequence (only the typed fields; everything else lands in Names, not ExtraNames). */
export function goNameFromDer(der: Buffer): GoName {
    const n: GoName = {};
    const push = (k: keyof GoName, v: string) => {
        const arr = ((n[k] as string[] | undefined) ?? []) as string[];
        arr.push(v);
        (n as Record<string, unknown>)[k] = arr;
    };
    for (const rdn of children(decode(der))) {
        for (const atv of children(rdn)) {
            const [t, v] = children(atv);
            const value = decodeString(v);
            if (value === undefined) continue;
            switch (decodeOid(t.value)) {
                case "2.5.4.3":
                    n.commonName = value;
                    break;
                case "2.5.4.5":
                    n.serialNumber = value;
                    break;
                case "2.5.4.6":
                    push("country", value);
                    break;
                case "2.5.4.7":
                    push("locality", value);
                    break;
                case "2.5.4.8":
                    push("province", value);
                    break;
                case "2.5.4.9":
                    push("streetAddress", value);
                    break;
                case "2.5.4.10":
                    push("organization", value);
                    break;
                case "2.5.4.11":
                    push("organizationalUnit", value);
                    break;
                case "2.5.4.17":
                    push("postalCode", value);
                    break;
            }
        }
    }
    return n;
}
