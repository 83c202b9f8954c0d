/**
 * A private key handed out through WatchCertificates is audited, as GetRequestStatus's handout
 * is: one record per key sent (actor: the watcher; resource: the certificate; method
 * WatchCertificates; never the key), none for events without a key or for watchers who get no
 * key, written before the event is sent. When the record cannot be written the key is not
 * sent: the stream ends with the error. On PostgreSQL, in-process.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateEventType,
  type WatchCertificatesRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  createToken,
  csrRequest,
  KeyAlgorithm,
  Role,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { opensslCsr } from "../support/fixtures";
import { type CertmintClients, decodeError } from "../support/harness";
import { waitFor } from "../support/wait";
import { WatchStream as Watch } from "../support/watch-stream";

const T = CertificateEventType;
const METHOD = "/certmint.v1.CertificateService/WatchCertificates";

describe("WatchCertificates: audit of the private keys it hands out", () => {
  let h: TestCertmint;
  let issuer: { id: string; slug: string; clients: CertmintClients };
  let auditor: { id: string; clients: CertmintClients };
  const watches: Watch[] = [];
  const watch = (c: CertmintClients, req: Partial<WatchCertificatesRequest>) => {
    const w = new Watch(c, req);
    watches.push(w);
    return w;
  };

  beforeAll(async () => {
    h = await startTestCertmint({
      CERTMINT_WATCH_KEEPALIVE_MS: "200",
      CERTMINT_WATCH_POLL_MS: "50",
    });
    const root = await createRoot(h, "root");
    // Keys kept with the certificate: every ISSUED and CURRENT event carries it to the owner.
    const { profileId } = await createProfileRows(h, {
      slug: "kept",
      caId: root.id,
      privateKeyRetention: "STORE_ENCRYPTED",
    });
    issuer = await createToken(h, "kept-issuer", Role.ROLE_ISSUER, [profileId]);
    auditor = await createToken(h, "auditor", Role.ROLE_AUDITOR);
  });
  afterAll(async () => {
    for (const w of watches) w.cancel();
    await h?.stop();
  });

  const watchAudits = async () =>
    (
      await call(h.audit, "listAuditRecords", {
        pageSize: 1000,
        pageToken: "",
        actor: "",
        method: METHOD,
        resourceType: "",
        resourceId: "",
        failuresOnly: false,
      })
    ).auditRecords;

  let generatedId = "";

  it("records one handout per key sent, to its owner only, and none for events without a key", async () => {
    const mine = watch(issuer.clients, { scope: { $case: "certificateProfile", value: "kept" } });
    const audit = watch(auditor.clients, { scope: { $case: "certificateProfile", value: "kept" } });
    await waitFor("both watches open", () => mine.open && audit.open);

    const generated = await call(
      issuer.clients.certificates,
      "issueCertificate",
      attrRequest("kept", {
        cn: "gen.example.com",
        dns: ["gen.example.com"],
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      }),
    );
    const { csrPem } = opensslCsr("/CN=csr.example.com", ["DNS:csr.example.com"]);
    const fromCsr = await call(
      issuer.clients.certificates,
      "issueCertificate",
      csrRequest("kept", csrPem),
    );
    generatedId = generated.certificate!.certificateId;
    const csrId = fromCsr.certificate!.certificateId;
    await waitFor("both watches to see both issuances", () =>
      [mine, audit].every((w) =>
        [generatedId, csrId].every((id) =>
          w.certificateIds(T.CERTIFICATE_EVENT_TYPE_ISSUED).includes(id),
        ),
      ),
    );
    const keyOf = (w: Watch, id: string) =>
      w.of(T.CERTIFICATE_EVENT_TYPE_ISSUED).find((e) => e.certificate!.id === id)!.privateKeyPem;
    expect(keyOf(mine, generatedId)).toContain("BEGIN PRIVATE KEY");
    expect(keyOf(mine, csrId)).toBe("");
    expect(keyOf(audit, generatedId)).toBe("");

    const records = await watchAudits();
    expect(
      records.map((r) => [r.actor, r.actorSlug, r.resourceType, r.resourceId, r.statusCode]),
    ).toEqual([[issuer.id, "kept-issuer", "certificate", generatedId, 0]]);
    // Never the key itself.
    expect(JSON.stringify(records)).not.toContain("PRIVATE KEY");

    // A watch of the certificate: its CURRENT event hands the key out again, recorded again.
    const lineage = watch(issuer.clients, {
      scope: { $case: "certificateId", value: generatedId },
    });
    await waitFor(
      "the CURRENT event",
      () => lineage.of(T.CERTIFICATE_EVENT_TYPE_CURRENT).length > 0,
    );
    expect(lineage.of(T.CERTIFICATE_EVENT_TYPE_CURRENT)[0]!.privateKeyPem).toContain(
      "BEGIN PRIVATE KEY",
    );
    const after = await watchAudits();
    expect(after.filter((r) => r.resourceId === generatedId && r.actor === issuer.id)).toHaveLength(
      2,
    );
    expect(after).toHaveLength(2);
  });

  it("sends no key when its record cannot be written: the stream ends with the error", async () => {
    // The audit trail refuses the watch's records (as a full disk or a lost primary would).
    await h.db.query(`create function refuse_watch_audit() returns trigger language plpgsql as $$
      begin
        if new.method = '${METHOD}' then raise exception 'audit record refused by the test'; end if;
        return new;
      end $$`);
    await h.db.query(
      "create trigger refuse_watch_audit before insert on audit_record for each row execute function refuse_watch_audit()",
    );
    try {
      const refused = watch(issuer.clients, {
        scope: { $case: "certificateId", value: generatedId },
      });
      // Ended, or (what this test refuses) sent its CURRENT event.
      await waitFor(
        "the stream to end or send its first event",
        () => refused.error !== undefined || refused.events.length > 0,
      );
      expect(refused.events.filter((e) => e.privateKeyPem !== "")).toEqual([]);
      expect(refused.of(T.CERTIFICATE_EVENT_TYPE_CURRENT)).toEqual([]);
      expect(decodeError(refused.error).code).toBe(13); // INTERNAL, as any unexpected error
    } finally {
      await h.db.query("drop trigger refuse_watch_audit on audit_record");
      await h.db.query("drop function refuse_watch_audit()");
    }
    const records = await watchAudits();
    expect(records).toHaveLength(2);

    // Once the trail takes records again, a new watch gets the key, recorded.
    const again = watch(issuer.clients, { scope: { $case: "certificateId", value: generatedId } });
    await waitFor("the CURRENT event", () => again.of(T.CERTIFICATE_EVENT_TYPE_CURRENT).length > 0);
    expect(again.of(T.CERTIFICATE_EVENT_TYPE_CURRENT)[0]!.privateKeyPem).toContain(
      "BEGIN PRIVATE KEY",
    );
    expect(await watchAudits()).toHaveLength(3);
  });
});
