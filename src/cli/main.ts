#!/usr/bin/env node
/**
 * certmint's command-line client: `certmint <command> <subcommand> [options]`. Talks to a certmint
 * server through the generated TypeScript client (gen/ts) only; imports nothing of the server.
 * Exit codes: 0 success, 1 the server refused or failed (or a file could not be read or
 * written), 2 a usage error.
 */
import { GROUPS } from "./commands";
import { Invocation } from "./invocation";
import { terminalText } from "./output";
import { parseCommandLine } from "./parse";
import { reportFailure } from "./report-failure";

// Node's own deprecation notices (e.g. DEP0123 when grpc-js gives TLS an IP address as the server
// name) are about this program's internals, not anything its user can act on.
process.noDeprecation = true;

async function main(argv: string[]): Promise<number> {
  // Everything printed, on both streams, through the one sanitizer (output.ts terminalText):
  // server-supplied text reaches a terminal with its controls and bidi characters escaped.
  const stdout = (text: string) => process.stdout.write(terminalText(text));
  const stderr = (text: string) => process.stderr.write(terminalText(text));
  let invocation: Invocation | undefined;
  try {
    const parsed = parseCommandLine(argv, GROUPS);
    if (parsed.kind === "help") {
      stdout(parsed.text);
      return 0;
    }
    invocation = new Invocation(parsed.args, parsed.output, process.env, stdout, stderr);
    await parsed.command.run(invocation);
    return 0;
  } catch (err) {
    return reportFailure(err, invocation, stderr);
  } finally {
    invocation?.close();
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
