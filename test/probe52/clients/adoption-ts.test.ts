/**
 * CLIENTS probe (stop 52): adopting certmint from TypeScript as the README's "Clients" says,
 * gen/ts copied into a CommonJS project of its own (compiled strict, no skipLibCheck,
 * esModuleInterop off), against the compiled server over TLS and mTLS: the same program
 * and expectations as adoption.test.ts (Go, Python, Java), in a file of its own to keep each
 * file fast.
 */
import { execFileSync } from "node:child_process";
import { cpSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../support/server-process";
import {
  expectedAdoption,
  expectMtlsPeer,
  liveTlsSuite,
  normalizedCodes,
  runJson as run,
} from "./live-tls";

const HERE = join(ROOT, "test", "probe52", "clients");

describe("adopting certmint's generated TypeScript client from a project of its own", () => {
  const suite = liveTlsSuite("adoptts");

  it("TypeScript: gen/ts copied into a CommonJS project, esModuleInterop off", async () => {
    const dir = join(suite.scratch, "ts");
    cpSync(join(ROOT, "gen", "ts"), join(dir, "gen", "ts"), { recursive: true });
    // The project's own npm install (@grpc/grpc-js, @bufbuild/protobuf, typescript, @types/node).
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
    writeFileSync(
      join(dir, "adopt.ts"),
      readFileSync(join(HERE, "ts", "adopt.ts"), "utf8").replaceAll(
        "../../../../gen/ts/",
        "./gen/ts/",
      ),
    );
    // esModuleInterop off: the stricter setting (on is the repository's own tsconfig's, with
    // which `npx tsc` checks gen/ts already).
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "commonjs",
          moduleResolution: "node",
          strict: true,
          esModuleInterop: false,
          types: ["node"],
          outDir: "out",
        },
        files: ["adopt.ts"],
      }),
    );
    execFileSync(join(ROOT, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json"], {
      cwd: dir,
      encoding: "utf8",
      timeout: 120_000,
    });
    const out = run(
      process.execPath,
      [join(dir, "out", "adopt.js")],
      suite.server().env("ts"),
      dir,
    );
    expect(normalizedCodes(out)).toEqual(expectedAdoption());
    await expectMtlsPeer(suite.server(), "ts");
  }, 200_000);
});
