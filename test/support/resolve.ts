import * as pulumi from "@pulumi/pulumi";

/** Resolves an Output under mocks: its value, whether it is known, and whether it is secret. */
export async function resolve<T>(o: pulumi.Output<T>): Promise<{ value: T | undefined; known: boolean; secret: boolean }> {
    const anyO = o as any;
    const [value, known, secret] = await Promise.all([anyO.promise(true), anyO.isKnown, anyO.isSecret]);
    return { value: known ? value : undefined, known, secret };
}

/** The value of a known Output (fails the test when it is unknown). */
export async function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
    const r = await resolve(o);
    if (!r.known) throw new Error("output is unknown");
    return r.value as T;
}

/** Resolves every Output in a record. */
export async function valuesOf<T>(record: Record<string, pulumi.Output<T>>): Promise<Record<string, T>> {
    const entries = await Promise.all(Object.entries(record).map(async ([k, v]) => [k, await valueOf(v)] as const));
    return Object.fromEntries(entries);
}
