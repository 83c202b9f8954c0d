/**
 * Stop-52 outside probe: the embedded default (`make run`: no DATABASE_URL, PGlite, ONE database
 * connection that every call takes in turn; README "The data directory and the embedded
 * database") when one caller does everything expensive at once, and a second caller only wants
 * its certificate.
 *
 * The expensive caller (its own admin token): name-contains walks of a few thousand
 * certificates in the FULL view, CRLs of a CA with a thousand revoked certificates signed anew
 * on every call (CERTMINT_CRL_CACHE_SECONDS=0), a WatchCertificates stream it never reads while
 * thousands of events are written, and approvals of RSA-2048 requests (the server generates
 * the keys). Meanwhile the second caller's IssueCertificate and GetCertificate must complete
 * within their own deadline (30 s), and no call of anyone ends INTERNAL. On the embedded
 * database CERTMINT_LIST_QUERY_TIMEOUT_MS does not apply (README: PGlite ignores
 * statement_timeout), so nothing but the server's own turn-taking keeps the one connection
 * shared. Latencies are printed, never asserted.
 */
import { X509Certificate } from "node:crypto";
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClientReadableStream } from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetCertificateRevocationListRequest } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import { CreateCertificateProfileRequest } from "../../../gen/ts/certmint/v1/certificate_profile_service";
import {
  CertificateRequestStatus,
  CertificateView,
  type IssueCertificateResponse,
  ListCertificatesRequest,
  type ListCertificatesResponse,
  WatchCertificatesRequest,
  type WatchCertificatesResponse,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm, RevocationReason } from "../../../gen/ts/certmint/v1/common";
import {
  closeClients,
  createRootProfile,
  generatedKeyRequest,
  startEmbedded,
} from "../../probe49/emb/support";
import { grpcFrame, rawSession, rawStream } from "../../probe51/latency/attack";
import { type CertmintClients, call, makeClients } from "../../support/harness";
import { type ServerProcess, START_LIMIT_MS } from "../../support/server-process";
import { waitFor } from "../../support/wait";
import { callWithin, codeName, type Ended, inBatches, Role, tokenOf } from "./support";

/** Progress lines in PROBE52_PROGRESS (a file), for a run that hangs. */
const progress = (line: string) => {
  const file = process.env.PROBE52_PROGRESS;
  if (file) appendFileSync(file, `${new Date().toISOString()} ${line}\n`);
};
const ISSUED = CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED;
const PENDING_APPROVAL = CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL;
/** Certificates the expensive caller holds, and how many of them it revoked. */
const CERTIFICATES = 500;
const REVOKED = 200;
const APPROVALS = 3;
const VICTIM_ROUNDS = 4;

describe("probe52 EMBEDDED: one caller's expensive calls against another's issuance on the one connection", {
  timeout: 3 * START_LIMIT_MS,
}, () => {
  const base = mkdtempSync(join(tmpdir(), "certmint-probe52-onecon-"));
  let server: ServerProcess;
  let admin: CertmintClients;
  let heavy: CertmintClients;
  let heavySecret = "";
  let victim: CertmintClients;
  let unread: ClientReadableStream<WatchCertificatesResponse> | undefined;
  let unreadGot = 0;
  const heavyEnded: Array<Ended<unknown> & { what: string }> = [];
  const note = (what: string, e: Ended<unknown>) => {
    heavyEnded.push({ ...e, what });
    progress(`heavy ${what} ${codeName(e.code)} ${e.reason ?? ""} ${e.ms}ms`);
    return e;
  };

  beforeAll(async () => {
    server = await startEmbedded(join(base, "data"), { CERTMINT_CRL_CACHE_SECONDS: "0" });
    admin = makeClients(server.address, server.adminToken());
    await createRootProfile(admin, "One Connection Root");
    await call(
      admin.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: "web-approved",
          certificatePolicy: "web-tls",
          issuer: { $case: "certificateAuthority", value: "root" },
          requireApproval: true,
        },
      }),
    );
    const heavyToken = await tokenOf(server, admin, "heavy", Role.ROLE_ADMIN);
    heavy = heavyToken.c;
    heavySecret = heavyToken.secret;
    victim = (await tokenOf(server, admin, "victim", Role.ROLE_ADMIN)).c;

    // The heavy caller's watch, opened before its thousands of certificates and never read:
    // grpc-js stops reading the socket once its buffer is full, so the server must hold back.
    unread = heavy.certificates.watchCertificates(
      WatchCertificatesRequest.fromPartial({
        scope: { $case: "certificateProfile", value: "web" },
      }),
    );
    unread.on("data", () => {
      unreadGot++;
      unread?.pause();
    });
    unread.on("error", () => undefined);
    let open = false;
    unread.on("metadata", () => {
      open = true;
    });
    await waitFor("the unread watch to open", () => open);

    const t0 = Date.now();
    const issued = await inBatches(
      Array.from({ length: CERTIFICATES }, (_, i) => i),
      16,
      (i) =>
        call(
          heavy.certificates,
          "issueCertificate",
          generatedKeyRequest("web", `bulk-${i}`, `n-${i}.bulk.example.com`),
        ),
    );
    expect(issued.every((r) => r.status === ISSUED)).toBe(true);
    console.log("probe52 one-connection: issued in", Date.now() - t0, "ms");
    await inBatches(issued.slice(0, REVOKED), 16, (r) =>
      call(heavy.certificates, "revokeCertificate", {
        certificate: r.certificate!.certificateId,
        reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
      }),
    );
    progress(`revoked by ${Date.now() - t0} ms`);
    console.log("probe52 one-connection: revoked by", Date.now() - t0, "ms");
  }, 3 * START_LIMIT_MS);

  afterAll(async () => {
    unread?.cancel();
    closeClients(admin);
    closeClients(heavy);
    closeClients(victim);
    await server?.stop("SIGKILL");
    rmSync(base, { recursive: true, force: true });
  });

  /** The second caller's rounds of IssueCertificate then GetCertificate, each with its deadline. */
  async function victimRounds(tag: string) {
    const ended: Array<Ended<unknown> & { what: string }> = [];
    for (let i = 0; i < VICTIM_ROUNDS; i++) {
      const issued = await callWithin<IssueCertificateResponse>(
        victim.certificates,
        "issueCertificate",
        generatedKeyRequest("web", `victim-${tag}-${i}`, `victim-${tag}-${i}.example.com`),
      );
      ended.push({ ...issued, what: "IssueCertificate" });
      progress(`victim issue ${codeName(issued.code)} ${issued.ms}ms ${issued.message ?? ""}`);
      if (issued.code !== status.OK) continue;
      const got = await callWithin(victim.certificates, "getCertificate", {
        certificate: issued.res!.certificate!.certificateId,
      });
      ended.push({ ...got, what: "GetCertificate" });
      progress(`victim get ${codeName(got.code)} ${got.ms}ms ${got.message ?? ""}`);
    }
    return ended;
  }

  /**
   * Runs `heavyRound` over and over (`lanes` at once) until the victim's rounds are done, which
   * start once a first heavy round has ended (an observed state); returns what both saw.
   */
  async function against(tag: string, lanes: number, heavyRound: () => Promise<void>) {
    let stop = false;
    let rounds = 0;
    const loops = Array.from({ length: lanes }, async () => {
      while (!stop) {
        await heavyRound();
        rounds++;
      }
    });
    const before = heavyEnded.length;
    await waitFor(`a first round of ${tag}`, () => rounds > 0, 120_000);
    const victimEnded = await victimRounds(tag);
    stop = true;
    await Promise.all(loops);
    const mine = heavyEnded.slice(before);
    console.log(
      `probe52 one-connection [${tag}]: victim`,
      victimEnded.map((e) => `${e.what}:${codeName(e.code)}:${e.ms}ms`).join(" "),
      "| heavy rounds",
      rounds,
      "| heavy",
      JSON.stringify(
        mine.reduce<Record<string, number>>((acc, e) => {
          const k = `${e.what}:${codeName(e.code)}${e.reason ? `/${e.reason}` : ""}`;
          acc[k] = (acc[k] ?? 0) + 1;
          return acc;
        }, {}),
      ),
      "max ms",
      Math.max(0, ...mine.map((e) => e.ms)),
    );
    return { victimEnded, heavy: mine };
  }

  /** The victim got every certificate it asked for; nobody's call ended INTERNAL or hung. */
  function expectServed(
    victimEnded: Array<Ended<unknown> & { what: string }>,
    heavy: Array<Ended<unknown> & { what: string }>,
  ) {
    expect(
      victimEnded
        .filter((e) => e.code !== status.OK)
        .map((e) => `${e.what}: ${codeName(e.code)} ${e.reason ?? ""} ${e.message ?? ""}`),
    ).toEqual([]);
    const issued = victimEnded.filter((e) => e.what === "IssueCertificate");
    expect(issued).toHaveLength(VICTIM_ROUNDS);
    for (const e of issued) {
      const pem = (e.res as IssueCertificateResponse).certificate!.certificatePem;
      expect(new X509Certificate(pem).subjectAltName).toMatch(/^DNS:victim-/);
    }
    expect(
      heavy
        .filter((e) => [status.INTERNAL, status.UNKNOWN].includes(e.code))
        .map((e) => `${e.what}: ${codeName(e.code)} ${e.message}`),
    ).toEqual([]);
  }

  it("while one caller walks a name-contains search of its 500 certificates in the FULL view, another's issuance and read complete", async () => {
    const { victimEnded, heavy: seen } = await against("list", 2, async () => {
      let pageToken = "";
      do {
        const e = note(
          "ListCertificates",
          await callWithin<ListCertificatesResponse>(
            heavy.certificates,
            "listCertificates",
            ListCertificatesRequest.fromPartial({
              nameContains: "bulk",
              view: CertificateView.CERTIFICATE_VIEW_FULL,
              pageSize: 1000,
              pageToken,
            }),
          ),
        );
        if (e.code !== status.OK) return;
        pageToken = (e.res as ListCertificatesResponse).nextPageToken;
      } while (pageToken);
    });
    expectServed(victimEnded, seen);
  });

  it("while one caller has a CA's CRL of 200 revoked certificates signed anew on every call, another's issuance and read complete", async () => {
    const { victimEnded, heavy: seen } = await against("crl", 2, async () => {
      note(
        "GetCertificateRevocationList",
        await callWithin(
          heavy.authorities,
          "getCertificateRevocationList",
          GetCertificateRevocationListRequest.fromPartial({ certificateAuthority: "root" }),
        ),
      );
    });
    expectServed(victimEnded, seen);
  });

  it("while one caller's RSA-2048 requests wait for approval and are approved, another's issuance and read complete", async () => {
    let n = 0;
    const { victimEnded, heavy: seen } = await against("approval", 1, async () => {
      const asked = await inBatches(
        Array.from({ length: APPROVALS }, () => n++),
        APPROVALS,
        (i) =>
          callWithin<IssueCertificateResponse>(
            heavy.certificates,
            "issueCertificate",
            generatedKeyRequest(
              "web-approved",
              `approve-${i}`,
              `a-${i}.example.com`,
              KeyAlgorithm.KEY_ALGORITHM_RSA_2048,
            ),
          ),
      );
      for (const a of asked) note("IssueCertificate (approval)", a);
      await inBatches(asked, APPROVALS, async (a) => {
        if (a.res?.status !== PENDING_APPROVAL) return;
        note(
          "ApproveCertificateRequest",
          await callWithin(admin.certificates, "approveCertificateRequest", {
            certificateRequestId: a.res.certificateRequestId,
            comment: "probe52",
          }),
        );
      });
    });
    expectServed(victimEnded, seen);
  });

  it("while one caller leaves 8 FULL pages of 500 certificates unread on its own HTTP/2 connection, another's issuance and read complete", async () => {
    const session = rawSession(server.address);
    const streams = Array.from({ length: 8 }, () => {
      const stream = rawStream(session, "/certmint.v1.CertificateService/ListCertificates", {
        authorization: `Bearer ${heavySecret}`,
      });
      stream.pause();
      stream.end(
        grpcFrame(
          Buffer.from(
            ListCertificatesRequest.encode(
              ListCertificatesRequest.fromPartial({
                nameContains: "bulk",
                view: CertificateView.CERTIFICATE_VIEW_FULL,
                pageSize: 1000,
              }),
            ).finish(),
          ),
        ),
      );
      let answered = false;
      stream.on("response", () => {
        answered = true;
      });
      return { stream, answered: () => answered };
    });
    try {
      // The answers are being written (their headers came) and are not read.
      await waitFor("the unread answers' headers", () => streams.every((s) => s.answered()));
      const victimEnded = await victimRounds("unread");
      expectServed(victimEnded, []);
      console.log(
        "probe52 one-connection [unread]: victim",
        victimEnded.map((e) => `${e.what}:${codeName(e.code)}:${e.ms}ms`).join(" "),
      );
    } finally {
      session.destroy();
    }
  });

  it("the unread watch held the server back rather than failing it, and once read it carries on", async () => {
    expect(server.child.exitCode).toBeNull();
    // The paused stream got at most what fits in its buffers; reading it now, it gets more.
    const before = unreadGot;
    unread?.removeAllListeners("data");
    unread?.on("data", () => {
      unreadGot++;
    });
    unread?.resume();
    await waitFor("the unread watch to deliver more once read", () => unreadGot > before + 100);
  });
});
