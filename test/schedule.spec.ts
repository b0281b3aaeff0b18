/**
 * One schedule: `check-expiration`'s RENEWS AT and STATUS (report.ts) and the preview's renewal decision
 * (cluster-pki.ts → rotation.ts leafRenewal) come from the same function. The clock is moved across every
 * boundary of every leaf (1 s before, at, 1 s after its notAfter − renewBefore and its notAfter); at each instant a
 * preview runs and both report sources — the stack inventory and a kubeadm cert dir written from the node files —
 * must say "due" for exactly the certificates the preview rotates.
 */
import { HOUR_MS } from "../components/time";
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { InventoryEntry } from "../components/internal";
import { readCertDir, rowsFromInventory } from "../components/report";
import { ALICE_PERIOD, at, Rig, Run } from "./support/rotation-rig";

const S = 1000;
const keyOf = (e: { id?: string; node?: string; user?: string }) => (e.node ?? e.user ? `${e.id}/${e.node ?? e.user}` : `${e.id}`);

describe("one schedule: check-expiration and the preview agree at every boundary", function () {
    const rig = new Rig();
    let last: Run;
    let inventory: InventoryEntry[];
    let dir: string;
    before(async () => {
        await rig.run(at(0));
        // alice renews at +34h: from then on her boundaries (68h, 84h) differ from the other leaves' (80h, 100h).
        last = await rig.run(at(ALICE_PERIOD));
        inventory = rig.lastInventory!;
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-schedule-"));
        for (const [file, content] of Object.entries(last.files["cp-1"])) {
            fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
            fs.writeFileSync(path.join(dir, file), content);
        }
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("the report's RENEWS AT is each certificate's notAfter − renewBefore", () => {
        const rows = rowsFromInventory(inventory, at(ALICE_PERIOD));
        const alice = rows.find((r) => r.user === "alice")!;
        assert.equal(alice.renewAt!.toISOString(), at(2 * ALICE_PERIOD).toISOString());
        const apiserver = rows.find((r) => r.id === "apiserver" && r.node === "cp-1")!;
        assert.equal(apiserver.renewAt!.toISOString(), at(80).toISOString());
    });

    it("at every boundary ± 1 s: report status (inventory and cert dir) is due ⇔ the preview rotates", async () => {
        const leaves = inventory.filter((e) => !e.isCa);
        const boundaries = [...new Set(leaves.flatMap((e) => [Date.parse(e.notAfter) - e.renewBeforeHours * HOUR_MS, Date.parse(e.notAfter)]))].sort();
        const instants = boundaries.flatMap((b) => [b - S, b, b + S]);
        assert.ok(instants.length >= 12, `${instants.length} instants`);
        let checked = 0;
        for (const t of instants) {
            const now = new Date(t);
            const preview = await rig.run(now, {}, true);
            const rotated = new Set(Object.keys(preview.pki.rotationTokens).filter((k) => preview.pki.rotationTokens[k] !== rig.last!.rotationTokens[k]));
            for (const key of rotated) assert.ok(preview.replaced.includes(`rot-${key.replace("/", "-")}-key`), `${key}: token changed and the key is replaced`);
            const fromInventory = rowsFromInventory(inventory, now).filter((r) => !r.isCa);
            assert.equal(fromInventory.length, leaves.length);
            for (const row of fromInventory) {
                const key = keyOf(row);
                assert.equal(row.status !== "ok", rotated.has(key), `${now.toISOString()} ${key}: report ${row.status}, preview ${rotated.has(key) ? "rotates" : "keeps"}`);
                checked++;
            }
            const fromDir = readCertDir(path.join(dir, "etc/kubernetes/pki"), now, { leaf: 20, ca: 100 }).rows.filter((r) => !r.isCa);
            assert.ok(fromDir.length >= 10, `${fromDir.length} certificates in the cert dir`);
            for (const row of fromDir) {
                const entry = leaves.find((e) => e.id === row.id && (e.node === "cp-1" || (!e.node && !e.user)))!;
                assert.ok(entry, `${row.id} is in the inventory`);
                const key = keyOf(entry);
                assert.equal(row.status !== "ok", rotated.has(key), `${now.toISOString()} --cert-dir ${row.id}: ${row.status}, preview ${rotated.has(key) ? "rotates" : "keeps"}`);
                checked++;
            }
        }
        assert.ok(checked > 200, `${checked} comparisons`);
    });
});
