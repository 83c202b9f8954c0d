/**
 * Stop-49 outside probe: the embedded default (`make run`, PGlite in CERTMINT_DATA_DIR) when its
 * data directory goes away or becomes unwritable under the running server.
 *
 * What a PKI service must do: never answer OK for a certificate it cannot keep (a certificate
 * whose row lives only in a deleted file is gone at the next start: its serial can be reused by
 * the new, empty PKI made there, and it can never be revoked), answer UNAVAILABLE (never
 * INTERNAL, never a stack trace) and say NOT_SERVING on health, so an operator or a load
 * balancer sees it.
 *
 * The server runs without root's override of file modes (withoutFileOverride), as a service
 * user would, so that a mode change applies to it.
 */
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificateRequestStatus } from "../../../gen/ts/certmint/v1/certificate_service";
import { type CertmintClients, call, decodeError, makeClients } from "../../support/harness";
import {
  type ServerProcess,
  START_LIMIT_MS,
  startServerProcess,
} from "../../support/server-process";
import { waitFor } from "../../support/wait";
import {
  closeClients,
  createRootProfile,
  EMBEDDED,
  generatedKeyRequest,
  MAKE_RUN_NODE_ARGS,
} from "./support";

const ISSUED = CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED;

/** A server on a fresh data directory with a root CA and a profile "web" on it. */
async function serverWithProfile(dataDir: string) {
  const server = await startServerProcess(
    { ...EMBEDDED, CERTMINT_DATA_DIR: dataDir },
    { nodeArgs: MAKE_RUN_NODE_ARGS, unprivileged: true },
  );
  const c = makeClients(server.address, server.adminToken());
  await createRootProfile(c, "Outage Root");
  return { server, c };
}

/** One issuance with a generated key: its answer, or its decoded error. */
async function issue(c: CertmintClients, name: string) {
  try {
    const res = await call(
      c.certificates,
      "issueCertificate",
      generatedKeyRequest("web", `probe49-${name}`, `${name}.example.com`),
    );
    return { ok: res.status === ISSUED, serial: res.certificate?.serialNumber };
  } catch (err) {
    return { ok: false, error: decodeError(err) };
  }
}

/** What a client must never see: INTERNAL, or a stack trace in a message. */
function expectCleanRefusal(outcome: Awaited<ReturnType<typeof issue>>) {
  expect(outcome.ok, `answered OK (serial ${outcome.serial}) for a row it cannot keep`).toBe(false);
  expect(outcome.error!.code).toBe(14);
  expect(outcome.error!.message).not.toMatch(/\n\s+at |\.js:\d+:\d+/);
}

describe("probe49 EMB: the data directory removed under the running embedded server", {
  timeout: START_LIMIT_MS,
}, () => {
  const base = mkdtempSync(join(tmpdir(), "certmint-probe49-rm-"));
  const dataDir = join(base, "data");
  let server: ServerProcess;
  let c: CertmintClients;

  beforeAll(async () => {
    ({ server, c } = await serverWithProfile(dataDir));
    expect((await issue(c, "before")).ok).toBe(true);
    rmSync(dataDir, { recursive: true, force: true });
  }, START_LIMIT_MS);
  afterAll(async () => {
    closeClients(c);
    await server?.stop("SIGKILL");
    rmSync(base, { recursive: true, force: true });
  });

  it("never answers OK for an issuance once its files are gone: UNAVAILABLE, no stack trace", async () => {
    // Sequential, each on the server's own state: the first after the removal already counts.
    for (const name of ["gone-1", "gone-2", "gone-3"]) expectCleanRefusal(await issue(c, name));
  });

  // Fixed in stop 49 (store/embedded-place.ts): the removal is seen at the database's next
  // answer, which is dropped; the server then stops as at a PANIC (health NOT_SERVING while it
  // stops), exit code 1, the cause in its fatal log line.
  it("stops by itself with exit code 1, saying the data directory was removed", async () => {
    // A bound for a server that never notices (the finding), not a timing expectation.
    await waitFor("the server to stop", () => server.child.exitCode !== null, 30_000);
    expect(server.child.exitCode).toBe(1);
    const fatal = server
      .output()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { level: number; msg: string; err?: { message?: string } })
      .find((l) => l.level === 60);
    expect(fatal?.msg).toBe("the embedded database stopped: certmint stops; start it again");
    expect(fatal?.err?.message).toContain("was removed while certmint ran");
    // rm -rf takes the lock file or pglite/ first, whichever it meets first: either is named.
    expect(fatal?.err?.message).toMatch(
      new RegExp(`(${join(dataDir, "pglite")}|${join(dataDir, "embedded.pid")}) was removed`),
    );
  });
});

describe("probe49 EMB: the data directory made read-only under the running embedded server", {
  timeout: START_LIMIT_MS,
}, () => {
  const base = mkdtempSync(join(tmpdir(), "certmint-probe49-ro-"));
  const dataDir = join(base, "data");
  let server: ServerProcess;
  let c: CertmintClients;
  const setWritable = (writable: boolean) => {
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        const st = statSync(p);
        if (st.isDirectory()) walk(p);
        chmodSync(p, writable ? st.mode | 0o200 : st.mode & ~0o222);
      }
    };
    walk(dataDir);
    const st = statSync(dataDir);
    chmodSync(dataDir, writable ? st.mode | 0o200 : st.mode & ~0o222);
  };

  beforeAll(async () => {
    ({ server, c } = await serverWithProfile(dataDir));
    expect((await issue(c, "ro-before")).ok).toBe(true);
    setWritable(false);
  }, START_LIMIT_MS);
  afterAll(async () => {
    closeClients(c);
    setWritable(true);
    await server?.stop("SIGKILL");
    rmSync(base, { recursive: true, force: true });
  });

  it("answers each issuance OK (kept) or UNAVAILABLE, never INTERNAL; what it answered OK survives a restart", async () => {
    const outcomes = [];
    for (const name of ["ro-1", "ro-2", "ro-3", "ro-4"]) {
      const outcome = await issue(c, name);
      outcomes.push(outcome);
      if (!outcome.ok && server.child.exitCode === null) {
        expect(outcome.error!.code).toBe(14);
        expect(outcome.error!.message).not.toMatch(/\n\s+at |\.js:\d+:\d+/);
      }
    }
    // Whatever it answered OK it must still serve once the modes are back: restart on the files.
    setWritable(true);
    await server.stop("SIGTERM");
    ({ server, c } = await (async () => {
      closeClients(c);
      const again = await startServerProcess(
        { ...EMBEDDED, CERTMINT_DATA_DIR: dataDir },
        { nodeArgs: MAKE_RUN_NODE_ARGS, unprivileged: true },
      );
      return { server: again, c: makeClients(again.address, again.adminToken()) };
    })());
    for (const [i, outcome] of outcomes.entries()) {
      if (!outcome.ok) continue;
      // The replay of an answered request_id names the same certificate.
      const replay = await issue(c, `ro-${i + 1}`);
      expect(replay).toMatchObject({ ok: true, serial: outcome.serial });
    }
  });
});
