/**
 * The CLI's version: package.json's, written into the bundle as it is built
 * (scripts/build-server.cjs, esbuild `define`); "unknown" when run from the sources.
 */
declare const CERTMINT_CLI_VERSION: string | undefined;

export function cliVersion(): string {
  return typeof CERTMINT_CLI_VERSION === "string" ? CERTMINT_CLI_VERSION : "unknown";
}
