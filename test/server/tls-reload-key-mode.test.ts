/**
 * The TLS reload holds the key file to the start-up check of its mode: a key file that has
 * become readable by group or others (a renewal job writing with the default umask) is not
 * loaded; the server keeps serving the previous pair and logs one warning naming the file and
 * the mode, and loads the new pair once the file is 0600 again. Until stop 42 of 2026-12-06 the
 * mode was checked only at start-up, and a reload served such a key without a word.
 */
import { chmodSync, copyFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TempDir } from "../support/openssl";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import {
  type Issued,
  makeCa,
  makeLeaf,
  replaceAtomically,
  servedFingerprint,
  tlsHealthCheck,
  waitFor,
} from "../tls/pki";
import { type LoggedCertmint, startLogged } from "../tls/server";

const UNUSABLE = "TLS files changed but cannot be used: still serving the previous certificate";

describe("a TLS key file that became readable by others, renamed into place while serving", () => {
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
    ca = makeCa(dir, "key mode CA");
    first = makeLeaf(dir, ca, "certmint.test", "server");
    second = makeLeaf(dir, ca, "certmint.test", "server");
    certFile = join(dir.path, "live-cert.pem");
    keyFile = join(dir.path, "live-key.pem");
    copyFileSync(first.certFile, certFile);
    copyFileSync(first.keyFile, keyFile);
    chmodSync(keyFile, 0o600);
    server = await startLogged(db.url, {
      CERTMINT_TLS_CERT_FILE: certFile,
      CERTMINT_TLS_KEY_FILE: keyFile,
      CERTMINT_TLS_RELOAD_INTERVAL_MS: "200",
    });
  });
  afterAll(async () => {
    await server?.running.shutdown();
    await db?.drop();
    dir.remove();
  });

  const problems = () =>
    server.logs.filter((l) => l.msg === UNUSABLE).map((l) => l.problem as string);

  it("keeps the previous pair and warns with the file and mode, then loads it once it is 0600", async () => {
    expect(await servedFingerprint(server.port, ca.certPem)).toBe(first.fingerprint);
    expect(server.logs.some((l) => l.msg?.toString().includes("readable by group"))).toBe(false);

    // A whole, matching new pair, the key world-readable, renamed over the live files.
    const staged = `${keyFile}.staged`;
    writeFileSync(staged, second.keyPem);
    chmodSync(staged, 0o644);
    renameSync(staged, keyFile);
    replaceAtomically(certFile, second.certPem);

    const problem = `CERTMINT_TLS_KEY_FILE=${keyFile} has become readable by group or others (mode 0644): not loading it; make it 0600 or 0400`;
    await waitFor("the refusal of the key file to be logged", () => problems().includes(problem));
    expect(server.logs.find((l) => l.msg === UNUSABLE)).toMatchObject({
      level: 40,
      problem,
      serving: first.serial,
    });
    expect(await servedFingerprint(server.port, ca.certPem)).toBe(first.fingerprint);
    expect(await tlsHealthCheck(server.port, ca.certPem)).toBe("SERVING");
    expect(server.logs.some((l) => l.msg === "TLS certificate reloaded")).toBe(false);

    // 0600 again: the new pair is served.
    chmodSync(keyFile, 0o600);
    await waitFor(
      "a new connection to see the new certificate",
      async () => (await servedFingerprint(server.port, ca.certPem)) === second.fingerprint,
    );
    const reloaded = server.logs.filter((l) => l.msg === "TLS certificate reloaded");
    expect(reloaded).toHaveLength(1);
    expect(reloaded[0]).toMatchObject({ serial: second.serial });
    // Logged once, however many intervals it lasted.
    expect(problems()).toEqual([problem]);
  });

  it("warns when the served key's file is made readable by others, and keeps serving", async () => {
    const before = problems().length;
    chmodSync(keyFile, 0o640);
    const problem = `CERTMINT_TLS_KEY_FILE=${keyFile} has become readable by group or others (mode 0640): not loading it; make it 0600 or 0400`;
    await waitFor("the warning to be logged", () => problems().slice(before).includes(problem));
    expect(await servedFingerprint(server.port, ca.certPem)).toBe(second.fingerprint);
    chmodSync(keyFile, 0o600);
  });
});
