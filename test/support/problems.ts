import { strict as assert } from "node:assert";
import { ClusterPkiArgs, ConfigError, validateClusterPkiArgs } from "../../components/internal";

/** The problems validateClusterPkiArgs reports for `base()` changed by `mutate` ([] when it accepts them). */
export function problemsOf(base: () => ClusterPkiArgs, mutate: (a: any) => void): string[] {
    const args: any = base();
    mutate(args);
    try {
        validateClusterPkiArgs(args);
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
        return (e as ConfigError).problems;
    }
    return [];
}
