/**
 * Two certmint processes on one PostgreSQL database (issue 11, "Replicas and outages"):
 *  - a request whose first replica has signed but not yet stored it, replayed on the other
 *    replica: nothing of it is written before its one commit, so the replay signs too, and of
 *    the two stores one wins (the unique (caller, request_id) index) and the other answers
 *    what it stored, so neither caller sees an error because another replica exists, and both
 *    get the same certificate and generated key;
 *  - a revocation through one replica reaches the other replica's published CRL at once, not
 *    after its cache period (an hour here).
 * Replica B starts while replica A is held in the middle of signing, as a replica that starts
 * (or restarts) next to a busy one does.
 */
import { createPrivateKey, randomBytes, X509Certificate } from "node:crypto";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateServiceClient,
  type IssueCertificateRequest,
  type IssueCertificateResponse,
} from "../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm, RevocationReason } from "../../gen/ts/certmint/v1/common";
import { attrRequest } from "../certificates/helpers";
import { createRootAndProfile } from "../support/fixtures";
import { bearer, call } from "../support/harness";
import { opensslOk } from "../support/openssl";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { type ServerProcess, startServerProcess } from "../support/server-process";

/** Polls `check` until it returns a value other than undefined (a state, never a duration). */
async function waitFor<T>(what: string, check: () => Promise<T | undefined>, limitMs = 60_000) {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The port a server process publishes CRLs on (CERTMINT_PUBLICATION_LISTEN with port 0). */
function publicationPort(server: ServerProcess): number {
  const m = /"port":(\d+)[^\n]*"msg":"publishing CRLs/.exec(server.output());
  if (!m) throw new Error(`no publication port in the log:\n${server.output()}`);
  return Number(m[1]);
}

function issueOn(
  client: CertificateServiceClient,
  request: IssueCertificateRequest,
): Promise<IssueCertificateResponse> {
  return new Promise((resolve, reject) =>
    client.issueCertificate(
      request,
      new Metadata(),
      { deadline: Date.now() + 90_000 },
      (err: ServiceError | null, res) => (err ? reject(err) : resolve(res)),
    ),
  );
}

describe("two replicas on one database", () => {
  let db: TestDatabase;
  let a: ServerProcess | undefined;
  let b: ServerProcess | undefined;
  let env: Record<string, string>;
  let token = "";
  let rootId = "";
  const clients: Array<{ close(): void }> = [];
  const certificatesOn = (server: ServerProcess) => {
    const c = new CertificateServiceClient(server.address, credentials.createInsecure(), {
      interceptors: [bearer(token)],
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    db = await createTestDatabase("certmint_replicas");
    env = {
      DATABASE_URL: db.url,
      // Both replicas unseal the same CA keys: one key-encryption key, given to both.
      CERTMINT_KEK: randomBytes(32).toString("base64"),
      CERTMINT_PUBLICATION_LISTEN: "127.0.0.1:0",
      // Long: only the revocation check may make replica B sign a fresh CRL in this test.
      CERTMINT_CRL_CACHE_SECONDS: "3600",
      CERTMINT_LOG_LEVEL: "info",
    };
    a = await startServerProcess(env);
    token = a.adminToken();
    const { root } = await createRootAndProfile(a, db, token, {
      root: "replica-root",
      profile: "web",
    });
    rootId = root.id;
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await b?.stop();
    await a?.stop();
    await db?.drop();
  });

  it("a replay on replica B while replica A stores the request: one store wins, and both callers get the same certificate and key", async () => {
    // Hold replica A in the middle of finishing the request: the statement that stores it
    // waits for this table lock (inserts conflict with SHARE), after A has signed.
    const blocker = new Client({ connectionString: db.url });
    await blocker.connect();
    try {
      await blocker.query("begin");
      await blocker.query("lock table certificate in share mode");
      const request = attrRequest("web", {
        cn: "busy.example.com",
        dns: ["busy.example.com"],
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
        requestId: "busy-1",
      });
      const waitingLocks = async () =>
        Number(
          (
            await db.query<{ n: string }>(
              "select count(*) as n from pg_locks l join pg_database d on d.oid = l.database where not l.granted and d.datname = current_database()",
            )
          )[0]!.n,
        );
      const onA = issueOn(certificatesOn(a!), request);
      await waitFor("replica A to wait in the middle of storing", async () =>
        (await waitingLocks()) >= 1 ? true : undefined,
      );
      // A has signed, and nothing of the request is written before its one commit.
      expect(
        await db.query("select status from certificate_request where request_id = 'busy-1'"),
      ).toEqual([]);

      // Replica B starts now, next to A still at work, and gets the replay: it finds no
      // request, signs too, and its store waits beside A's.
      b = await startServerProcess(env);
      const onB = issueOn(certificatesOn(b), request);
      await waitFor("replica B's store to wait", async () =>
        (await waitingLocks()) >= 2 ? true : undefined,
      );
      await blocker.query("rollback");

      const [fromA, fromB] = await Promise.all([onA, onB]);
      for (const res of [fromA, fromB]) {
        expect(res.status).toBe(3); // ISSUED
        expect(res.certificateRequestId).toBe(fromA.certificateRequestId);
        expect(res.certificate!.certificateId).toBe(fromA.certificate!.certificateId);
        expect(res.certificate!.serialNumber).toBe(fromA.certificate!.serialNumber);
        // The generated key reaches both (the replay gets it from the request, sealed there
        // for the replay window), and it is the certificate's.
        expect(res.privateKeyPem).toBe(fromA.privateKeyPem);
        const x = new X509Certificate(res.certificate!.certificatePem);
        expect(x.checkPrivateKey(createPrivateKey(res.privateKeyPem))).toBe(true);
      }
      expect(
        await db.query(
          "select r.status, count(c.id)::int as certificates from certificate_request r left join certificate c on c.certificate_request_id = r.id where r.request_id = 'busy-1' group by r.status",
        ),
      ).toEqual([{ status: "ISSUED", certificates: 1 }]);
    } finally {
      await blocker.end();
    }
  });

  it("a revocation through replica A reaches replica B's published CRL, not after its cache period", async () => {
    expect(b).toBeDefined();
    const crlUrl = (server: ServerProcess) =>
      `http://127.0.0.1:${publicationPort(server)}/crl/${rootId}.crl`;
    const listed = async (server: ServerProcess, serial: string) => {
      const der = Buffer.from(await (await fetch(crlUrl(server))).arrayBuffer());
      const pem = `-----BEGIN X509 CRL-----\n${der.toString("base64")}\n-----END X509 CRL-----\n`;
      const text = opensslOk(["crl", "-noout", "-text"], pem);
      return text.replace(/:/g, "").toLowerCase().includes(serial.toLowerCase());
    };
    const issued = await call(
      certificatesOn(a!),
      "issueCertificate",
      attrRequest("web", { cn: "revoked.example.com", dns: ["revoked.example.com"] }),
    );
    const serial = issued.certificate!.serialNumber;
    // Both replicas sign and cache their CRL (valid for an hour here) before the revocation.
    expect(await listed(a!, serial)).toBe(false);
    expect(await listed(b!, serial)).toBe(false);

    await call(certificatesOn(a!), "revokeCertificate", {
      certificate: serial,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    expect(await listed(a!, serial)).toBe(true);
    // Within a second by design (ca/publication.ts); the generous bound is for a busy machine,
    // and still far below the hour the cache would otherwise keep the old CRL.
    await waitFor(
      "replica B's CRL to list the revoked serial",
      async () => ((await listed(b!, serial)) ? true : undefined),
      30_000,
    );
  });
});
