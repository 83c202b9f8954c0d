/**
 * Stop 47: a certificate that server-driven renewal issued is named in the log as a gRPC
 * call's line names what it issued (server/call-logging.ts `issued`: certificateId, serial, ca,
 * caId, notAfter), beside the renewed certificate's id: after a restore from a backup the log is
 * what still knows the certificates issued since (README: Backups). Until stop 47 of 2026-12-06
 * the "automatic renewal" line named the successor's id only. Never a key, CSR or PEM, also for
 * a generated key's successor (a new key pair, held sealed for its owner). PostgreSQL, in-process,
 * with a clock the test moves.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  attrRequest,
  createProfileRows,
  createRoot,
  csrRequest,
  ISSUED,
  issue,
  KeyAlgorithm,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { opensslCsr } from "../support/fixtures";
import { waitFor } from "../support/wait";
import { autoRenew, MovableClock } from "./helpers";

describe("the log line of an automatic renewal", () => {
  let h: TestCertmint;
  const clock = new MovableClock();
  let rootId = "";

  beforeAll(async () => {
    h = await startTestCertmint(
      { CERTMINT_RENEWAL_TICK_MS: "50", CERTMINT_RENEWAL_RETRY_SECONDS: "300" },
      { now: clock.now },
    );
    rootId = (await createRoot(h, "logged-auto-root")).id;
    const { profileId } = await createProfileRows(h, { slug: "auto", caId: rootId });
    // TTL 2 minutes, renewed 1 minute before notAfter.
    await autoRenew(h.db, profileId, { renewBeforeSeconds: 60 }, 120);
  });
  afterAll(async () => {
    await h?.stop();
  });

  const renewalLines = (certificateId: string) =>
    h.logs.filter((l) => l.msg === "automatic renewal" && l.certificateId === certificateId);

  it("names the successor's serial, id, CA and notAfter, and the renewed certificate's id; never a key", async () => {
    const { csrPem } = opensslCsr("/CN=csr-logged.example.com", ["DNS:csr-logged.example.com"]);
    const fromCsr = await issue(h, csrRequest("auto", csrPem));
    const generated = await issue(
      h,
      attrRequest("auto", {
        cn: "gen-logged.example.com",
        dns: ["gen-logged.example.com"],
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      }),
    );
    expect(fromCsr.status).toBe(ISSUED);
    expect(generated.status).toBe(ISSUED);
    const ids = [fromCsr.certificate!.certificateId, generated.certificate!.certificateId];

    clock.advance(65);
    await waitFor("a renewal line for both certificates", () =>
      ids.every((id) => renewalLines(id).length > 0),
    );

    for (const id of ids) {
      const [successor] = await h.db.query<{
        id: string;
        serial_number: string;
        not_after: Date;
        renewed_from_id: string;
      }>(
        `select s.id, s.serial_number, s.not_after, s.renewed_from_id from certificate c
           join certificate s on s.id = c.renewed_by_id where c.id = $1`,
        [id],
      );
      expect(successor, "the successor is stored and linked").toBeDefined();
      const lines = renewalLines(id);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        level: 30,
        result: "RENEWED",
        // The renewed certificate, and what was issued for it.
        certificateId: id,
        successorId: successor!.id,
        issued: {
          certificateId: successor!.id,
          serial: successor!.serial_number.toLowerCase(),
          ca: "logged-auto-root",
          caId: rootId,
          notAfter: successor!.not_after.toISOString(),
        },
      });
      const text = JSON.stringify(lines[0]);
      expect(text).not.toContain("BEGIN");
      expect(text).not.toContain("PRIVATE");
      expect(text).not.toContain("certmint_");
    }
  });
});
