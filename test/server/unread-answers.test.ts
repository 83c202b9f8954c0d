/**
 * Answers a client leaves unread (src/api/unread-answers.ts). A client that stops reading
 * (HTTP/2 flow control) keeps each answer past its window in the server's memory; before
 * 2026-12-03 nothing bounded them but the calls open per connection. These tests speak raw
 * HTTP/2 so that the client really takes no byte past its window, and read the server's own
 * count of the bytes it holds.
 */
import { X509Certificate } from "node:crypto";
import { type ClientHttp2Session, type ClientHttp2Stream, connect } from "node:http2";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest, Role } from "../../gen/ts/certmint/v1/access_token_service";
import {
  CertificateView,
  ListCertificatesRequest,
  ListCertificatesResponse,
} from "../../gen/ts/certmint/v1/certificate_service";
import { ErrorInfo, RetryInfo } from "../../gen/ts/google/rpc/error_details";
import { Status } from "../../gen/ts/google/rpc/status";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  KeyAlgorithm,
  rpcError,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { parseExposition, sampleValue } from "../metrics/prometheus";
import { tableLockHolder } from "../support/table-lock";
import { waitFor } from "../support/wait";

const KIB = 1024;
const PER_CONNECTION = 256 * KIB;
// Three answers reach a connection's limit (an answer counts whole until it was all taken);
// a fourth on another connection of the same token reaches the token's.
const PER_TOKEN = 384 * KIB;
const PER_SERVER = 1024 * KIB;
const CERTIFICATES = 60;
const LIST_PATH = "/certmint.v1.CertificateService/ListCertificates";

/** A page of every certificate with its PEMs: ~1.6 KB each, so past a 64 KiB window. */
const fullPage = () =>
  ListCertificatesRequest.fromPartial({
    pageSize: CERTIFICATES,
    view: CertificateView.CERTIFICATE_VIEW_FULL,
  });

/** A page without PEMs, well within HTTP/2's default window of 64 KiB. */
const smallPage = () =>
  ListCertificatesRequest.fromPartial({
    pageSize: 10,
    view: CertificateView.CERTIFICATE_VIEW_BASIC,
  });

/** One gRPC call on a raw HTTP/2 session whose answer is not read until `read()`. */
interface RawCall {
  readonly stream: ClientHttp2Stream;
  /** The response headers: a trailers-only refusal carries grpc-status here. */
  readonly headers: Promise<Record<string, string | string[] | undefined>>;
  /** Resumes reading; resolves with the answer's bytes and its trailers. */
  read(): Promise<{ body: Buffer; trailers: Record<string, string | string[] | undefined> }>;
}

function rawCall(
  session: ClientHttp2Session,
  token: string,
  request: ListCertificatesRequest,
): RawCall {
  const stream = session.request({
    ":method": "POST",
    ":path": LIST_PATH,
    "content-type": "application/grpc",
    te: "trailers",
    authorization: `Bearer ${token}`,
  });
  stream.on("error", () => undefined);
  stream.pause();
  const message = Buffer.from(ListCertificatesRequest.encode(request).finish());
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  stream.end(frame);
  const headers = new Promise<Record<string, string | string[] | undefined>>((resolve) =>
    stream.once("response", (h) => resolve(h)),
  );
  const trailers = new Promise<Record<string, string | string[] | undefined>>((resolve) =>
    stream.once("trailers", (t) => resolve(t)),
  );
  return {
    stream,
    headers,
    async read() {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      const ended = new Promise<void>((resolve) => stream.once("end", resolve));
      stream.resume();
      await ended;
      return { body: Buffer.concat(chunks), trailers: await trailers };
    },
  };
}

/** The google.rpc.Status of a trailers-only answer: code, message, ErrorInfo, RetryInfo. */
function refusalOf(headers: Record<string, string | string[] | undefined>) {
  const raw = headers["grpc-status-details-bin"];
  const status = Status.decode(Buffer.from(String(raw), "base64"));
  const info = status.details.find((d) => d.typeUrl.endsWith(".ErrorInfo"));
  const retry = status.details.find((d) => d.typeUrl.endsWith(".RetryInfo"));
  return {
    code: Number(headers["grpc-status"]),
    message: decodeURIComponent(String(headers["grpc-message"] ?? "")),
    info: info && ErrorInfo.decode(info.value),
    retry: retry && RetryInfo.decode(retry.value),
    requestId: headers["x-request-id"],
  };
}

/** Unframes one gRPC message (5-byte prefix) from a whole answer body. */
function unframe(body: Buffer): Buffer {
  expect(body[0]).toBe(0); // not compressed
  const length = body.readUInt32BE(1);
  expect(body.length).toBe(5 + length);
  return body.subarray(5);
}

/**
 * Makes calls on `session`, one after another, each left unread, until one is refused; returns
 * the calls answered (their bytes waiting in the server) and the refusal.
 */
async function fillUntilRefused(
  session: ClientHttp2Session,
  token: string,
  request = fullPage,
  most = 40,
) {
  const answered: RawCall[] = [];
  for (let i = 0; i < most; i++) {
    const raw = rawCall(session, token, request());
    const headers = await raw.headers;
    if (headers["grpc-status"] !== undefined) return { answered, refusal: refusalOf(headers) };
    answered.push(raw);
  }
  throw new Error(`no call was refused in ${most} unread answers`);
}

describe("answers a client leaves unread (CERTMINT_UNREAD_ANSWER_BYTES*)", () => {
  let h: TestCertmint;
  let answerBytes = 0;
  const sessions: ClientHttp2Session[] = [];
  const scrape = async () => {
    const res = await fetch(`http://127.0.0.1:${h.running.metricsPort}/metrics`);
    return parseExposition(await res.text());
  };
  const open = () => {
    const session = connect(`http://${h.address}`);
    session.on("error", () => undefined);
    sessions.push(session);
    return session;
  };

  beforeAll(async () => {
    h = await startTestCertmint({
      CERTMINT_UNREAD_ANSWER_BYTES_PER_CONNECTION: String(PER_CONNECTION),
      CERTMINT_UNREAD_ANSWER_BYTES_PER_TOKEN: String(PER_TOKEN),
      CERTMINT_UNREAD_ANSWER_BYTES: String(PER_SERVER),
      CERTMINT_METRICS_LISTEN: "127.0.0.1:0",
    });
    const root = await createRoot(h, "root");
    await createProfileRows(h, { slug: "alpha", caId: root.id });
    const ec = KeyAlgorithm.KEY_ALGORITHM_EC_P256;
    for (let i = 0; i < CERTIFICATES; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, (_, j) =>
          call(
            h.certificates,
            "issueCertificate",
            attrRequest("alpha", { cn: `u${i + j}.example.com`, keyAlgorithm: ec }),
          ),
        ),
      );
    }
    const page = await call(h.certificates, "listCertificates", fullPage());
    expect(page.certificates).toHaveLength(CERTIFICATES);
    answerBytes = ListCertificatesResponse.encode(page).finish().length;
    // Larger than HTTP/2's default window: a client that reads nothing leaves part of each
    // unread, and past the server's budget such an answer is refused even on a fresh connection.
    expect(answerBytes).toBeGreaterThan(65_535);
    const small = await call(h.certificates, "listCertificates", smallPage());
    expect(ListCertificatesResponse.encode(small).finish().length).toBeLessThan(16 * KIB);
  }, 120_000);
  /** A new read-only token: its own budget, and clients (one connection) that send it. */
  let tokens = 0;
  const readerToken = async () => {
    const res = await call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug: `reader-${++tokens}`, role: Role.ROLE_AUDITOR },
      }),
    );
    return { secret: res.secret, clients: h.clientsAs(res.secret) };
  };
  afterAll(async () => {
    for (const s of sessions) s.destroy();
    await h?.stop();
  });

  it("a connection that does not read is refused past its limit, others are served, and reading releases it", async () => {
    const session = open();
    const { answered, refusal } = await fillUntilRefused(session, h.adminToken);
    expect(refusal.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refusal.info?.reason).toBe("UNREAD_ANSWERS");
    expect(refusal.info?.metadata.limit).toBe("connection");
    expect(Number(refusal.info?.metadata.connection_unread_bytes)).toBeGreaterThanOrEqual(
      PER_CONNECTION,
    );
    expect(refusal.message).toContain("CERTMINT_UNREAD_ANSWER_BYTES_PER_CONNECTION");
    expect(Number(refusal.retry?.retryDelay?.seconds)).toBeGreaterThan(0);
    // It took answers until their unread bytes reached the limit: not before, not far past.
    expect(answered.length).toBeGreaterThanOrEqual(2);
    expect((answered.length - 1) * answerBytes).toBeLessThan(PER_CONNECTION);
    const held = h.running.unreadAnswerBytes();
    expect(held).toBeGreaterThanOrEqual(PER_CONNECTION);
    expect(held).toBeLessThan(PER_CONNECTION + answerBytes);

    // Another client (the test's grpc-js connection) is answered meanwhile.
    const page = await call(h.certificates, "listCertificates", fullPage());
    expect(page.certificates).toHaveLength(CERTIFICATES);

    // The answers it was given arrive whole once the client reads.
    for (const raw of answered) {
      const { body, trailers } = await raw.read();
      expect(trailers["grpc-status"]).toBe("0");
      const answer = ListCertificatesResponse.decode(unframe(body));
      expect(answer.certificates).toHaveLength(CERTIFICATES);
      for (const c of answer.certificates) new X509Certificate(c.certificatePem);
    }
    await waitFor("the server to hold no unread answer", () => h.running.unreadAnswerBytes() === 0);

    // The same connection, now read, is answered again.
    const again = rawCall(session, h.adminToken, fullPage());
    expect((await again.headers)["grpc-status"]).toBeUndefined();
    const { trailers } = await again.read();
    expect(trailers["grpc-status"]).toBe("0");
    const warning = h.logs.find((l) => String(l.msg).startsWith("answers refused"));
    expect(warning?.limit).toBe("connection");
    // The refusal is in the access log like any call's status, with its request id.
    const refused = h.logs.filter(
      (l) => l.msg === "call" && l.method === LIST_PATH && l.code === "RESOURCE_EXHAUSTED",
    );
    expect(refused).toHaveLength(1);
    expect(refused[0]?.requestId).toBe(refusal.requestId);
  }, 120_000);

  it("one token's connections together are refused past the token's limit; another token is served", async () => {
    const reader = await readerToken();
    const first = open();
    const one = await fillUntilRefused(first, reader.secret);
    expect(one.refusal.info?.metadata.limit).toBe("connection");
    // A second connection of the same token holds less than a connection may, yet is refused:
    // the token's connections together hold its limit.
    const second = open();
    const two = await fillUntilRefused(second, reader.secret);
    expect(two.refusal.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(two.refusal.info?.reason).toBe("UNREAD_ANSWERS");
    expect(two.refusal.info?.metadata.limit).toBe("token");
    expect(two.refusal.message).toContain("CERTMINT_UNREAD_ANSWER_BYTES_PER_TOKEN");
    expect(Number(two.refusal.info?.metadata.connection_unread_bytes)).toBeLessThan(PER_CONNECTION);
    expect(Number(two.refusal.info?.metadata.token_unread_bytes)).toBeGreaterThanOrEqual(PER_TOKEN);
    expect(h.running.unreadAnswerBytes()).toBeLessThan(PER_SERVER);

    // Another token, on its own connection, is answered in full.
    const other = await readerToken();
    const page = await call(other.clients.certificates, "listCertificates", fullPage());
    expect(page.certificates).toHaveLength(CERTIFICATES);

    first.destroy();
    second.destroy();
    await waitFor("the server to hold no unread answer", () => h.running.unreadAnswerBytes() === 0);
  }, 120_000);

  it("under pressure, tokens that never read stop at their fair share, and a token that reads is still answered", async () => {
    const before = await scrape();
    const sharesBefore =
      sampleValue(before, "certmint_unread_answers_refused_total", { limit: "share" }) ?? 0;
    const hogs = [await readerToken(), await readerToken(), await readerToken()];
    const innocent = await readerToken();
    const filled: ClientHttp2Session[] = [];
    const refusals: Array<ReturnType<typeof refusalOf> | undefined> = hogs.map(() => undefined);
    // In turns, one unread answer each on a connection of its own (no connection's limit binds),
    // each hog until refused. Before the fair share they filled their own budgets (3 x 384 KiB),
    // past the server's (1 MiB), and from then on every large answer was refused.
    for (let round = 0; refusals.includes(undefined); round++) {
      expect(round).toBeLessThan(10);
      for (const [i, hog] of hogs.entries()) {
        if (refusals[i]) continue;
        const session = open();
        filled.push(session);
        const headers = await rawCall(session, hog.secret, fullPage()).headers;
        if (headers["grpc-status"] !== undefined) refusals[i] = refusalOf(headers);
      }
    }
    const held = h.running.unreadAnswerBytes();

    // A token that reads its answers gets its large pages, one after another.
    for (let i = 0; i < 3; i++) {
      const page = await call(innocent.clients.certificates, "listCertificates", fullPage());
      expect(page.certificates).toHaveLength(CERTIFICATES);
    }
    await waitFor("the pages taken", () => h.running.unreadAnswerBytes() === held);

    // The hogs hold three quarters of the server's budget or more, not all of it, and were each
    // refused at their share of the room left, below their own budgets.
    expect(held).toBeGreaterThanOrEqual(PER_SERVER * 0.75);
    expect(held).toBeLessThan(PER_SERVER);
    for (const refusal of refusals) {
      expect(refusal?.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(refusal?.info?.reason).toBe("UNREAD_ANSWERS");
      expect(refusal?.info?.metadata.limit).toBe("share");
      const token = Number(refusal?.info?.metadata.token_unread_bytes);
      expect(token).toBeGreaterThanOrEqual(Number(refusal?.info?.metadata.fair_share_bytes));
      expect(token).toBeLessThan(PER_TOKEN);
      expect(refusal?.message).toContain("fair share");
      expect(refusal?.message).toContain("CERTMINT_UNREAD_ANSWER_BYTES");
      expect(Number(refusal?.retry?.retryDelay?.seconds)).toBeGreaterThan(0);
    }
    // Asking again, on a fresh connection, each is refused the same way.
    for (const hog of hogs) {
      const session = open();
      filled.push(session);
      const again = refusalOf(await rawCall(session, hog.secret, fullPage()).headers);
      expect(again.info?.reason).toBe("UNREAD_ANSWERS");
      expect(again.info?.metadata.limit).toBe("share");
    }
    const metrics = await scrape();
    expect(sampleValue(metrics, "certmint_unread_answer_tokens")).toBe(hogs.length);
    expect(
      (sampleValue(metrics, "certmint_unread_answers_refused_total", { limit: "share" }) ?? 0) -
        sharesBefore,
    ).toBe(2 * hogs.length);

    for (const session of filled) session.destroy();
    await waitFor("the server to hold no unread answer", () => h.running.unreadAnswerBytes() === 0);
    expect(sampleValue(await scrape(), "certmint_unread_answer_tokens")).toBe(0);
  }, 120_000);

  it("past the server's ceiling, connections holding answers and large answers are refused; small ones pass; closing releases", async () => {
    const before = await scrape();
    const refusedBefore = (limit: string) =>
      sampleValue(before, "certmint_unread_answers_refused_total", { limit }) ?? 0;
    const filled: ClientHttp2Session[] = [];
    // A connection that holds one unread answer, below every limit of its own.
    const fresh = await readerToken();
    const early = open();
    filled.push(early);
    const first = rawCall(early, fresh.secret, fullPage());
    expect((await first.headers)["grpc-status"]).toBeUndefined();
    const refusedAt: string[] = [];
    // Tokens fill connections, each token up to its own limit or, past three quarters of the
    // server's budget, its fair share of the room left, until the server holds its budget: each
    // newcomer holds nothing, so it gets an answer (past its share by up to one answer).
    while (h.running.unreadAnswerBytes() < PER_SERVER) {
      const reader = await readerToken();
      for (;;) {
        const session = open();
        filled.push(session);
        const { refusal } = await fillUntilRefused(session, reader.secret);
        refusedAt.push(String(refusal.info?.metadata.limit));
        if (refusal.info?.metadata.limit !== "connection") break;
      }
      expect(filled.length).toBeLessThan(12);
    }
    const held = h.running.unreadAnswerBytes();
    expect(held).toBeLessThan(PER_SERVER + PER_TOKEN + answerBytes);

    // A token holding nothing, on a fresh connection: a large answer is refused...
    const other = await readerToken();
    const err = await rpcError(call(other.clients.certificates, "listCertificates", fullPage()));
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.reason).toBe("UNREAD_ANSWERS");
    expect(err.metadata.limit).toBe("server");
    expect(err.message).toContain("CERTMINT_UNREAD_ANSWER_BYTES");
    // ...and one within HTTP/2's default window is answered (a client takes it whole).
    const small = await call(other.clients.certificates, "listCertificates", smallPage());
    expect(small.certificates).toHaveLength(10);
    await waitFor("the small answer taken", () => h.running.unreadAnswerBytes() === held);
    // The connection that held one answer before the budget was reached: far below its own
    // limits, yet refused now, even a small answer.
    const late = rawCall(early, fresh.secret, smallPage());
    const refusal = refusalOf(await late.headers);
    expect(refusal.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refusal.info?.metadata.limit).toBe("server");
    // The answer and its 5-byte gRPC message prefix.
    expect(Number(refusal.info?.metadata.connection_unread_bytes)).toBe(answerBytes + 5);
    expect(refusal.message).toContain("this connection holds");
    // Its first answer is still whole once read.
    const { body, trailers } = await first.read();
    expect(trailers["grpc-status"]).toBe("0");
    expect(ListCertificatesResponse.decode(unframe(body)).certificates).toHaveLength(CERTIFICATES);

    const metrics = await scrape();
    expect(sampleValue(metrics, "certmint_unread_answer_bytes")).toBe(
      h.running.unreadAnswerBytes(),
    );
    const refusals = (limit: string) =>
      (sampleValue(metrics, "certmint_unread_answers_refused_total", { limit }) ?? 0) -
      refusedBefore(limit);
    const count = (limit: string) => refusedAt.filter((l) => l === limit).length;
    expect(refusals("connection")).toBe(count("connection"));
    expect(refusals("token")).toBe(count("token"));
    expect(refusals("share")).toBe(count("share"));
    expect(count("share")).toBeGreaterThan(0);
    // Those of the fill, the large answer and the late connection's.
    expect(refusals("server")).toBe(count("server") + 2);

    // Clients that go away release what they held, without reading it.
    for (const session of filled) session.destroy();
    await waitFor("the server to hold no unread answer", () => h.running.unreadAnswerBytes() === 0);
    expect(sampleValue(await scrape(), "certmint_unread_answer_bytes")).toBe(0);
    const page = await call(other.clients.certificates, "listCertificates", fullPage());
    expect(page.certificates).toHaveLength(CERTIFICATES);
  }, 120_000);

  it("a list whose connection is past its limit is refused when its turn comes, before its page is read", async () => {
    const { secret } = await readerToken();
    const session = open();
    const { refusal } = await fillUntilRefused(session, secret);
    expect(refusal.info?.metadata.limit).toBe("connection");
    // The page's query could not finish now: a list that ran it would wait on the lock, in its
    // list place (h.running.listQueries()), until the lock goes.
    const holder = await tableLockHolder(h, "certificate");
    await holder.lock();
    try {
      const raw = rawCall(session, secret, fullPage());
      let headers: Record<string, string | string[] | undefined> | undefined;
      void raw.headers.then((got) => {
        headers = got;
      });
      await waitFor("the list refused, or running its query", () => {
        // Without the check before the work it runs and waits: fail then rather than wait.
        expect(h.running.listQueries().running).toBe(0);
        return headers !== undefined;
      });
      const early = refusalOf(headers!);
      expect(early.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(early.info?.reason).toBe("UNREAD_ANSWERS");
      expect(early.info?.metadata.limit).toBe("connection");
    } finally {
      await holder.release();
      await holder.end();
      session.destroy();
    }
  });
});
