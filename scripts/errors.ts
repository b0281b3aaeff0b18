/**
 * What the person at the terminal reads when something fails: UserError (printed as is, no stack) and the
 * translation of the engine's long transcripts into one message.
 */
/** A message for the person at the terminal: printed as is, without a stack. */
export class UserError extends Error {
    constructor(
        message: string,
        /** The engine's full text, shown with --verbose. */
        readonly detail?: string,
    ) {
        super(message);
        this.name = "UserError";
    }
}

/** Where the passphrase comes from, for messages. */
export function passphraseSource(): string {
    return process.env.PULUMI_CONFIG_PASSPHRASE !== undefined ? "PULUMI_CONFIG_PASSPHRASE" : process.env.PULUMI_CONFIG_PASSPHRASE_FILE !== undefined ? "PULUMI_CONFIG_PASSPHRASE_FILE" : "the demo passphrase";
}

// --- engine errors ----------------------------------------------------------------------------------------------

/**
 * Turns an engine failure (an Automation API CommandError, whose message is the CLI's whole stdout and stderr) into
 * one short UserError; the full text stays in `detail` for --verbose.
 */
export function explainEngineError(err: unknown, stackName: string): UserError {
    if (err instanceof UserError) return err;
    const text = err instanceof Error ? err.message : String(err);
    const has = (re: RegExp) => re.test(text);
    if (has(/incorrect passphrase|passphrase must be set|failed to decrypt/i)) {
        return new UserError(
            `kube-pki: ${passphraseSource()} does not open stack "${stackName}": its secrets were encrypted with another passphrase. ` +
                `Set PULUMI_CONFIG_PASSPHRASE to the one used when the stack was created, or start the stack over ` +
                `(\`npm run destroy -- --stack ${stackName}\` with the old passphrase, or delete .pulumi-state/ for a demo stack).`,
            text,
        );
    }
    if (has(/the stack is currently locked/i)) {
        return new UserError(
            `kube-pki: stack "${stackName}" is locked by another run that is still going (on this host or another). ` +
                `Wait for it, or if it is gone for good: npm run pulumi -- cancel --stack ${stackName}`,
            text,
        );
    }
    // Errors the program reported (config problems, refused phase changes): the engine prints each as a
    // diagnostic "error:" line; its own closing lines ("update failed", "an error occurred") say nothing more.
    const lines = text.split("\n");
    const messages: string[] = [];
    for (let i = 0; i < lines.length; i++) {
        const m = /^\s*error: (.*)$/.exec(lines[i]);
        if (!m) continue;
        const body = [m[1]];
        while (i + 1 < lines.length && /^\s{2,}\S/.test(lines[i + 1]) && !/^\s*(error|warning|info):/.test(lines[i + 1])) body.push(lines[++i]);
        const msg = body.join("\n").trimEnd();
        if (/^(update failed|preview failed|destroy failed|an error occurred|one or more errors occurred)$/i.test(msg.trim())) continue;
        if (/^Running program .* failed with an unhandled exception:?$/.test(msg.trim())) continue;
        if (!messages.includes(msg)) messages.push(msg);
    }
    if (messages.length) return new UserError(messages.join("\n"), text);
    const exit = /code: (-?\d+)/.exec(text)?.[1];
    const last = lines.map((l) => l.trim()).filter((l) => l && !/^(code|stdout|stderr|err\?):/.test(l)).pop() ?? "";
    return new UserError(
        `kube-pki: the engine stopped without an error message${exit ? ` (exit code ${exit})` : ""}; was it killed? ` +
            `Run the same command again: it clears what an interrupted run leaves (lock, pending creates, plugin processes) where it can prove that run is dead; ` +
            `if it then says the stack is locked and no run is going: npm run pulumi -- cancel --stack ${stackName}` +
            (last ? `\nIts last line: ${last}` : ""),
        text,
    );
}

