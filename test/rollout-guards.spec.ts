/**
 * Fleet CA phase guards (validation/rollout.ts) with real X.509 (openssl): promote refused on a node whose last
 * delivered bundle lacks the staged CA, distrust refused on a node whose delivered leaves are still the old CA's,
 * each naming the node and what to do; the pool rule names the pool and the config line to set.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fleetPhaseProblem, poolPhaseProblems } from "../components/validation/rollout";

const CA = "etc/kubernetes/pki/etcd/ca.crt";
const SERVER = "etc/kubernetes/pki/etcd/server.crt";

describe("rollout: fleet CA phase guards", function () {
    this.timeout(60_000);
    let dir: string;
    let oldCa: string, newCa: string, oldLeaf: string, newLeaf: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-guards-"));
        const o = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
        for (const g of ["old", "new"]) {
            o(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${g}-ca.key`, "-out", `${g}-ca.crt`, "-subj", "/CN=etcd-ca", "-days", "2"]);
            o(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${g}.key`, "-out", `${g}.csr`, "-subj", "/CN=cp-1"]);
            o(["x509", "-req", "-in", `${g}.csr`, "-CA", `${g}-ca.crt`, "-CAkey", `${g}-ca.key`, "-CAcreateserial", "-out", `${g}.crt`, "-days", "2"]);
        }
        const r = (f: string) => fs.readFileSync(path.join(dir, f), "utf8");
        [oldCa, newCa, oldLeaf, newLeaf] = [r("old-ca.crt"), r("new-ca.crt"), r("old.crt"), r("new.crt")];
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("promote: refused while the node's last bundle lacks the staged CA; passes once it has it (any order)", () => {
        const promoteBundle = newCa + oldCa;
        const p = fleetPhaseProblem("cp-3", { "etcd-ca": "promote" }, { [CA]: oldCa }, { [CA]: promoteBundle });
        assert.match(p!, /^etcd-ca promote refused: node cp-3 has not received the staged bundle \(its last delivered pki\/etcd\/ca\.crt lacks 1 of the CAs/);
        assert.match(p!, /set kube-pki:caRotation\.etcd-ca back to "stage"/);
        assert.equal(fleetPhaseProblem("cp-3", { "etcd-ca": "promote" }, { [CA]: oldCa + newCa }, { [CA]: promoteBundle }), undefined);
        assert.equal(fleetPhaseProblem("cp-3", { "etcd-ca": "stage" }, { [CA]: oldCa }, { [CA]: promoteBundle }), undefined);
    });

    it("distrust: refused while the node's delivered leaf is the old CA's; passes with the promoted leaf", () => {
        const p = fleetPhaseProblem("cp-2", { "etcd-ca": "distrust" }, { [CA]: newCa + oldCa, [SERVER]: oldLeaf }, { [CA]: newCa });
        assert.match(p!, /^etcd-ca distrust refused: node cp-2 still has leaves of the old etcd-ca \(pki\/etcd\/server\.crt of its last delivery\)/);
        assert.equal(fleetPhaseProblem("cp-2", { "etcd-ca": "distrust" }, { [CA]: newCa + oldCa, [SERVER]: newLeaf }, { [CA]: newCa }), undefined);
    });

    it("pools: promote of ca refused until the pool is confirmed rolled after the stage up (stage:g)", () => {
        const states = { ca: { phase: "promote", generation: 1 } };
        const p = poolPhaseProblems(states, ["general", "gpu"], { gpu: { ca: "stage:1" } });
        assert.equal(p.length, 1);
        assert.match(p[0], /^kube-pki:rollout\.poolsRolled\.general\.ca: the ca rotation is at promote \(generation 1\) but pool general is not confirmed rolled/);
        assert.match(p[0], /trust only the old ca in their kubelet\.conf/);
        assert.match(p[0], /pulumi config set --path kube-pki:rollout\.poolsRolled\.general\.ca stage:1/);
        // a confirmation of an earlier rotation does not count
        assert.match(poolPhaseProblems({ ca: { phase: "promote", generation: 2 } }, ["gpu"], { gpu: { ca: "promote:1" } })[0], /confirmed rolled at "promote:1" only/);
        assert.deepEqual(poolPhaseProblems(states, ["gpu"], { gpu: { ca: "promote:1" } }), [], "a later roll also counts");
        assert.deepEqual(poolPhaseProblems({ ca: { phase: "stage", generation: 0 } }, ["general"], {}), []);
        assert.deepEqual(poolPhaseProblems({ "etcd-ca": { phase: "promote", generation: 1 } }, ["general"], {}), []);
    });

    it("pools: distrust of ca needs a second roll, after the promote up (the machines' client certificates are the old ca's until then)", () => {
        // the gap this closes: one confirmation (stage:1, made for promote) no longer lets distrust through
        const p = poolPhaseProblems({ ca: { phase: "distrust", generation: 1 } }, ["general"], { general: { ca: "stage:1" } });
        assert.equal(p.length, 1);
        assert.match(p[0], /at distrust \(generation 1\) but pool general is confirmed rolled at "stage:1" only/);
        assert.match(p[0], /kubelet client certificates signed by the old ca \(the CSR signer switched at promote\)/);
        assert.match(p[0], /pulumi config set --path kube-pki:rollout\.poolsRolled\.general\.ca promote:1/);
        assert.deepEqual(poolPhaseProblems({ ca: { phase: "distrust", generation: 1 } }, ["general"], { general: { ca: "promote:1" } }), []);
    });
});
