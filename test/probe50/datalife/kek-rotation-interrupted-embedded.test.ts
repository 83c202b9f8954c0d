/**
 * Stop-50 outside probe DATA: a KEK rotation SIGKILLed on the embedded database (the `make run`
 * default). CAs of every key family and a kept key (kek-rotation-support.ts); the compiled
 * rotation command is SIGKILLed as soon as its new key file appears, wherever it then is; the
 * lock it held and PGlite's files are taken over by the rerun, and exactly one KEK opens the
 * database afterwards, with every key.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runServerExpectingExit } from "../../ca/helpers";
import { closeClients, MAKE_RUN_NODE_ARGS } from "../../probe49/emb/support";
import { type CertmintClients, makeClients } from "../../support/harness";
import { TempDir } from "../../support/openssl";
import {
  isAlive,
  type ServerProcess,
  START_LIMIT_MS,
  startServerProcess,
} from "../../support/server-process";
import { waitFor } from "../../support/wait";
import { type Made, populate, signsWithEveryCa } from "./kek-rotation-support";
import { rotate, startRotation } from "./support";

describe("probe50 DATA: a KEK rotation SIGKILLed on the embedded database", {
  timeout: 4 * START_LIMIT_MS,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), "certmint-probe50-kek-emb-"));
  const dataDir = join(dir, "data");
  const oldKek = join(dir, "old.key");
  const newKek = join(dir, "new.key");
  const tmp = new TempDir();
  let server: ServerProcess | undefined;
  let c: CertmintClients | undefined;
  let made: Made;
  const env = (kekFile: string) => ({
    DATABASE_URL: "",
    CERTMINT_DATA_DIR: dataDir,
    CERTMINT_KEK_FILE: kekFile,
  });
  const start = async (kekFile: string) => {
    server = await startServerProcess(
      { ...env(kekFile), CERTMINT_LOG_FORMAT: "json" },
      { nodeArgs: MAKE_RUN_NODE_ARGS },
    );
    c = makeClients(server.address, server.adminToken());
    return c;
  };
  const stop = async () => {
    closeClients(c);
    c = undefined;
    const s = server;
    server = undefined;
    expect(await s?.stop()).toBe(0);
  };

  beforeAll(async () => {
    writeFileSync(oldKek, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600 });
    made = await populate(await start(oldKek));
    await stop();
  }, 2 * START_LIMIT_MS);
  afterAll(async () => {
    await stop().catch(() => undefined);
    tmp.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it("killed once its new key file exists, then rerun: exactly one KEK opens every key", async () => {
    const run = startRotation(env(oldKek), ["--generate-new-kek-file", newKek]);
    await waitFor("the rotation to write its new key file", () => existsSync(newKek));
    run.child.kill("SIGKILL");
    const killed = await run.done;
    // It may have finished first on a fast machine: then it exited 0.
    expect([null, 0]).toContain(killed.code);
    expect(isAlive(run.child.pid!)).toBe(false);

    // The rerun takes over the lock the killed run left, and opens PGlite's files as it left them.
    const rerun = await rotate(env(oldKek), ["--new-kek-file", newKek]);
    if (rerun.code === 0) {
      expect(rerun.stdout).toContain("CA keys re-sealed:          5\n");
    } else {
      // The killed run had committed: the old key no longer opens the database.
      expect(rerun.code, rerun.stderr).toBe(2);
      expect(rerun.stderr).toContain("(KEK_MISMATCH)");
    }
    const refused = await runServerExpectingExit({ ...env(oldKek), CERTMINT_LOG_FORMAT: "json" });
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stderr).toContain("does not match");
    await signsWithEveryCa(await start(newKek), made, tmp);
    await stop();
  });
});
