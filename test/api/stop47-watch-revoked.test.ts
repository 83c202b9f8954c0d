/**
 * Stop 47 of 2026-12-06 (outside probe, F4): an open WatchCertificates stream ends with
 * UNAUTHENTICATED as soon as the server process it is on learns that its credential is no
 * longer in force: the token revoked through this process, or through another one (the
 * credential-change announcement), or a revocation missed while the listener was down (read
 * again when it reconnects), or the token's expiry. Before, an idle stream stayed open until
 * its next KEEPALIVE (30 s by default), holding its token's place, and its client was not told.
 *
 * The keepalive is an hour here, so nothing but the fix can end an idle stream within a test:
 * the tests wait for the stream's end (the state), with a bound far below the keepalive, and
 * check that another token's stream is still open and still receives events.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ClientCertificateIdentityType,
  CreateAccessTokenRequest,
  RevokeAccessTokenRequest,
} from "../../gen/ts/certmint/v1/access_token_service";
import { CertificateEventType } from "../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import { presetSpec } from "../../src/issuance/policy-engine";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  KeyAlgorithm,
  Role,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { MovableClock } from "../renewal/helpers";
import { type CertmintClients, decodeError, expectRpcError } from "../support/harness";
import { type ClientCert, type MtlsServer, startMtlsServer } from "../support/mtls-server";
import { TempDir } from "../support/openssl";
import { waitFor } from "../support/wait";
import { WatchStream } from "../support/watch-stream";

const ISSUED = CertificateEventType.CERTIFICATE_EVENT_TYPE_ISSUED;
const ec = KeyAlgorithm.KEY_ALGORITHM_EC_P256;
/** Only the fix ends an idle stream: its next KEEPALIVE is an hour away. */
const QUIET = { CERTMINT_WATCH_KEEPALIVE_MS: "3600000", CERTMINT_WATCH_POLL_MS: "50" };
/** Far below the keepalive (and below the default 30 s one): a hung stream fails the test. */
const END_BOUND_MS = 20_000;

const listProfiles = (c: CertmintClients) =>
  call(c.profiles, "listCertificateProfiles", { pageSize: 1, pageToken: "" });

describe("an open watch ends as soon as its credential is no longer in force", () => {
  const clock = new MovableClock();
  let a: TestCertmint;
  let b: TestCertmint;
  const watches: WatchStream[] = [];
  const watch = (c: CertmintClients) => {
    const w = new WatchStream(c, {
      scope: { $case: "certificateProfile", value: "alpha" },
    });
    watches.push(w);
    return w;
  };
  const ended = (w: WatchStream, what: string) =>
    waitFor(`${what} to end`, () => w.error !== undefined, END_BOUND_MS);
  /** `w` is open and reading: it receives a certificate issued now. */
  const stillReading = async (h: TestCertmint, w: WatchStream, name: string) => {
    const issued = await call(
      h.certificates,
      "issueCertificate",
      attrRequest("alpha", { cn: name, dns: [name], keyAlgorithm: ec }),
    );
    const id = issued.certificate!.certificateId;
    await waitFor(`the other watch to receive ${name}`, () =>
      w.certificateIds(ISSUED).includes(id),
    );
    expect(w.error).toBeUndefined();
  };
  let alphaId: string;
  /** An issuer token of profile alpha: its id, secret and clients of A. */
  const issuer = async (slug: string) => {
    const res = await call(
      a.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug, role: Role.ROLE_ISSUER, certificateProfiles: [alphaId] },
      }),
    );
    return { id: res.accessToken!.id, secret: res.secret, clients: a.clientsAs(res.secret) };
  };

  beforeAll(async () => {
    a = await startTestCertmint(QUIET, { now: clock.now });
    // The same database and data directory (the same admin token and key-encryption key).
    b = await startTestCertmint({ ...QUIET, DATABASE_URL: a.db.url, CERTMINT_DATA_DIR: a.dataDir });
    const root = await createRoot(a, "root");
    alphaId = (await createProfileRows(a, { slug: "alpha", caId: root.id })).profileId;
    await waitFor("both credential listeners", async () => {
      const [row] = await a.db.query<{ n: string }>(
        `select count(*) as n from pg_stat_activity
          where datname = current_database() and query = 'LISTEN "certmint_credentials"'`,
      );
      return Number(row!.n) >= 2;
    });
  });
  afterAll(async () => {
    for (const w of watches) w.cancel();
    await b?.stop();
    await a?.stop();
  });

  it("revoked through the same process: UNAUTHENTICATED TOKEN_REVOKED at once, as a unary call gets it; another token's watch stays open", async () => {
    const t = await issuer("here");
    const other = await issuer("here-other");
    const w = watch(t.clients);
    const o = watch(other.clients);
    await waitFor("both watches open", () => w.open && o.open);

    await call(
      a.accessTokens,
      "revokeAccessToken",
      RevokeAccessTokenRequest.fromPartial({ accessToken: t.id }),
    );
    await ended(w, "the revoked token's watch");
    const streamErr = decodeError(w.error);
    expect(streamErr).toMatchObject({ code: status.UNAUTHENTICATED, reason: "TOKEN_REVOKED" });
    // The refusal a unary call with the token gets, word for word (revocation time included).
    const unary = await expectRpcError(listProfiles(t.clients));
    expect(unary).toMatchObject({ code: status.UNAUTHENTICATED, reason: "TOKEN_REVOKED" });
    expect(streamErr.message).toBe(unary.message);
    expect(streamErr.message).toMatch(/^access token "here" was revoked at \d{4}-/);
    await stillReading(a, o, "here.example.com");
  });

  it("revoked through another process: the watch on B ends as B hears of it; another token's watch on B stays open", async () => {
    const t = await issuer("there");
    const other = await issuer("there-other");
    const w = watch(b.clientsAs(t.secret));
    const o = watch(b.clientsAs(other.secret));
    await waitFor("both watches open on B", () => w.open && o.open);

    await call(
      a.accessTokens,
      "revokeAccessToken",
      RevokeAccessTokenRequest.fromPartial({ accessToken: t.id }),
    );
    await ended(w, "the revoked token's watch on B");
    expect(decodeError(w.error)).toMatchObject({
      code: status.UNAUTHENTICATED,
      reason: "TOKEN_REVOKED",
    });
    expect(decodeError(w.error).message).toMatch(/^access token "there" was revoked at /);
    await stillReading(a, o, "there.example.com");
  });

  it("a revoke_created_tokens cascade through A ends the watches on B of every token of the line", async () => {
    const lead = await call(
      a.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug: "lead", role: Role.ROLE_ADMIN },
      }),
    );
    // Made by the lead: a token of its line.
    const made = await call(
      a.clientsAs(lead.secret).accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug: "made", role: Role.ROLE_ISSUER, certificateProfiles: [alphaId] },
      }),
    );
    const other = await issuer("line-other");
    const w = watch(b.clientsAs(made.secret));
    const o = watch(b.clientsAs(other.secret));
    await waitFor("both watches open on B", () => w.open && o.open);

    await call(a.accessTokens, "revokeAccessToken", {
      accessToken: lead.accessToken!.id,
      revokeCreatedTokens: true,
    });
    await ended(w, "the watch on B of a token of the line");
    expect(decodeError(w.error)).toMatchObject({
      code: status.UNAUTHENTICATED,
      reason: "TOKEN_REVOKED",
    });
    expect(decodeError(w.error).message).toMatch(/^access token "made" was revoked at /);
    await stillReading(a, o, "line.example.com");
  });

  it("a revocation no process announced: read again when the listener reconnects, and the watch ends", async () => {
    const t = await issuer("missed");
    const other = await issuer("missed-other");
    const w = watch(b.clientsAs(t.secret));
    const o = watch(b.clientsAs(other.secret));
    await waitFor("both watches open on B", () => w.open && o.open);
    const unknownBefore = b.running.credentialChangesReceived().get("unknown") ?? 0;

    // Revoked behind certmint's back (as if its announcement was lost), then every credential
    // listener's connection cut: on reconnecting, a process cannot know what it missed.
    await a.db.query("update access_token set revoked_at = now() where id = $1", [t.id]);
    await a.db.query(
      `select pg_terminate_backend(pid) from pg_stat_activity
        where datname = current_database() and query = 'LISTEN "certmint_credentials"'`,
    );
    await waitFor("B's listener to reconnect", () => {
      return (b.running.credentialChangesReceived().get("unknown") ?? 0) > unknownBefore;
    });
    await ended(w, "the watch of the token revoked unannounced");
    expect(decodeError(w.error)).toMatchObject({
      code: status.UNAUTHENTICATED,
      reason: "TOKEN_REVOKED",
    });
    await stillReading(a, o, "missed.example.com");
  });

  it("a token that expires while its watch is open: UNAUTHENTICATED TOKEN_EXPIRED at its expiry", async () => {
    const created = await call(
      a.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug: "brief", role: Role.ROLE_ISSUER, certificateProfiles: [alphaId] },
        ttl: { seconds: "60", nanos: 0 },
      }),
    );
    const other = await issuer("brief-other");
    // A's clock 52 s on: the token has some 8 s left, real time, for A.
    clock.advance(52);
    const w = watch(a.clientsAs(created.secret));
    const o = watch(other.clients);
    await waitFor("both watches open", () => w.open && o.open);
    await ended(w, "the expiring token's watch");
    expect(decodeError(w.error)).toMatchObject({
      code: status.UNAUTHENTICATED,
      reason: "TOKEN_EXPIRED",
    });
    expect(decodeError(w.error).message).toMatch(/^access token "brief" expired at /);
    await stillReading(a, o, "brief.example.com");
  });
});

describe("an open watch authenticated by a client certificate ends when the certificate, or its token, is revoked", () => {
  const dir = new TempDir();
  let h: TestCertmint;
  let tls: MtlsServer;
  const watches: WatchStream[] = [];
  const certs: Record<string, { cert: ClientCert; id: string; tokenId: string }> = {};

  beforeAll(async () => {
    h = await startTestCertmint(QUIET);
    const root = await createRoot(h, "clients-root");
    const spec = presetSpec("TLS_CLIENT");
    spec.sans.dns = { allowed: ["**.example.com"], denied: [], required: false };
    await createProfileRows(h, { slug: "clients", caId: root.id, spec });
    // What the watches below watch: the revocations make events of profile "clients", which
    // would end a watch of them at its next message's check without the fix.
    await createProfileRows(h, { slug: "quiet", caId: root.id });
    for (const name of ["cert-revoked", "token-revoked", "stays"]) {
      // Bound first, then issued: a certificate counts only for a binding made before it.
      const token = await call(
        h.accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: {
            slug: name,
            role: Role.ROLE_AUDITOR,
            clientCertificateBinding: {
              identityType: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_DNS_SAN,
              value: `${name}.example.com`,
              certificateAuthority: "clients-root",
            },
          },
        }),
      );
      const issued = await call(
        h.certificates,
        "issueCertificate",
        attrRequest("clients", { dns: [`${name}.example.com`], ttlSeconds: 3600 }),
      );
      certs[name] = {
        cert: { certPem: issued.certificate!.certificatePem, keyPem: issued.privateKeyPem },
        id: issued.certificate!.certificateId,
        tokenId: token.accessToken!.id,
      };
    }
    // Another server process on the same database: the revocations below are made through h.
    tls = await startMtlsServer(h, dir, root.certificatePem, { env: QUIET });
  });
  afterAll(async () => {
    for (const w of watches) w.cancel();
    await tls?.stop();
    await h?.stop();
    dir.remove();
  });

  it("the certificate revoked: CLIENT_CERTIFICATE_REVOKED; its token revoked: TOKEN_REVOKED; another stays open", async () => {
    const open = (name: string) => {
      const w = new WatchStream(tls.over(certs[name]!.cert), {
        scope: { $case: "certificateProfile", value: "quiet" },
      });
      watches.push(w);
      return w;
    };
    const byCert = open("cert-revoked");
    const byToken = open("token-revoked");
    const stays = open("stays");
    await waitFor("the three watches open", () => byCert.open && byToken.open && stays.open);

    await call(h.certificates, "revokeCertificate", {
      certificate: certs["cert-revoked"]!.id,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    await waitFor(
      "the revoked certificate's watch to end",
      () => byCert.error !== undefined,
      END_BOUND_MS,
    );
    expect(decodeError(byCert.error)).toMatchObject({
      code: status.UNAUTHENTICATED,
      reason: "CLIENT_CERTIFICATE_REVOKED",
    });

    await call(
      h.accessTokens,
      "revokeAccessToken",
      RevokeAccessTokenRequest.fromPartial({ accessToken: certs["token-revoked"]!.tokenId }),
    );
    await waitFor(
      "the revoked token's certificate watch to end",
      () => byToken.error !== undefined,
      END_BOUND_MS,
    );
    expect(decodeError(byToken.error)).toMatchObject({
      code: status.UNAUTHENTICATED,
      reason: "TOKEN_REVOKED",
    });

    // The third is open and reading: it receives a certificate issued now.
    const issued = await call(
      h.certificates,
      "issueCertificate",
      attrRequest("quiet", { cn: "q.example.com", dns: ["q.example.com"], keyAlgorithm: ec }),
    );
    const id = issued.certificate!.certificateId;
    await waitFor("the other watch to receive it", () => stays.certificateIds(ISSUED).includes(id));
    expect(stays.error).toBeUndefined();
  });
});
