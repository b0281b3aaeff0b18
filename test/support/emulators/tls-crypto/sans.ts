/** Subject alternative names and IPs, parsed like Go's net.ParseIP. */
import * as net from "node:net";
import { children, decode, seq, tlv } from "../../der";

// ------------------------------------------------------------------------------------------ SANs

function parseIPv4(s: string): number[] | undefined {
    const parts = s.split(".");
    if (parts.length !== 4) return undefined;
    const out: number[] = [];
    for (const p of parts) {
        if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === "0")) return undefined;
        const v = Number(p);
        if (v > 255) return undefined;
        out.push(v);
    }
    return out;
}

function parseIPv6(s: string): number[] | undefined {
    if (s.includes("%") || !net.isIPv6(s)) return undefined;
    let str = s;
    const last = s.lastIndexOf(":");
    if (s.slice(last + 1).includes(".")) {
        const v4 = parseIPv4(s.slice(last + 1));
        if (!v4) return undefined;
        str = s.slice(0, last + 1) + ((v4[0] << 8) | v4[1]).toString(16) + ":" + ((v4[2] << 8) | v4[3]).toString(16);
    }
    const halves = str.split("::");
    const groups = (h: string) => (h === "" ? [] : h.split(":"));
    const head = groups(halves[0]);
    const tail = halves.length > 1 ? groups(halves[1]) : [];
    const fill = halves.length > 1 ? 8 - head.length - tail.length : 0;
    const all = [...head, ...Array(fill).fill("0"), ...tail];
    if (all.length !== 8) return undefined;
    return all.flatMap((g) => {
        const v = parseInt(g, 16);
        return [v >> 8, v & 0xff];
    });
}

/** net.ParseIP followed by To4() where possible (marshalSANs always writes IPv4 in 4 bytes). */
export function parseIp(s: string): Buffer | undefined {
    const v4 = parseIPv4(s);
    if (v4) return Buffer.from(v4);
    const v6 = parseIPv6(s);
    if (!v6) return undefined;
    const mapped = v6.slice(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
    return Buffer.from(mapped ? v6.slice(12) : v6);
}

export function ipToString(b: Buffer): string {
    if (b.length === 4) return [...b].join(".");
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16));
    return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::").replace(/:{3,}/, "::");
}

export interface Sans {
    dnsNames: string[];
    emailAddresses: string[];
    ipAddresses: Buffer[];
    uris: string[];
}

function checkIA5(s: string) {
    if (/[^\x00-\x7f]/.test(s)) throw new Error(`x509: ${JSON.stringify(s)} cannot be encoded as an IA5String`);
}

/** x509.marshalSANs: all DNS names, then emails, then IPs, then URIs. */
export function marshalSans(s: Sans): Buffer {
    const items: Buffer[] = [];
    for (const d of s.dnsNames) {
        checkIA5(d);
        items.push(tlv(0x82, Buffer.from(d, "latin1")));
    }
    for (const e of s.emailAddresses) {
        checkIA5(e);
        items.push(tlv(0x81, Buffer.from(e, "latin1")));
    }
    for (const ip of s.ipAddresses) items.push(tlv(0x87, ip));
    for (const u of s.uris) {
        checkIA5(u);
        items.push(tlv(0x86, Buffer.from(u, "latin1")));
    }
    return seq(...items);
}

export function parseSans(value: Buffer): Sans {
    const out: Sans = { dnsNames: [], emailAddresses: [], ipAddresses: [], uris: [] };
    for (const gn of children(decode(value))) {
        switch (gn.tag) {
            case 0x81:
                out.emailAddresses.push(gn.value.toString("latin1"));
                break;
            case 0x82:
                out.dnsNames.push(gn.value.toString("latin1"));
                break;
            case 0x86:
                out.uris.push(gn.value.toString("latin1"));
                break;
            case 0x87:
                if (gn.value.length !== 4 && gn.value.length !== 16) {
                    throw new Error(`x509: cannot parse IP address of length ${gn.value.length}`);
                }
                out.ipAddresses.push(Buffer.from(gn.value));
                break;
        }
    }
    return out;
}
