/**
 * kubeadm's RESIDUAL TIME: k8s.io/apimachinery `pkg/util/duration/duration.go` and kubeadm's ResidualTimeSeconds,
 * ported rule for rule. Pure: every function takes its times.
 */
import { HOUR_MS } from "../time";


/** Go's int(x) conversion of a float: truncation toward zero. */
const goInt = (x: number) => Math.trunc(x);

/**
 * k8s.io/apimachinery/pkg/util/duration.HumanDuration, ported rule for rule (2-3 significant figures).
 * kubeadm ≥ 1.30 prints RESIDUAL TIME with it. `ms` is a duration in milliseconds.
 */
export function humanDuration(ms: number): string {
    const seconds = goInt(ms / 1000);
    // "Allow deviation no more than 2 seconds(excluded) to tolerate machine time inconsistence."
    if (seconds < -1) return "<invalid>";
    if (seconds < 0) return "0s";
    if (seconds < 60 * 2) return `${seconds}s`;
    const minutes = goInt(ms / 60_000);
    if (minutes < 10) {
        const s = goInt(ms / 1000) % 60;
        return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
    }
    if (minutes < 60 * 3) return `${minutes}m`;
    const hours = goInt(ms / HOUR_MS);
    if (hours < 8) {
        const m = goInt(ms / 60_000) % 60;
        return m === 0 ? `${hours}h` : `${hours}h${m}m`;
    }
    if (hours < 48) return `${hours}h`;
    if (hours < 24 * 8) {
        const h = hours % 24;
        return h === 0 ? `${goInt(hours / 24)}d` : `${goInt(hours / 24)}d${h}h`;
    }
    if (hours < 24 * 365 * 2) return `${goInt(hours / 24)}d`;
    if (hours < 24 * 365 * 8) {
        const dy = goInt(hours / 24) % 365;
        const y = goInt(hours / 24 / 365);
        return dy === 0 ? `${y}y` : `${y}y${dy}d`;
    }
    return `${goInt(hours / 24 / 365)}y`;
}

/**
 * k8s.io/apimachinery/pkg/util/duration.ShortHumanDuration, ported rule for rule (one unit).
 * kubeadm ≤ 1.29 printed RESIDUAL TIME with it; kept for comparison with older kubeadm output.
 */
export function shortHumanDuration(ms: number): string {
    const seconds = goInt(ms / 1000);
    if (seconds < -1) return "<invalid>";
    if (seconds < 0) return "0s";
    if (seconds < 60) return `${seconds}s`;
    const minutes = goInt(ms / 60_000);
    if (minutes < 60) return `${minutes}m`;
    const hours = goInt(ms / HOUR_MS);
    if (hours < 24) return `${hours}h`;
    if (hours < 24 * 365) return `${goInt(hours / 24)}d`;
    return `${goInt(ms / HOUR_MS / 24 / 365)}y`;
}

/** kubeadm's ResidualTimeSeconds: int64(notAfter.Sub(now) / time.Second), truncated toward zero. */
export function residualSeconds(now: Date, notAfter: Date): number {
    return goInt((notAfter.getTime() - now.getTime()) / 1000) || 0; // no -0
}

/**
 * kubeadm's RESIDUAL TIME column (v1.30+): `duration.HumanDuration(ResidualTimeSeconds * time.Second)`,
 * e.g. "364d", "9y", "23h", "3d5h", "2y100d"; "0s" for up to 1 s past expiry, then "<invalid>".
 */
export function residual(now: Date, notAfter: Date): string {
    return humanDuration(residualSeconds(now, notAfter) * 1000);
}
