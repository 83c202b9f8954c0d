import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** The repository root (where package.json is), whether running from src/ or dist/. */
export function projectRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "gen"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the certmint project root from ${__dirname}`);
    dir = parent;
  }
}

/** The `buf build` image of proto/: what reflection serves (comments and snake_case names). */
export const descriptorImagePath = () => join(projectRoot(), "gen", "descriptor", "certmint.binpb");

/** package.json's version (build info in the metrics and the start-up banner). */
export function certmintVersion(): string {
  try {
    return String(JSON.parse(readFileSync(join(projectRoot(), "package.json"), "utf8")).version);
  } catch {
    return "unknown";
  }
}
