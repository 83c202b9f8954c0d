/**
 * An address certmint is told to listen on that another process holds refuses the start at
 * once, before anything is created. An outside probe (2026-12-05) saw a metrics port in use
 * fail the start (exit 1) only after 4.5 s, a new embedded database, kek.key and the first
 * admin token created: a bad setting, answered like the others (one line, exit 2, nothing made).
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runServerExpectingExit } from "../ca/helpers";

describe("a listen address in use", () => {
  let holder: Server;
  let port = 0;
  const dataDir = mkdtempSync(join(tmpdir(), "certmint-listen-in-use-"));

  beforeAll(async () => {
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen({ host: "127.0.0.1", port: 0 }, resolve));
    port = (holder.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => holder.close(resolve));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.each(["CERTMINT_METRICS_LISTEN", "CERTMINT_PUBLICATION_LISTEN", "CERTMINT_LISTEN"])(
    "%s: one line, exit 2, and nothing created in the data directory",
    async (variable) => {
      const start = await runServerExpectingExit({
        DATABASE_URL: "",
        CERTMINT_DATA_DIR: dataDir,
        [variable]: `127.0.0.1:${port}`,
      });
      expect(start.served).toBe(false);
      expect(start.code).toBe(2);
      expect(start.stderr.trim().split("\n")).toEqual([
        `certmint: ${variable}=127.0.0.1:${port}: the address is in use by another process; stop what listens there or choose another address (nothing was created)`,
      ]);
      expect(readdirSync(dataDir)).toEqual([]);
    },
  );
});
