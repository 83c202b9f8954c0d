/**
 * An issuer watching its own certificates with many streams: each issuance's generated key is
 * handed to the token once, one audit record, however many of its streams receive it; each
 * stream still gets the key, no other token does. Until stop 44 of 2026-12-06 every stream wrote
 * its own record (an outside probe, C F8: 100 streams, 100 records per issuance, 15,508 records
 * for 2,370 issuances). On PostgreSQL, in-process; the records are counted in audit_record.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificateEventType } from "../../gen/ts/certmint/v1/certificate_service";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  createToken,
  KeyAlgorithm,
  Role,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import type { CertmintClients } from "../support/harness";
import { waitFor } from "../support/wait";
import { WatchStream as Watch } from "../support/watch-stream";

const ISSUED = CertificateEventType.CERTIFICATE_EVENT_TYPE_ISSUED;
const METHOD = "/certmint.v1.CertificateService/WatchCertificates";
const STREAMS = 20;

describe("WatchCertificates: one key hand-out per issuance and token, not per stream", () => {
  let h: TestCertmint;
  let issuer: { id: string; clients: CertmintClients };
  let other: { id: string; clients: CertmintClients };
  const watches: Watch[] = [];

  beforeAll(async () => {
    // No KEEPALIVE rounds of their own: the streams read when woken by new events, together.
    h = await startTestCertmint({
      CERTMINT_WATCH_KEEPALIVE_MS: "600000",
      CERTMINT_WATCH_POLL_MS: "50",
    });
    const root = await createRoot(h, "root");
    const { profileId } = await createProfileRows(h, { slug: "gen", caId: root.id });
    issuer = await createToken(h, "gen-issuer", Role.ROLE_ISSUER, [profileId]);
    other = await createToken(h, "gen-other", Role.ROLE_ISSUER, [profileId]);
  });
  afterAll(async () => {
    for (const w of watches) w.cancel();
    await h?.stop();
  });

  const records = async (certificateId: string) =>
    (
      await h.db.query<{ actor_id: string; n: string }>(
        "select actor_id, count(*) as n from audit_record where method = $1 and resource_id = $2 group by actor_id",
        [METHOD, certificateId],
      )
    ).map((r) => [r.actor_id, Number(r.n)]);

  const issueGenerated = async (cn: string) =>
    (
      await call(
        issuer.clients.certificates,
        "issueCertificate",
        attrRequest("gen", { cn, dns: [cn], keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256 }),
      )
    ).certificate!.certificateId;

  it(`${STREAMS} streams of the owner: each gets the key, one audit record per issuance`, async () => {
    const scope = { $case: "certificateProfile" as const, value: "gen" };
    const mine = Array.from({ length: STREAMS }, () => new Watch(issuer.clients, { scope }));
    const theirs = new Watch(other.clients, { scope });
    watches.push(...mine, theirs);
    await waitFor("every watch open with its first cursor", () =>
      [...mine, theirs].every((w) => w.open && w.events.length > 0),
    );

    for (const cn of ["one.example.com", "two.example.com"]) {
      const id = await issueGenerated(cn);
      await waitFor(`every stream to see ${cn}`, () =>
        [...mine, theirs].every((w) => w.certificateIds(ISSUED).includes(id)),
      );
      const keys = mine.map(
        (w) => w.of(ISSUED).find((e) => e.certificate!.id === id)!.privateKeyPem,
      );
      expect(keys.every((k) => k.includes("BEGIN PRIVATE KEY"))).toBe(true);
      expect(new Set(keys).size).toBe(1);
      expect(theirs.of(ISSUED).find((e) => e.certificate!.id === id)!.privateKeyPem).toBe("");
      // Until stop 44: STREAMS records.
      expect(await records(id)).toEqual([[issuer.id, 1]]);
    }
  });
});
