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
import { waitFor } from "../support/wait";

const KIB = 1024;
const PER_CONNECTION = 256 * KIB;
const PER_SERVER = 1024 * KIB;
const CERTIFICATES = 60;
const LIST_PATH = "/certmint.v1.CertificateService/ListCertificates";

/** A page of every certificate with its PEMs: ~1.6 KB each, so past a 64 KiB window. */
const fullPage = () =>
  ListCertificatesRequest.fromPartial({
    pageSize: CERTIFICATES,
    view: CertificateView.CERTIFICATE_VIEW_FULL,
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
async function fillUntilRefused(session: ClientHttp2Session, token: string, most = 20) {
  const answered: RawCall[] = [];
  for (let i = 0; i < most; i++) {
    const raw = rawCall(session, token, fullPage());
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
  }, 120_000);
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
    expect((answered.length - 1) * answerBytes - 65_535).toBeLessThan(PER_CONNECTION);
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

  it("past the server's budget, connections holding answers and large answers are refused; small ones pass; closing releases", async () => {
    const before = await scrape();
    const refusedBefore = (limit: string) =>
      sampleValue(before, "certmint_unread_answers_refused_total", { limit }) ?? 0;
    const connectionBefore = refusedBefore("connection");
    const serverBefore = refusedBefore("server");
    const filled: Array<{ session: ClientHttp2Session; limit?: string }> = [];
    while (h.running.unreadAnswerBytes() < PER_SERVER) {
      const session = open();
      const { refusal } = await fillUntilRefused(session, h.adminToken);
      filled.push({ session, limit: refusal.info?.metadata.limit });
      expect(filled.length).toBeLessThan(10);
    }
    // The last connection was stopped by the server's budget before its own.
    expect(filled.at(-1)?.limit).toBe("server");
    const held = h.running.unreadAnswerBytes();
    expect(held).toBeLessThan(PER_SERVER + PER_CONNECTION + answerBytes);

    // A fresh connection holding nothing: a large answer is refused...
    const err = await rpcError(call(h.certificates, "listCertificates", fullPage()));
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.reason).toBe("UNREAD_ANSWERS");
    expect(err.metadata.limit).toBe("server");
    expect(err.message).toContain("CERTMINT_UNREAD_ANSWER_BYTES");
    // ...and one within HTTP/2's default window is answered.
    const small = await call(
      h.certificates,
      "listCertificates",
      ListCertificatesRequest.fromPartial({
        pageSize: 5,
        view: CertificateView.CERTIFICATE_VIEW_BASIC,
      }),
    );
    expect(small.certificates).toHaveLength(5);
    expect(h.running.unreadAnswerBytes()).toBe(held);
    const metrics = await scrape();
    expect(sampleValue(metrics, "certmint_unread_answer_bytes")).toBe(held);
    // One per connection stopped at its own limit, and two at the server's: the last
    // connection filled, and the large answer above.
    const refusals = (limit: string) =>
      sampleValue(metrics, "certmint_unread_answers_refused_total", { limit }) ?? 0;
    expect(refusals("connection") - connectionBefore).toBe(
      filled.filter((f) => f.limit === "connection").length,
    );
    expect(refusals("server") - serverBefore).toBe(2);

    // Clients that go away release what they held, without reading it.
    for (const { session } of filled) session.destroy();
    await waitFor("the server to hold no unread answer", () => h.running.unreadAnswerBytes() === 0);
    expect(sampleValue(await scrape(), "certmint_unread_answer_bytes")).toBe(0);
    const page = await call(h.certificates, "listCertificates", fullPage());
    expect(page.certificates).toHaveLength(CERTIFICATES);
  }, 120_000);
});
