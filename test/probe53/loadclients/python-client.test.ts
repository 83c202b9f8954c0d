/**
 * LOADCLIENTS probe (stop 53): a Python service (grpcio, gRPC C-core with its BDP pings and the
 * usual keepalive recipe) against the compiled server over TLS at a realistic volume: the phases
 * of go-client.test.ts (live-load.ts volumeAndRollover). No call may fail, and no connection may
 * be closed by a limit against attackers: the channel is READY once for the whole volume run.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../../support/server-process";
import { HERE, runJson, volumeAndRollover } from "./live-load";

const PYTHON = process.env.CLIENTS_PYTHON ?? join(ROOT, ".tools", "venv", "bin", "python");

volumeAndRollover("grpcio", "ldpy", async (mode, env) => {
  if (!existsSync(PYTHON)) throw new Error("no .tools/venv: run `make python-tools`");
  return runJson(PYTHON, [join(HERE, "python", "load.py"), mode], {
    ...env,
    PYTHONPATH: join(ROOT, "gen", "python"),
  });
});
