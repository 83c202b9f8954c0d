/**
 * Probe 52 (REVOCATION): revocation across processes that share one database, on the compiled
 * server: a second replica's publication port (its OCSP answers cached before the revocation,
 * its CRL) right after RevokeCertificate returned on the first, and cRLNumbers and OCSP answers
 * across a restart of the process. Black-box: two server processes, HTTP and gRPC only.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyAlgorithm, RevocationReason as R } from "../../../gen/ts/certmint/v1/common";
import { createRootCa, createWebProfile, type LiveCertmint } from "../../probe49/cert/live";
import { type CertmintClients, makeClients } from "../../support/harness";
import { crlFields, opensslOk, TempDir } from "../../support/openssl";
import { unusedPort } from "../../support/ports";
import { createTestDatabase, type TestDatabase } from "../../support/postgres";
import { type ServerProcess, startServerProcess } from "../../support/server-process";
import {
  certStatus,
  crlEntry,
  crlOf,
  crlText,
  issueLeaf,
  ocspGet,
  ocspRequest,
  readOcsp,
  revoke,
} from "./kit";

interface Replica {
  server: ServerProcess;
  base: string;
  env: Record<string, string>;
}

describe("probe52 revocation: replicas and restarts", () => {
  const tmp = new TempDir();
  let db: TestDatabase;
  let a: Replica;
  let b: Replica;
  let clients: CertmintClients;
  let rootPem = "";
  let rootId = "";
  let n = 0;

  const start = async (shared: Record<string, string>, dataDir?: string): Promise<Replica> => {
    const port = await unusedPort();
    const base = `http://127.0.0.1:${port}`;
    const env = {
      ...shared,
      CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${port}`,
      ...(dataDir ? { CERTMINT_DATA_DIR: dataDir } : {}),
    };
    return { server: await startServerProcess(env), base, env };
  };
  /** probe49's LiveCertmint shape for the kit's helpers, bound to replica `r`'s port. */
  const viaA = (): LiveCertmint =>
    ({ ...clients, base: a.base, ocspUrl: `${a.base}/ocsp` }) as unknown as LiveCertmint;
  const ocspOn = async (r: Replica, certPem: string) => {
    const req = ocspRequest(tmp, tmp.file("root.pem", rootPem), [
      "-cert",
      tmp.file("leaf.pem", certPem),
    ]);
    const res = await ocspGet({ ocspUrl: `${r.base}/ocsp` } as LiveCertmint, req);
    expect(res.status).toBe(200);
    return readOcsp(tmp, res.der, tmp.file("ca.pem", rootPem));
  };
  const crlOn = async (r: Replica) => {
    const res = await fetch(`${r.base}/crl/${rootId}.crl`);
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  };
  const numberOf = (der: Buffer) =>
    crlFields(tmp, opensslOk(["crl", "-inform", "DER", "-in", tmp.file("n.der", der)])).number;

  beforeAll(async () => {
    db = await createTestDatabase({ prefix: "certmint_p52rev", migrated: true });
    const shared = {
      DATABASE_URL: db.url,
      CERTMINT_KEK: randomBytes(32).toString("base64"),
      CERTMINT_LOG_FORMAT: "json",
    };
    a = await start(shared);
    b = await start(shared);
    clients = makeClients(a.server.address, a.server.adminToken());
    const live = viaA();
    const root = await createRootCa(live, "root", KeyAlgorithm.KEY_ALGORITHM_EC_P256);
    rootPem = root.certificatePem;
    rootId = root.id;
    await createWebProfile(live, "root");
  });

  afterAll(async () => {
    for (const c of Object.values(clients ?? {})) (c as { close(): void }).close();
    await a?.server.stop();
    await b?.server.stop();
    await db?.drop();
    tmp.remove();
  });

  it("another replica's cached OCSP answer and CRL say revoked once RevokeCertificate returned", async () => {
    // Each round: B caches `good` (no nonce) and its CRL, A revokes, B is asked at once.
    const seen: string[] = [];
    for (let round = 0; round < 5; round++) {
      const leaf = await issueLeaf(viaA(), "web", `rep${n++}.example.com`);
      expect(certStatus((await ocspOn(b, leaf.pem)).text)).toBe("good");
      await crlOn(b);
      await revoke(viaA(), leaf.id, R.REVOCATION_REASON_KEY_COMPROMISE);
      const o = await ocspOn(b, leaf.pem);
      const onCrl = crlEntry(crlText(tmp, await crlOn(b)), leaf.serial)?.reason;
      seen.push(`${certStatus(o.text)}/${onCrl ?? "not listed"}`);
    }
    expect(seen).toEqual(Array(5).fill("revoked/Key Compromise"));
  });

  it("cRLNumbers keep growing and revocations stay answered across a restart of the process", async () => {
    const leaf = await issueLeaf(viaA(), "web", `restart${n++}.example.com`);
    await revoke(viaA(), leaf.id, R.REVOCATION_REASON_SUPERSEDED);
    const before = crlFields(tmp, (await crlOf(viaA(), "root")).crlPem);
    const beforeHttp = numberOf(await crlOn(a));
    for (const c of Object.values(clients)) (c as { close(): void }).close();
    await a.server.stop();
    a = await start(a.env, a.server.dataDir);
    clients = makeClients(a.server.address, a.server.adminToken());
    const after = await crlOf(viaA(), "root");
    const fields = crlFields(tmp, after.crlPem);
    expect(fields.number).toBeGreaterThan(before.number);
    expect(fields.number).toBeGreaterThan(beforeHttp);
    expect(fields.last.getTime()).toBeGreaterThanOrEqual(before.last.getTime());
    expect(crlEntry(crlText(tmp, after.crlPem), leaf.serial)?.reason).toBe("Superseded");
    expect(numberOf(await crlOn(a))).toBeGreaterThanOrEqual(fields.number);
    const o = await ocspOn(a, leaf.pem);
    expect(o.verified).toBe(true);
    expect(o.text).toMatch(/Reason: superseded/);
  });
});
