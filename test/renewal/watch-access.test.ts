import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateEventType,
  RenewCertificateRequest,
  type WatchCertificatesRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
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
import { type CertmintClients, decodeError } from "../support/harness";
import { waitFor } from "../support/wait";
import { WatchStream as Watch } from "../support/watch-stream";

const T = CertificateEventType;

describe("WatchCertificates: who sees what", () => {
  let h: TestCertmint;
  let issuer: { id: string; clients: CertmintClients };
  let issuer2: { clients: CertmintClients };
  let betaIssuer: { clients: CertmintClients };
  let auditor: { clients: CertmintClients };
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
      CERTMINT_WATCH_RETENTION_SECONDS: "3600",
    });
    const root = await createRoot(h, "root");
    const alpha = await createProfileRows(h, { slug: "alpha", caId: root.id });
    const beta = await createProfileRows(h, { slug: "beta", caId: root.id });
    issuer = await createToken(h, "alpha-issuer", Role.ROLE_ISSUER, [alpha.profileId]);
    issuer2 = await createToken(h, "alpha-issuer-2", Role.ROLE_ISSUER, [alpha.profileId]);
    betaIssuer = await createToken(h, "beta-issuer", Role.ROLE_ISSUER, [beta.profileId]);
    auditor = await createToken(h, "auditor", Role.ROLE_AUDITOR);
  });
  afterAll(async () => {
    for (const w of watches) w.cancel();
    await h?.stop();
  });

  it("an issuer sees its profile's events and its own keys; an auditor sees all, and no key", async () => {
    const mine = watch(issuer.clients, {});
    const audit = watch(auditor.clients, {});
    await waitFor("both watches open", () => mine.open && audit.open);

    const ec = KeyAlgorithm.KEY_ALGORITHM_EC_P256;
    const other = await call(
      h.certificates,
      "issueCertificate",
      attrRequest("beta", { cn: "b.example.com", dns: ["b.example.com"], keyAlgorithm: ec }),
    );
    const own = await call(
      issuer.clients.certificates,
      "issueCertificate",
      attrRequest("alpha", { cn: "a.example.com", dns: ["a.example.com"], keyAlgorithm: ec }),
    );
    const otherId = other.certificate!.certificateId;
    const ownId = own.certificate!.certificateId;

    await waitFor("the auditor to see both issuances", () =>
      [otherId, ownId].every((id) =>
        audit.certificateIds(T.CERTIFICATE_EVENT_TYPE_ISSUED).includes(id),
      ),
    );
    await waitFor("the issuer to see its own", () =>
      mine.certificateIds(T.CERTIFICATE_EVENT_TYPE_ISSUED).includes(ownId),
    );
    // Caught up past both (a keepalive comes only when nothing is left to send).
    const seen = mine.events.length;
    await waitFor("the issuer's watch idle again", () => mine.keepalivesAfter(seen));
    expect(mine.error).toBeUndefined();
    expect(mine.events.flatMap((e) => (e.certificate ? [e.certificate.id] : []))).not.toContain(
      otherId,
    );

    const ownEvent = mine.events.find((e) => e.certificate?.id === ownId)!;
    expect(ownEvent.privateKeyPem).toBe(own.privateKeyPem);
    expect(audit.events.filter((e) => e.privateKeyPem !== "")).toEqual([]);
  });

  // An event's message is built and encoded once for the watches that read it together
  // (src/api/watch-certificates.ts, watchMessageOf): watches of tokens that see different things,
  // several each, open at once on the same events, must each still get exactly their own.
  it("watches of tokens with different visibility, open together, each get exactly theirs", async () => {
    const tokens = { issuer, issuer2, betaIssuer, auditor };
    const open = Object.fromEntries(
      Object.entries(tokens).map(([name, t]) => [name, [0, 1, 2].map(() => watch(t.clients, {}))]),
    ) as Record<keyof typeof tokens, Watch[]>;
    await waitFor("every watch open", () =>
      Object.values(open).every((ws) => ws.every((w) => w.open)),
    );

    const ec = KeyAlgorithm.KEY_ALGORITHM_EC_P256;
    const issue = (c: CertmintClients, profile: string, cn: string) =>
      call(
        c.certificates,
        "issueCertificate",
        attrRequest(profile, { cn, dns: [cn], keyAlgorithm: ec }),
      );
    const mine = await issue(issuer.clients, "alpha", "v1.example.com");
    const theirs = await issue(issuer2.clients, "alpha", "v2.example.com");
    const beta = await issue(betaIssuer.clients, "beta", "v3.example.com");
    const [mineId, theirsId, betaId] = [mine, theirs, beta].map(
      (r) => r.certificate!.certificateId,
    );

    // What each may see, and the key each event carries to it (its own certificates' only).
    const expected: Record<keyof typeof tokens, Record<string, string>> = {
      issuer: { [mineId!]: mine.privateKeyPem, [theirsId!]: "" },
      issuer2: { [mineId!]: "", [theirsId!]: theirs.privateKeyPem },
      betaIssuer: { [betaId!]: beta.privateKeyPem },
      auditor: { [mineId!]: "", [theirsId!]: "", [betaId!]: "" },
    };
    expect(mine.privateKeyPem).not.toBe("");
    expect(theirs.privateKeyPem).not.toBe("");
    for (const [name, ws] of Object.entries(open) as Array<[keyof typeof tokens, Watch[]]>) {
      const want = expected[name];
      for (const w of ws) {
        await waitFor(`${name}'s watch to see its issuances`, () =>
          Object.keys(want).every((id) =>
            w.certificateIds(T.CERTIFICATE_EVENT_TYPE_ISSUED).includes(id),
          ),
        );
        // Caught up past all three (a keepalive comes only when nothing is left to send).
        const seen = w.events.length;
        await waitFor(`${name}'s watch idle again`, () => w.keepalivesAfter(seen));
        expect(w.error).toBeUndefined();
        const issued = w.of(T.CERTIFICATE_EVENT_TYPE_ISSUED);
        expect(Object.fromEntries(issued.map((e) => [e.certificate!.id, e.privateKeyPem]))).toEqual(
          want,
        );
        const named = w.events.flatMap((e) => (e.certificate ? [e.certificate.id] : []));
        expect(named.filter((id) => !(id in want))).toEqual([]);
      }
    }
  });

  it("refuses a profile the token does not list, and a cursor the server never sent", async () => {
    const beta = watch(issuer.clients, { scope: { $case: "certificateProfile", value: "beta" } });
    await waitFor("the refusal", () => beta.error !== undefined);
    expect(decodeError(beta.error)).toMatchObject({ code: 7, reason: "PROFILE_NOT_GRANTED" });
    expect(beta.events).toEqual([]);

    const forged = watch(auditor.clients, { afterCursor: "not-a-cursor" });
    await waitFor("the refusal", () => forged.error !== undefined);
    expect(decodeError(forged.error)).toMatchObject({ code: 3, reason: "CURSOR_INVALID" });

    // Well formed but ahead of the newest event (found by an outside probe, 2026-12-05): it was
    // taken as the resume point, and the watch then missed every event up to it, silently.
    const [newest] = await h.db.query<{ position: string | null }>(
      "select max(position) as position from certificate_event",
    );
    const ahead = String(Number(newest!.position ?? 0) + 1000);
    const early = watch(auditor.clients, { afterCursor: ahead });
    await waitFor("the refusal", () => early.error !== undefined);
    const refusal = decodeError(early.error);
    expect(refusal).toMatchObject({ code: 3, reason: "CURSOR_INVALID" });
    expect(refusal.message).toContain("ahead of the newest event");
    // Not the newest position: it counts every profile's events.
    expect(refusal.message).not.toContain(`(${newest!.position ?? 0})`);
    expect(refusal.message).not.toMatch(new RegExp(`\\b${newest!.position ?? 0}\\b`));
    expect(early.events).toEqual([]);
  });

  it("GetCurrentCertificate follows renewals to the newest certificate", async () => {
    const first = await call(
      h.certificates,
      "issueCertificate",
      attrRequest("alpha", { cn: "l.example.com", dns: ["l.example.com"] }),
    );
    const id = first.certificate!.certificateId;
    const second = await call(
      h.certificates,
      "renewCertificate",
      RenewCertificateRequest.fromPartial({ certificateId: id }),
    );
    const third = await call(
      h.certificates,
      "renewCertificate",
      RenewCertificateRequest.fromPartial({ certificateId: second.certificate!.certificateId }),
    );
    for (const ref of [id, second.certificate!.certificateId, third.certificate!.certificateId]) {
      const current = await call(h.certificates, "getCurrentCertificate", { certificate: ref });
      expect(current.certificate!.id).toBe(third.certificate!.certificateId);
    }
  });

  // Last: it ages every event past the retention.
  it("a cursor whose events were deleted for age is CURSOR_EXPIRED, not a silent gap", async () => {
    const [first] = await h.db.query<{ position: string }>(
      "select min(position) as position from certificate_event",
    );
    const cursor = first!.position;
    // Events are aged by PostgreSQL's clock (their created_at is its), not the server's: they
    // are written an hour older than they are.
    await h.db.query(
      `update certificate_event set created_at = created_at - interval '3601 seconds'`,
    );
    await waitFor("the old events deleted", async () => {
      const [row] = await h.db.query<{ position: string }>(
        "select position from certificate_event_horizon",
      );
      return Number(row!.position) > Number(cursor);
    });
    const stale = watch(auditor.clients, { afterCursor: cursor });
    await waitFor("the refusal", () => stale.error !== undefined);
    expect(decodeError(stale.error)).toMatchObject({ code: 9, reason: "CURSOR_EXPIRED" });
    expect(stale.events).toEqual([]);
  });
});
