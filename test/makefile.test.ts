import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./support/server-process";

describe("make help", () => {
  it("lists every target of the Makefile, each with a description", () => {
    const makefile = readFileSync(join(ROOT, "Makefile"), "utf8");
    const rules = new Set([...makefile.matchAll(/^([a-z][a-z-]*):/gm)].map((m) => m[1]!));
    const phony = /^\.PHONY:((?:.*\\\n)*.*)$/m
      .exec(makefile)![1]!
      .replace(/\\\n/g, " ")
      .split(/\s+/)
      .filter(Boolean);
    const out = execFileSync("make", ["-s", "help"], { cwd: ROOT, encoding: "utf8" });
    const listed = [...out.matchAll(/^ {2}make (\S+) +(\S.*)$/gm)].map((m) => m[1]!);
    expect([...listed].sort()).toEqual([...rules].sort());
    expect([...phony].sort()).toEqual([...rules].sort());
  });
});
