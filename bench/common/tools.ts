/**
 * The pinned tools the benchmarks drive: ghz (gRPC load), vegeta (HTTP load), step-ca and
 * cfssl. `make bench-tools` builds them from the Go module proxy into .tools/bin (never
 * committed), each beside a `<name>-<version>` stamp file that says which version it is.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(__dirname, "..", "..");
const BIN = join(ROOT, ".tools", "bin");

export type Tool = "ghz" | "vegeta" | "step-ca" | "cfssl";

/** Absolute path of an installed tool, or an error that says how to install it. */
export function toolPath(name: Tool): string {
  const path = join(BIN, name);
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`make bench-tools\``);
  return path;
}

/** The version the stamp file records ("v1.6.5"), or "unknown". */
export function toolVersion(name: Tool): string {
  const stamp = existsSync(BIN)
    ? readdirSync(BIN).find((f) => f.startsWith(`${name}-v`))
    : undefined;
  return stamp ? stamp.slice(name.length + 1) : "unknown";
}
