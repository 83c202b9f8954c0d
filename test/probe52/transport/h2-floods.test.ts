/**
 * Probe 52 (TRANSPORT): HTTP/2 frame floods on the compiled server's gRPC port, raw frames over
 * TCP (h2-wire.ts), with and without a credential, while a legitimate client keeps calling:
 * each flooding connection must be closed (or told GOAWAY ENHANCE_YOUR_CALM, RFC 9113 5.4.1)
 * and every legitimate call must complete. Rapid reset itself is test/server/review-http2-
 * rapid-reset.test.ts (in-process, Health, no credential); here it carries an admin credential
 * and calls a certmint method. Nothing here measures time.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ListCertificateAuthoritiesRequest } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import { type LiveCertmint, Role, startLive, token } from "../../probe49/api/live";
import { type CertmintClients, call } from "../../support/harness";
import { checkHealth } from "../../support/server-process";
import { waitFor } from "../../support/wait";
import {
  CONTINUATION,
  DATA,
  END_HEADERS,
  END_STREAM,
  ENHANCE_YOUR_CALM,
  frame,
  grpcHeaders,
  grpcMessage,
  HEADERS,
  headerBlock,
  PING,
  RST_STREAM,
  SETTINGS,
  WireConnection,
} from "./h2-wire";

const LIST_CAS = "/certmint.v1.CertificateAuthorityService/ListCertificateAuthorities";

/** Writes `count` copies of `bytes`, yielding now and then so the reader keeps up; stops once closed. */
async function flood(c: WireConnection, bytes: Buffer, count: number): Promise<number> {
  let sent = 0;
  while (sent < count && !c.closed) {
    if (!(await c.write(bytes))) break;
    sent += 1;
    if (sent % 200 === 0) await new Promise((r) => setImmediate(r));
  }
  return sent;
}

describe("probe52 transport: HTTP/2 floods against a legitimate client", () => {
  let live: LiveCertmint;
  let legit: CertmintClients;
  let stop = false;
  let completed = 0;
  const failures: string[] = [];
  let loop: Promise<void>;

  beforeAll(async () => {
    // Keepalive far off: a flooding connection must be closed by its flood, not by a missed ping.
    live = await startLive({ CERTMINT_KEEPALIVE_TIME_MS: "600000" });
    legit = (await token(live, "legit", Role.ROLE_AUDITOR)).clients;
    // The legitimate client: one call after another for the whole file, each one must succeed.
    loop = (async () => {
      while (!stop) {
        try {
          await call(
            legit.authorities,
            "listCertificateAuthorities",
            ListCertificateAuthoritiesRequest.fromPartial({}),
          );
          completed += 1;
        } catch (err) {
          failures.push(String(err));
          completed += 1;
        }
      }
    })();
  }, 240_000);
  afterAll(async () => {
    stop = true;
    await loop;
    await live?.stop();
  });

  /** Waits until the legitimate client completes two more calls; none may have failed. */
  async function legitimateCallsComplete(): Promise<void> {
    const target = completed + 2;
    await waitFor("two more legitimate calls", () => completed >= target);
    expect(failures).toEqual([]);
    expect(await checkHealth(live.address)).toBe("SERVING");
  }

  it.each([
    ["no credential", [] as Array<[string, string]>],
    ["an admin credential", "admin" as const],
  ])(
    "a header block continued without end (CONTINUATION flood, %s) is closed",
    async (_l, cred) => {
      const extra: Array<[string, string]> =
        cred === "admin" ? [["authorization", `Bearer ${live.adminToken}`]] : cred;
      const c = await WireConnection.open(live.address);
      await c.write(frame(HEADERS, 0, 1, grpcHeaders(LIST_CAS, extra)));
      const piece = frame(CONTINUATION, 0, 1, headerBlock([["x-filler", "f".repeat(100)]]));
      // 100,000 frames of 118 bytes: 11 MB of header block, never ended.
      const sent = await flood(c, piece, 100_000);
      await waitFor("the flooding connection closed", () => c.closed);
      expect(sent).toBeLessThan(100_000);
      await legitimateCallsComplete();
    },
  );

  it.each([
    ["PING", frame(PING, 0, 0, Buffer.alloc(8))],
    ["SETTINGS", frame(SETTINGS, 0, 0, Buffer.alloc(0))],
  ])("%s frames sent faster than their acknowledgements are read are closed", async (_l, f) => {
    const c = await WireConnection.open(live.address);
    const sent = await flood(c, f, 200_000);
    await waitFor("the flooding connection closed", () => c.closed);
    expect(sent).toBeLessThan(200_000);
    await legitimateCallsComplete();
  });

  it("empty DATA frames on an open call (CVE-2019-9518) are closed", async () => {
    const c = await WireConnection.open(live.address);
    await c.write(
      frame(
        HEADERS,
        END_HEADERS,
        1,
        grpcHeaders(LIST_CAS, [["authorization", `Bearer ${live.adminToken}`]]),
      ),
    );
    const sent = await flood(c, frame(DATA, 0, 1, Buffer.alloc(0)), 200_000);
    await waitFor("the flooding connection closed", () => c.closed);
    expect(sent).toBeLessThan(200_000);
    await legitimateCallsComplete();
  });

  it("rapid reset of whole authenticated calls (CVE-2023-44487) is closed", async () => {
    const c = await WireConnection.open(live.address);
    const block = grpcHeaders(LIST_CAS, [["authorization", `Bearer ${live.adminToken}`]]);
    const body = grpcMessage(Buffer.alloc(0));
    const cancel = Buffer.from([0, 0, 0, 8]);
    let id = 1;
    while (id < 2 * 5_000 && !c.closed) {
      await c.write(
        Buffer.concat([
          frame(HEADERS, END_HEADERS, id, block),
          frame(DATA, END_STREAM, id, body),
          frame(RST_STREAM, 0, id, cancel),
        ]),
      );
      id += 2;
      if (id % 200 === 1) await new Promise((r) => setImmediate(r));
    }
    await waitFor("the flooding connection closed", () => c.closed);
    // nghttp2 alone would only stop reading it (a GOAWAY of NO_ERROR), leaving it open.
    const goaway = c.goaway();
    if (goaway) expect(goaway.errorCode).toBe(ENHANCE_YOUR_CALM);
    await legitimateCallsComplete();
  });

  it("PINGs paced to their acknowledgements, with no call, are told ENHANCE_YOUR_CALM (gRPC keepalive enforcement)", async () => {
    // gRPC servers allow a client's ping every 5 minutes when no call is open
    // (grpc.http2.min_ping_interval_without_data_ms) and answer the third too early a GOAWAY
    // ENHANCE_YOUR_CALM "too_many_pings" (gRPC doc/keepalive.md). 5,000 is far past any bound.
    const c = await WireConnection.open(live.address);
    let sent = 0;
    while (sent < 5_000 && !c.closed && !c.goaway()) {
      for (let i = 0; i < 50; i++) await c.write(frame(PING, 0, 0, Buffer.alloc(8)));
      sent += 50;
      const target = sent;
      await waitFor(
        "the acknowledgements, a GOAWAY or the close",
        () => c.closed || !!c.goaway() || c.frames.filter((f) => f.type === PING).length >= target,
      );
    }
    c.destroy();
    expect({ sent, goaway: c.goaway()?.errorCode }).toEqual({
      sent: expect.any(Number),
      goaway: ENHANCE_YOUR_CALM,
    });
    expect(sent).toBeLessThan(5_000);
    await legitimateCallsComplete();
  });
});
