/**
 * Probe 51 (LATENCY): server reflection needs no credential, and @grpc/reflection answers
 * every request with `valid_host` and `original_request`: the request's own bytes, twice. A
 * 4 KB gzip request whose `host` is 4 MiB is answered with 8 MiB. The README ("Answers a client
 * leaves unread") counts such answers ("The call has no token (health, reflection): its
 * connection counts as one more holder") but never refuses streamed ones, so a client that
 * does not read them fills the process's budget, and then everyone's answers over 64 KiB are
 * refused (`UNREAD_ANSWERS`, limit `server`).
 */
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import {
  CertificateView,
  ListCertificatesRequest,
  ListCertificatesResponse,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { attrRequest } from "../../certificates/helpers";
import { parseExposition, sampleValue } from "../../metrics/prometheus";
import { call } from "../../support/harness";
import { waitFor } from "../../support/wait";
import {
  expectServedWell,
  grpcFrame,
  lengthDelimited,
  liveWithGoodClient,
  MIB,
  mib,
  rawSession,
  rawStream,
} from "./attack";

const REFLECTION_PATH = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
/** The process's budget for unread answers in this test (a setting; the default is 256 MiB). */
const PROCESS_BUDGET = 64 * MIB;
/** 12 answers of 8 MiB: past the process's budget, from one connection of 32 MiB. */
const STREAMS = 12;
const CERTIFICATES = 60;

describe("probe51 latency: reflection answers left unread", () => {
  const state = liveWithGoodClient("echo-good", {
    CERTMINT_METRICS_LISTEN: "127.0.0.1:0",
    CERTMINT_UNREAD_ANSWER_BYTES: String(PROCESS_BUDGET),
  });
  let metricsPort: number;

  const unreadBytes = async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    return sampleValue(parseExposition(text), "certmint_unread_answer_bytes") ?? 0;
  };
  /** The well-behaved admin's page of every certificate with its PEMs: over 64 KiB. */
  const fullPage = () =>
    call(
      state.live.admin.certificates,
      "listCertificates",
      ListCertificatesRequest.fromPartial({
        pageSize: CERTIFICATES,
        view: CertificateView.CERTIFICATE_VIEW_FULL,
      }),
    );

  beforeAll(async () => {
    const { live, good } = state;
    metricsPort = Number(
      /"port":(\d+),"msg":"serving Prometheus metrics/.exec(live.server.output())?.[1],
    );
    for (let batch = 0; batch < CERTIFICATES / 10; batch++) {
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          call(
            good.issuer.clients.certificates,
            "issueCertificate",
            attrRequest(good.profile, { cn: `c${batch}-${i}.example.com` }),
          ),
        ),
      );
    }
  }, 240_000);

  it("1,000 small requests of 73 KB answers each, sent at once and not read: the server answers as they are read, holding little meanwhile", async () => {
    const { live } = state;
    // The control for the echo below: @grpc/reflection writes an answer per request without
    // looking at backpressure, but grpc-js reads a stream's next request only once its last
    // answer was written, so a client that sends many and reads none is held back by HTTP/2.
    const request = grpcFrame(lengthDelimited(4, Buffer.from("certmint.v1.CertificateService")));
    const session = rawSession(live.address);
    const stream = rawStream(session, REFLECTION_PATH);
    stream.pause();
    let answered = false;
    stream.once("response", () => {
      answered = true;
    });
    stream.end(Buffer.concat(Array.from({ length: 1000 }, () => request)));
    await waitFor("the first answer's headers", () => answered);
    const held = await unreadBytes();
    expect(held, `unread answer bytes: ${mib(held)}`).toBeLessThan(4 * MIB);
    // Read now: every request is answered, each with the file and its dependencies.
    let bytes = 0;
    stream.on("data", (d: Buffer) => {
      bytes += d.length;
    });
    stream.resume();
    await new Promise<void>((resolve) => stream.once("close", () => resolve()));
    session.destroy();
    expect(stream.rstCode).toBe(0);
    expect(bytes).toBeGreaterThan(1000 * 60_000);
  }, 120_000);

  it("12 requests of 4 KB that echo 8 MiB each, never read, on one connection with no " +
    "credential: the connection is held to its budget and others' large answers still come", async () => {
    const { live, good } = state;
    // The control: the page is over HTTP/2's 64 KiB window and is answered.
    const before = await fullPage();
    expect(ListCertificatesResponse.encode(before).finish().length).toBeGreaterThan(64 * 1024);

    const request = Buffer.concat([
      lengthDelimited(1, Buffer.alloc(4 * MIB - 100, 0x68)), // host
      lengthDelimited(7, Buffer.from("*")), // list_services
    ]);
    const body = grpcFrame(gzipSync(request, { level: 9 }), true);
    const session = rawSession(live.address);
    let settled = 0;
    for (let i = 0; i < STREAMS; i++) {
      const stream = rawStream(session, REFLECTION_PATH, { "grpc-encoding": "gzip" });
      stream.pause(); // never read: the answer stays in the server past the stream's window
      // Answered (headers, then the message the server has already written) or refused.
      stream.once("response", () => settled++);
      stream.once("close", () => settled++);
      stream.write(body);
    }
    await waitFor("every reflection stream answered or closed", () => settled >= STREAMS);
    const held = await unreadBytes();

    // Everyone else: health, an issuance, and a page over 64 KiB.
    await expectServedWell(live, good, "during-echo.example.com");
    const page = await fullPage().then(
      () => "served",
      (err: { code?: number; details?: string }) => `${err.code} ${err.details}`,
    );
    session.destroy();
    expect(page, `a page over 64 KiB while reflection answers held ${mib(held)}`).toBe("served");
    // One connection's unread answers stay within its budget (32 MiB) and one answer more.
    expect(held, `unread answer bytes of one connection: ${mib(held)}`).toBeLessThanOrEqual(
      32 * MIB + 8 * MIB,
    );
  }, 120_000);
});
