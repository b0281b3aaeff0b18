/**
 * The inputs a file-writing sink's dynamic resource takes from a file map (NodeFiles, RemoteNodeFiles): a plain
 * manifest (path → mode, secret flag, sha256; a sha256 of key material reveals nothing usable) and the
 * contents as ONE secret.
 */
import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import type { FileMap } from "../model";

export function fileMapInputs(files: FileMap): {
    manifest: pulumi.Output<Record<string, { mode: string; secret: boolean; sha256: string }>>;
    contents: pulumi.Output<Record<string, string>>;
} {
    const paths = Object.keys(files).sort();
    const manifest = pulumi.unsecret(
        pulumi.all(
            Object.fromEntries(
                paths.map((rel) => {
                    const f = files[rel];
                    const hash = pulumi.output(f.content).apply((c) => crypto.createHash("sha256").update(c, "utf8").digest("hex"));
                    return [rel, pulumi.unsecret(hash).apply((sha256) => ({ mode: f.mode, secret: f.secret === true, sha256 }))];
                }),
            ),
        ),
    );
    const contents = pulumi.secret(pulumi.all(Object.fromEntries(paths.map((rel) => [rel, pulumi.output(files[rel].content)]))));
    return { manifest, contents };
}
