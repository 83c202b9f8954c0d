/**
 * An error nothing caught ends the server as Node would (exit 1: state after an unknown failure is
 * not trusted), but with one JSON line in the log a collector keeps, not a raw stack trace on
 * stderr outside it (src/main.ts). Until stop 52 an ACME certificate reload threw out of a timer
 * this way (an outside probe, LOCAL F2). The fault is planted with `--require`: a module that
 * rejects a promise nobody awaits once the server serves.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TempDir } from "../support/openssl";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { logLines, startServerProcess } from "../support/server-process";
import { waitFor } from "../support/wait";

describe("an error nothing caught", () => {
  const databases: TestDatabase[] = [];
  const dir = new TempDir();

  afterAll(async () => {
    for (const db of databases) await db.drop();
    dir.remove();
  });

  it.each([
    ["unhandled promise rejection", "Promise.reject(new Error('planted fault'))"],
    ["uncaught exception", "(() => { throw new Error('planted fault'); })()"],
  ])("%s: one fatal JSON line, then exit 1", async (kind, fault) => {
    // Planted once the server serves (its start-up banner names the port), from a timer.
    const plant = join(dir.path, `${kind.replaceAll(" ", "-")}.cjs`);
    writeFileSync(
      plant,
      `const t = setInterval(() => { if (require("node:fs").existsSync(process.env.PLANT_FLAG)) { clearInterval(t); ${fault}; } }, 50); t.unref();\n`,
    );
    const flag = join(dir.path, `${kind.replaceAll(" ", "-")}.flag`);
    // A database of its own: each server makes its own key-encryption key.
    const db = await createTestDatabase({ migrated: true });
    databases.push(db);
    const server = await startServerProcess(
      { DATABASE_URL: db.url, CERTMINT_LOG_FORMAT: "json", PLANT_FLAG: flag },
      { nodeArgs: ["--require", plant] },
    );
    writeFileSync(flag, "");
    await waitFor("the server to exit", () => server.child.exitCode !== null);
    expect(server.child.exitCode).toBe(1);
    const fatal = logLines(server).filter((l) => l.level === 60);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({
      msg: `${kind}: certmint stops (a bug; please report it)`,
      err: { type: "Error", message: "planted fault" },
    });
    // Nothing outside the JSON lines: no raw stack trace on stderr.
    const raw = server
      .output()
      .split("\n")
      .filter((l) => l.trim() !== "" && !l.startsWith("{"));
    expect(raw).toEqual([]);
  });
});
