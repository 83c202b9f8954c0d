import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "./support/postgres";
import { ROOT, type ServerProcess, startServerProcess } from "./support/server-process";

/**
 * The generated Go and Python clients (gen/go, gen/python) compile or import and call a
 * running server. Each program prints one JSON object of what it saw.
 */
describe("generated clients in other languages", () => {
  let db: TestDatabase;
  let server: ServerProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServerProcess({ DATABASE_URL: db.url });
  });
  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it("Go: health SERVING, and IssueCertificate answers UNIMPLEMENTED with ErrorInfo", () => {
    const out = execFileSync("go", ["run", ".", server.address, "smoke"], {
      cwd: join(ROOT, "test", "clients", "go"),
      encoding: "utf8",
      timeout: 240_000,
      env: { ...process.env, GOFLAGS: "-mod=mod", GOTOOLCHAIN: "local" },
    });
    expect(JSON.parse(out)).toEqual({
      health: "SERVING",
      issue_code: "Unimplemented",
      issue_reason: "NOT_IMPLEMENTED",
      issue_domain: "certmint.dev",
    });
  });

  it("Python: health SERVING, and GetRequestStatus answers UNIMPLEMENTED with ErrorInfo", () => {
    const venvPython = join(ROOT, ".tools", "venv", "bin", "python");
    if (!existsSync(venvPython)) throw new Error("no .tools/venv: run the tests with `make test`");
    const out = execFileSync(
      venvPython,
      [join(ROOT, "test", "clients", "python", "clienttest.py"), server.address, "smoke"],
      {
        encoding: "utf8",
        timeout: 60_000,
        env: { ...process.env, PYTHONPATH: join(ROOT, "gen", "python") },
      },
    );
    expect(JSON.parse(out)).toEqual({
      health_raw: "0801", // HealthCheckResponse{status: SERVING}
      code: "UNIMPLEMENTED",
      reason: "NOT_IMPLEMENTED",
      domain: "certmint.dev",
    });
  });
});
