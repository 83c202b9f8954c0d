/**
 * CLIENTS probe (stop 52): a platform team adopting certmint in Go, Python, Java and TypeScript,
 * each from outside the repository as the README's "Clients" section says, against the compiled
 * server over TLS and mTLS. Each program issues a certificate over TLS and over mTLS (with a
 * deadline), decodes a refused call's google.rpc details with its language's standard helpers
 * (ErrorInfo, BadRequest field violations, RetryInfo), sees a watch end with DEADLINE_EXCEEDED,
 * and resumes a watch after a cursor to receive the revocation that happened meanwhile.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../support/server-process";
import {
  expectedAdoption,
  expectMtlsPeer,
  javaClasses,
  liveTlsSuite,
  normalizedCodes,
  runJson as run,
} from "./live-tls";

const HERE = join(ROOT, "test", "probe52", "clients");
const GO_ENV = { GOFLAGS: "-mod=mod", GOTOOLCHAIN: "local" };

describe("adopting certmint's generated clients from outside the repository", () => {
  const suite = liveTlsSuite("adopt");

  it("Go: a module of its own with the README's go.mod (replace), go vet clean", async () => {
    const dir = join(suite.scratch, "go");
    cpSync(join(HERE, "go", "main.go"), join(dir, "main.go"));
    writeFileSync(
      join(dir, "go.mod"),
      `module example\n\ngo 1.26.0\n\nrequire github.com/certmint/certmint/gen/go v0.0.0\n\n` +
        `replace github.com/certmint/certmint/gen/go => ${join(ROOT, "gen", "go")}\n`,
    );
    const go = (...args: string[]) =>
      execFileSync("go", args, {
        cwd: dir,
        encoding: "utf8",
        timeout: 240_000,
        env: { ...process.env, ...GO_ENV },
      });
    go("mod", "tidy");
    go("vet", "./...");
    go("build", "-o", "adopt", ".");
    const out = run(join(dir, "adopt"), [], suite.server().env("go"), dir);
    expect(normalizedCodes(out)).toEqual(expectedAdoption());
    await expectMtlsPeer(suite.server(), "go");
  }, 300_000);

  it("Python: gen/python on PYTHONPATH with the Makefile's pinned grpcio and protobuf", async () => {
    // CLIENTS_PYTHON: another interpreter, e.g. a virtualenv made with the README's unpinned
    // `pip install grpcio protobuf googleapis-common-protos` plus grpcio-status.
    const python = process.env.CLIENTS_PYTHON ?? join(ROOT, ".tools", "venv", "bin", "python");
    if (!existsSync(python)) throw new Error("no .tools/venv: run `make python-tools`");
    const out = run(python, [join(HERE, "python", "adopt.py")], {
      ...suite.server().env("python"),
      PYTHONPATH: join(ROOT, "gen", "python"),
    });
    expect(normalizedCodes(out)).toEqual(expectedAdoption());
    await expectMtlsPeer(suite.server(), "python");
  });

  it("Java: gen/java as a source root on the README's jars (make java-tools), StatusProto details", async () => {
    const jars = join(ROOT, ".tools", "java");
    if (!existsSync(join(jars, ".stamp"))) throw new Error("no .tools/java: run `make java-tools`");
    const classes = javaClasses(jars, [join(HERE, "java", "Adopt.java")]);
    const out = run(
      "java",
      ["-XX:TieredStopAtLevel=1", "-cp", `${classes}:${jars}/*`, "Adopt"],
      suite.server().env("java"),
    );
    expect(normalizedCodes(out)).toEqual(expectedAdoption());
    await expectMtlsPeer(suite.server(), "java");
  }, 200_000);
});
