/**
 * Probe 51 (RENEWAL): WatchCertificates and the keys of renewals, on the compiled server and its
 * own PostgreSQL database: events against the rows PostgreSQL holds (each once, in position
 * order), a watch resumed on another replica after its server stopped, watches of a token whose
 * profile is deleted, and the request_id of certmint's own renewal replayed by its owner and by
 * others.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrivateKeyRetention } from "../../../gen/ts/certmint/v1/certificate_profile_service";
import { CertificateEventType } from "../../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm, RevocationReason } from "../../../gen/ts/certmint/v1/common";
import { type LiveCertmint, Role, startLive, token } from "../../probe49/api/live";
import {
  type CertmintClients,
  call,
  decodeError,
  expectRpcError,
  makeClients,
} from "../../support/harness";
import { START_LIMIT_MS, startServerProcess } from "../../support/server-process";
import { waitFor } from "../../support/wait";
import { WatchStream } from "../../support/watch-stream";
import {
  createPolicy,
  createProfile,
  createRoot,
  issue,
  renew,
  seconds,
  updateProfile,
  validity,
} from "./kit";

const T = CertificateEventType;
const KEEPALIVE = T.CERTIFICATE_EVENT_TYPE_KEEPALIVE;
const TYPE_OF: Record<string, CertificateEventType> = {
  ISSUED: T.CERTIFICATE_EVENT_TYPE_ISSUED,
  RENEWED: T.CERTIFICATE_EVENT_TYPE_RENEWED,
  REVOKED: T.CERTIFICATE_EVENT_TYPE_REVOKED,
  RENEWAL_FAILED: T.CERTIFICATE_EVENT_TYPE_RENEWAL_FAILED,
  EXPIRING: T.CERTIFICATE_EVENT_TYPE_EXPIRING,
  HOLD_RELEASED: T.CERTIFICATE_EVENT_TYPE_HOLD_RELEASED,
};

describe("probe51 RENEWAL: watches and the keys of renewals", {
  timeout: 2 * START_LIMIT_MS + 180_000,
}, () => {
  let live: LiveCertmint;
  let rootId: string;
  const watches: WatchStream[] = [];

  const setup = async (slug: string, more: Parameters<typeof createProfile>[4] = {}) => {
    await createPolicy(live, `${slug}-policy`);
    await createProfile(live, slug, `${slug}-policy`, rootId, more);
    return token(live, `${slug}-owner`, Role.ROLE_ISSUER, [slug]);
  };
  const watch = (c: CertmintClients, req: ConstructorParameters<typeof WatchStream>[1]) => {
    const w = new WatchStream(c, req);
    watches.push(w);
    return w;
  };
  beforeAll(async () => {
    live = await startLive({
      CERTMINT_RENEWAL_TICK_MS: "200",
      CERTMINT_RENEWAL_RETRY_SECONDS: "1",
      CERTMINT_RENEWAL_RETRY_MAX_SECONDS: "2",
      CERTMINT_WATCH_KEEPALIVE_MS: "500",
    });
    rootId = (await createRoot(live, "root")).id;
  });
  afterAll(async () => {
    for (const w of watches) w.cancel();
    await live?.stop();
  });

  it("a profile watch gets every event PostgreSQL numbered for the profile, once each, in position order, with its position as cursor", async () => {
    const owner = await setup("order");
    const w = watch(live.admin, { scope: { $case: "certificateProfile", value: "order" } });
    await waitFor("the watch's first KEEPALIVE", () => w.of(KEEPALIVE).length > 0);
    const first = await Promise.all(
      Array.from({ length: 8 }, (_, i) => issue(owner.clients, "order", `o-${i}.example.com`)),
    );
    const ids = first.map((r) => r.certificate!.certificateId);
    await Promise.all([
      ...ids.slice(0, 4).map((id) => renew(owner.clients, id)),
      ...ids.slice(4).map((id) =>
        call(live.admin.certificates, "revokeCertificate", {
          certificate: id,
          reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
        }),
      ),
      ...Array.from({ length: 4 }, (_, i) => issue(owner.clients, "order", `p-${i}.example.com`)),
    ]);
    const profileId = (
      await live.db.query<{ id: string }>("select id from certificate_profile where slug = 'order'")
    )[0]!.id;
    const expected = 8 + 4 + 4 + 4;
    const numbered = () =>
      live.db.query<{ position: string; type: string; certificate_id: string }>(
        `select e.position::text as position, e.type, e.certificate_id from certificate_event e
          where e.profile_id = $1 and e.position is not null order by e.position`,
        [profileId],
      );
    await waitFor("every event numbered", async () => (await numbered()).length === expected);
    const got = () => w.events.filter((e) => e.type !== KEEPALIVE);
    await waitFor("every event on the watch", () => got().length >= expected);
    const rows = await numbered();
    expect(got().map((e) => [e.cursor, e.type, e.certificate!.id])).toEqual(
      rows.map((r) => [r.position, TYPE_OF[r.type], r.certificate_id]),
    );
    // Keys: the admin owns none of these.
    expect(got().every((e) => e.privateKeyPem === "")).toBe(true);
  });

  it("a lineage watch ended by its server's stop resumes on another replica from its last cursor: each renewal once, its key to the owner, no CURRENT again", async () => {
    const replica = await startServerProcess({
      DATABASE_URL: live.db.url,
      CERTMINT_KEK: live.kek,
      CERTMINT_LOG_FORMAT: "json",
      CERTMINT_RENEWAL_ENABLED: "false",
      CERTMINT_WATCH_KEEPALIVE_MS: "500",
    });
    const owner = await setup("resume");
    const onReplica = makeClients(replica.address, owner.secret);
    try {
      const cert = (await issue(owner.clients, "resume", "resume.example.com")).certificate!;
      const w = watch(owner.clients, {
        scope: { $case: "certificateId", value: cert.certificateId },
      });
      await waitFor("CURRENT", () => w.of(T.CERTIFICATE_EVENT_TYPE_CURRENT).length > 0);
      const a = await renew(owner.clients, cert.certificateId);
      await waitFor("RENEWED", () => w.of(T.CERTIFICATE_EVENT_TYPE_RENEWED).length > 0);
      await live.server.stop();
      await waitFor("the stream's end", () => w.error !== undefined);
      const ended = decodeError(w.error);
      expect([ended.code, ended.reason]).toEqual([status.UNAVAILABLE, "SERVER_STOPPING"]);
      const last = w.events.at(-1)!.cursor;

      // While the watch is away: two renewals through the replica.
      const b = await renew(onReplica, a.certificate!.certificateId);
      const c = await renew(onReplica, b.certificate!.certificateId);
      const again = watch(onReplica, {
        scope: { $case: "certificateId", value: cert.certificateId },
        afterCursor: last,
      });
      await waitFor("both renewals", () => again.of(T.CERTIFICATE_EVENT_TYPE_RENEWED).length >= 2);
      await waitFor("a KEEPALIVE after them", () =>
        again.keepalivesAfter(
          again.events.findIndex((e) => e.certificate?.id === c.certificate!.certificateId) + 1,
        ),
      );
      expect(again.of(T.CERTIFICATE_EVENT_TYPE_CURRENT)).toHaveLength(0);
      expect(again.seen()).toEqual([
        [T.CERTIFICATE_EVENT_TYPE_RENEWED, b.certificate!.certificateId],
        [T.CERTIFICATE_EVENT_TYPE_RENEWED, c.certificate!.certificateId],
      ]);
      for (const e of again.of(T.CERTIFICATE_EVENT_TYPE_RENEWED)) {
        expect(e.privateKeyPem).toMatch(/BEGIN PRIVATE KEY/);
      }
      const cursors = again.events.map((e) => BigInt(e.cursor));
      expect(cursors.every((x, i) => i === 0 || x >= cursors[i - 1]!)).toBe(true);
      // Nothing at or before the cursor it resumed from but a KEEPALIVE at that position.
      for (const e of again.events) {
        if (e.type !== KEEPALIVE) expect(BigInt(e.cursor) > BigInt(last)).toBe(true);
      }
    } finally {
      for (const client of Object.values(onReplica)) (client as { close(): void }).close();
      await replica.stop();
    }
  });
});

describe("probe51 RENEWAL: watches of a token whose profile is deleted, and the server's renewal request_id", {
  timeout: START_LIMIT_MS + 120_000,
}, () => {
  let live: LiveCertmint;
  let rootId: string;
  const watches: WatchStream[] = [];
  const watch = (c: CertmintClients, req: ConstructorParameters<typeof WatchStream>[1]) => {
    const w = new WatchStream(c, req);
    watches.push(w);
    return w;
  };

  beforeAll(async () => {
    live = await startLive({
      CERTMINT_RENEWAL_TICK_MS: "200",
      CERTMINT_RENEWAL_RETRY_SECONDS: "1",
      CERTMINT_RENEWAL_RETRY_MAX_SECONDS: "2",
      CERTMINT_WATCH_KEEPALIVE_MS: "500",
    });
    rootId = (await createRoot(live, "root")).id;
  });
  afterAll(async () => {
    for (const w of watches) w.cancel();
    await live?.stop();
  });
  const successors = (id: string) => live.count("certificate", "renewed_from_id = $1", [id]);

  it("an issuer's watches (everything, a lineage) get nothing of its deleted profile's certificates, nor of a new profile with its slug", async () => {
    await createPolicy(live, "del-policy");
    await createProfile(live, "del", "del-policy", rootId);
    const issuer = await token(live, "del-issuer", Role.ROLE_ISSUER, ["del"]);
    const cert = (await issue(issuer.clients, "del", "del.example.com")).certificate!;
    const all = watch(issuer.clients, {});
    const line = watch(issuer.clients, {
      scope: { $case: "certificateId", value: cert.certificateId },
    });
    await waitFor("both watches", () => all.of(KEEPALIVE).length > 0 && line.events.length > 0);
    // The issuance's event reached the watches first: what follows the deletion is the question.
    await waitFor(
      "the ISSUED event on the global watch",
      () =>
        all.certificateIds(T.CERTIFICATE_EVENT_TYPE_ISSUED).includes(cert.certificateId) ||
        all.of(KEEPALIVE).some((k) => BigInt(k.cursor) >= 1n && all.events.length > 1),
    );
    await call(live.admin.profiles, "deleteCertificateProfile", {
      certificateProfile: "del",
      force: true,
      etag: "",
    });
    const before = BigInt(
      (
        await live.db.query<{ p: string | null }>(
          "select max(position)::text as p from certificate_event",
        )
      )[0]!.p ?? "0",
    );
    await createProfile(live, "del", "del-policy", rootId);
    const fresh = (await issue(live.admin, "del", "fresh.example.com")).certificate!;
    await call(live.admin.certificates, "revokeCertificate", {
      certificate: cert.certificateId,
      reason: RevocationReason.REVOCATION_REASON_CESSATION_OF_OPERATION,
    });
    // An admin's watch from the start sees both events: they are numbered.
    const admin = watch(live.admin, { afterCursor: all.of(KEEPALIVE)[0]!.cursor });
    await waitFor(
      "the admin's watch to see both",
      () =>
        admin.certificateIds(T.CERTIFICATE_EVENT_TYPE_ISSUED).includes(fresh.certificateId) &&
        admin.certificateIds(T.CERTIFICATE_EVENT_TYPE_REVOKED).includes(cert.certificateId),
    );
    const lastAdmin = BigInt(admin.events.filter((e) => e.type !== KEEPALIVE).at(-1)!.cursor);
    // The issuer's watches have moved past them (a KEEPALIVE at or past their cursor), or ended.
    await waitFor("the issuer's watches past them", () =>
      [all, line].every(
        (w) =>
          w.error !== undefined ||
          w.events.some((e) => e.type === KEEPALIVE && BigInt(e.cursor) >= lastAdmin),
      ),
    );
    // README: issuers receive events of the profiles on their token only; the deletion took the
    // profile off the token in its transaction.
    const sinceDeletion = (w: WatchStream) =>
      w.events
        .filter((e) => e.type !== KEEPALIVE && BigInt(e.cursor) > before)
        .map((e) => [e.type, e.certificate?.id]);
    expect({ all: sinceDeletion(all), line: sinceDeletion(line) }).toEqual({ all: [], line: [] });
  });

  it("the request_id of certmint's renewal: the owner's replay returns the successor and its key; an admin's and a co-issuer's same request_id get no key", async () => {
    await createPolicy(live, "rid-policy");
    await createProfile(live, "rid", "rid-policy", rootId, {
      defaults: { ttl: seconds(3600), keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256 },
      renewal: { autoRenew: false, renewBefore: seconds(300), allowSharedRenewal: true },
      privateKeyRetention: PrivateKeyRetention.PRIVATE_KEY_RETENTION_RETURN_ONCE,
    });
    const owner = await token(live, "rid-owner", Role.ROLE_ISSUER, ["rid"]);
    const sibling = await token(live, "rid-sibling", Role.ROLE_ISSUER, ["rid"]);
    const cert = (await issue(owner.clients, "rid", "rid.example.com", { ttl: seconds(200) }))
      .certificate!;
    await updateProfile(
      live,
      "rid",
      { renewal: { autoRenew: true, renewBefore: seconds(300), allowSharedRenewal: true } },
      ["renewal.auto_renew"],
    );
    await waitFor("the server's renewal", async () => (await successors(cert.certificateId)) === 1);
    const [succ] = await live.db.query<{ id: string }>(
      "select id from certificate where renewed_from_id = $1",
      [cert.certificateId],
    );
    const requestId = `certmint-auto-renewal:${cert.certificateId}:0`;
    // The request as the renewer made it: the profile's default TTL, no key source.
    const replay = await renew(owner.clients, cert.certificateId, {
      requestId,
      ttl: seconds(3600),
    });
    expect(replay.certificate!.certificateId).toBe(succ!.id);
    expect(replay.privateKeyPem).toMatch(/BEGIN PRIVATE KEY/);
    const x = validity(replay.certificate!.certificatePem).x;
    expect(
      x.checkPrivateKey((await import("node:crypto")).createPrivateKey(replay.privateKeyPem)),
    ).toBe(true);

    for (const other of [live.admin, sibling.clients]) {
      const e = await expectRpcError(
        renew(other, cert.certificateId, { requestId, ttl: seconds(3600) }),
      );
      // Theirs is no replay (no request of theirs has that id), and the id is the renewer's:
      // REQUEST_ID_RESERVED since stop 60 of 2026-12-08 (CERTIFICATE_ALREADY_RENEWED before).
      expect([e.code, e.reason]).toEqual([status.INVALID_ARGUMENT, "REQUEST_ID_RESERVED"]);
      expect(e.message).not.toMatch(/PRIVATE KEY/);
    }
    expect(await successors(cert.certificateId)).toBe(1);
  });

  it("the owner's replay of certmint's renewal by its request_id alone (README: 'a replay of the renewal's request_id by the owner') returns the successor and its key", async () => {
    await createPolicy(live, "plain-policy");
    await createProfile(live, "plain", "plain-policy", rootId, {
      defaults: { ttl: seconds(3600), keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256 },
      renewal: { autoRenew: false, renewBefore: seconds(300) },
      privateKeyRetention: PrivateKeyRetention.PRIVATE_KEY_RETENTION_RETURN_ONCE,
    });
    const owner = await token(live, "plain-owner", Role.ROLE_ISSUER, ["plain"]);
    const cert = (await issue(owner.clients, "plain", "plain.example.com", { ttl: seconds(200) }))
      .certificate!;
    await updateProfile(
      live,
      "plain",
      { renewal: { autoRenew: true, renewBefore: seconds(300) } },
      ["renewal.auto_renew"],
    );
    await waitFor("the server's renewal", async () => (await successors(cert.certificateId)) === 1);
    // What the owner knows of that renewal: the certificate and the request's id (GetCertificate,
    // ListCertificateRequests); not the TTL the renewer chose (the profile's default at the time).
    const answer = await renew(owner.clients, cert.certificateId, {
      requestId: `certmint-auto-renewal:${cert.certificateId}:0`,
    }).then(
      (res) => res.privateKeyPem,
      (err: unknown) => {
        const e = decodeError(err);
        return `${e.code} ${e.reason}`;
      },
    );
    expect(answer).toMatch(/BEGIN PRIVATE KEY/);
  });
});
