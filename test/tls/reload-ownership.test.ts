/**
 * The TLS reload holds the files to the start-up check (probe39 F7): files renamed into place
 * that another user owns (who could then rewrite them, and serve the port with a key of their
 * choosing) are not loaded: the server keeps serving the previous certificate and logs one
 * warning naming the variable, the file and the owner; once the files are root's again, they are
 * loaded. Until 2026-12-05 they were served, and the next restart refused to start (exit 2).
 * chown to nobody needs root; CI runs the tests as root.
 */
import { chownSync, copyFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TempDir } from "../support/openssl";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { type Issued, makeCa, makeLeaf, servedFingerprint, tlsHealthCheck, waitFor } from "./pki";
import { type LoggedCertmint, startLogged } from "./server";

const NOBODY = 65534;
const RELOAD_MS = 200;
const isRoot = process.geteuid?.() === 0;
const UNUSABLE = "TLS files changed but cannot be used: still serving the previous certificate";

describe.skipIf(!isRoot)("TLS files another user owns, renamed into place while serving", () => {
  const dir = new TempDir();
  let db: TestDatabase;
  let ca: Issued;
  let first: Issued;
  let second: Issued;
  let certFile: string;
  let keyFile: string;
  let server: LoggedCertmint;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    ca = makeCa(dir, "ownership CA");
    first = makeLeaf(dir, ca, "certmint.test", "server");
    second = makeLeaf(dir, ca, "certmint.test", "server");
    certFile = join(dir.path, "live-cert.pem");
    keyFile = join(dir.path, "live-key.pem");
    copyFileSync(first.certFile, certFile);
    copyFileSync(first.keyFile, keyFile);
    server = await startLogged(db.url, {
      CERTMINT_TLS_CERT_FILE: certFile,
      CERTMINT_TLS_KEY_FILE: keyFile,
      CERTMINT_TLS_RELOAD_INTERVAL_MS: String(RELOAD_MS),
    });
  });
  afterAll(async () => {
    await server?.running.shutdown();
    await db?.drop();
    dir.remove();
  });

  /** The problems of the "cannot be used" warnings logged so far. */
  const problems = () =>
    server.logs.filter((l) => l.msg === UNUSABLE).map((l) => l.problem as string);

  it("keeps the previous certificate and warns, then loads the files once they are root's", async () => {
    expect(await servedFingerprint(server.port, ca.certPem)).toBe(first.fingerprint);

    // A whole, matching new pair (what the reload would take), but nobody's, renamed over the
    // live files as `mv` does.
    for (const [live, content] of [
      [keyFile, second.keyPem],
      [certFile, second.certPem],
    ] as const) {
      const staged = `${live}.staged`;
      writeFileSync(staged, content, { mode: 0o600 });
      chownSync(staged, NOBODY, NOBODY);
      renameSync(staged, live);
    }
    const certProblem = `CERTMINT_TLS_CERT_FILE=${certFile} belongs to uid ${NOBODY}, who can replace it; not loading it (certmint would refuse it at start-up)`;
    await waitFor("the refusal of the certificate file to be logged", () =>
      problems().includes(certProblem),
    );
    expect(server.logs.find((l) => l.msg === UNUSABLE)).toMatchObject({
      level: 40,
      problem: certProblem,
      serving: first.serial,
    });
    expect(await servedFingerprint(server.port, ca.certPem)).toBe(first.fingerprint);
    expect(await tlsHealthCheck(server.port, ca.certPem)).toBe("SERVING");

    // The certificate file is root's again; the key still nobody's: refused, named.
    chownSync(certFile, 0, 0);
    const keyProblem = `CERTMINT_TLS_KEY_FILE=${keyFile} belongs to uid ${NOBODY}, who can replace it; not loading it (certmint would refuse it at start-up)`;
    await waitFor("the refusal of the key file to be logged", () =>
      problems().includes(keyProblem),
    );
    expect(await servedFingerprint(server.port, ca.certPem)).toBe(first.fingerprint);
    expect(server.logs.some((l) => l.msg === "TLS certificate reloaded")).toBe(false);

    // Both root's: the new pair is served.
    chownSync(keyFile, 0, 0);
    await waitFor(
      "a new connection to see the new certificate",
      async () => (await servedFingerprint(server.port, ca.certPem)) === second.fingerprint,
    );
    const reloaded = server.logs.filter((l) => l.msg === "TLS certificate reloaded");
    expect(reloaded).toHaveLength(1);
    expect(reloaded[0]).toMatchObject({ serial: second.serial });
    // Each refusal was logged once, however many intervals it lasted.
    expect(problems()).toEqual([certProblem, keyProblem]);
  });
});
