// Tiny DER reader/writer used by the tls emulator where Go's encoding/asn1 choices matter byte for byte
// (distinguished names, subjectAltName values) and for walking certificates / CSRs. Everything else
// (TBSCertificate assembly, algorithm identifiers, times, signatures) is done by @peculiar/x509.

export interface Tlv {
    /** first identifier octet (class | constructed | tag number; only low tag numbers are supported) */
    tag: number;
    /** content octets */
    value: Buffer;
    /** the whole encoding (identifier + length + content) */
    raw: Buffer;
}

export function readTlv(buf: Buffer, offset = 0): Tlv & { end: number } {
    if (offset + 2 > buf.length) throw new Error("der: truncated");
    const tag = buf[offset];
    if ((tag & 0x1f) === 0x1f) throw new Error("der: high tag numbers are not supported");
    let len = buf[offset + 1];
    let hdr = 2;
    if (len & 0x80) {
        const n = len & 0x7f;
        if (n === 0 || n > 4) throw new Error("der: unsupported length");
        len = 0;
        for (let i = 0; i < n; i++) len = len * 256 + buf[offset + 2 + i];
        hdr += n;
    }
    const end = offset + hdr + len;
    if (end > buf.length) throw new Error("der: truncated");
    return { tag, value: buf.subarray(offset + hdr, end), raw: buf.subarray(offset, end), end };
}

/** Decodes a single TLV that must span the whole buffer. */
export function decode(buf: Buffer): Tlv {
    const t = readTlv(buf);
    if (t.end !== buf.length) throw new Error("der: trailing data");
    return t;
}

export function children(t: Tlv | Buffer): Tlv[] {
    const value = Buffer.isBuffer(t) ? t : t.value;
    const out: Tlv[] = [];
    for (let off = 0; off < value.length; ) {
        const c = readTlv(value, off);
        out.push(c);
        off = c.end;
    }
    return out;
}

export function decodeOid(value: Buffer): string {
    const parts: number[] = [];
    let acc = 0;
    for (const b of value) {
        acc = acc * 128 + (b & 0x7f);
        if (!(b & 0x80)) {
            if (parts.length === 0) {
                const first = acc < 80 ? Math.floor(acc / 40) : 2;
                parts.push(first, acc - first * 40);
            } else {
                parts.push(acc);
            }
            acc = 0;
        }
    }
    return parts.join(".");
}

export const TAG = {
    BOOLEAN: 0x01,
    INTEGER: 0x02,
    BIT_STRING: 0x03,
    OCTET_STRING: 0x04,
    NULL: 0x05,
    OID: 0x06,
    UTF8String: 0x0c,
    PrintableString: 0x13,
    T61String: 0x14,
    IA5String: 0x16,
    UTCTime: 0x17,
    GeneralizedTime: 0x18,
    BMPString: 0x1e,
    NumericString: 0x12,
    UniversalString: 0x1c,
    SEQUENCE: 0x30,
    SET: 0x31,
} as const;

/** Decodes the ASN.1 string types Go's encoding/asn1 turns into a Go string. Returns undefined otherwise. */
export function decodeString(t: Tlv): string | undefined {
    switch (t.tag) {
        case TAG.UTF8String:
        case TAG.PrintableString:
        case TAG.IA5String:
        case TAG.NumericString:
            return t.value.toString("utf8");
        case TAG.T61String:
            return t.value.toString("latin1");
        case TAG.BMPString: {
            const swapped = Buffer.from(t.value);
            swapped.swap16();
            return swapped.toString("utf16le");
        }
        default:
            return undefined;
    }
}

// ---------------------------------------------------------------- writer

function encodeLength(n: number): Buffer {
    if (n < 0x80) return Buffer.from([n]);
    const bytes: number[] = [];
    while (n > 0) {
        bytes.unshift(n & 0xff);
        n = Math.floor(n / 256);
    }
    return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, value: Buffer): Buffer {
    return Buffer.concat([Buffer.from([tag]), encodeLength(value.length), value]);
}

export function seq(...items: Buffer[]): Buffer {
    return tlv(TAG.SEQUENCE, Buffer.concat(items));
}

/** DER SET OF: elements sorted by their encodings (Go's encoding/asn1 does the same since go1.15). */
export function setOf(...items: Buffer[]): Buffer {
    return tlv(TAG.SET, Buffer.concat([...items].sort(Buffer.compare)));
}

export function oid(dotted: string): Buffer {
    const p = dotted.split(".").map((s) => Number(s));
    const out: number[] = [];
    const push = (n: number) => {
        const tmp: number[] = [n & 0x7f];
        n = Math.floor(n / 128);
        while (n > 0) {
            tmp.unshift((n & 0x7f) | 0x80);
            n = Math.floor(n / 128);
        }
        out.push(...tmp);
    };
    push(p[0] * 40 + p[1]);
    for (const n of p.slice(2)) push(n);
    return tlv(TAG.OID, Buffer.from(out));
}

/**
 * Go's encoding/asn1 marshals an untyped Go string as PrintableString when every character is in the
 * PrintableString set (asterisk and ampersand excluded), otherwise as UTF8String.
 */
export function goString(s: string): Buffer {
    const printable = /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(s);
    return tlv(printable ? TAG.PrintableString : TAG.UTF8String, Buffer.from(s, "utf8"));
}
