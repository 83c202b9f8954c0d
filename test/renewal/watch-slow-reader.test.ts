/**
 * A watcher that stops reading, then goes away (issue 13's WatchCertificates, seen as an
 * attack on the server's memory): while it does not read, the stream holds the next event
 * back (HTTP/2 flow control); once it cancels, the server ends its side of the stream and lets
 * go of what it held. Before 2026-12-03 a stream whose write was waiting for the client's
 * window when the client cancelled stayed suspended for the life of the process, with its page
 * of events (certificates, and keys for their owner) in memory: one per such watch, as often
 * as a token could open one.
 */
import type { ClientReadableStream } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  WatchCertificatesRequest,
  type WatchCertificatesResponse,
} from "../../gen/ts/certmint/v1/certificate_service";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  KeyAlgorithm,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { waitFor } from "../support/wait";

describe("WatchCertificates: a watcher that stops reading, then cancels", () => {
  let h: TestCertmint;

  beforeAll(async () => {
    // A long keepalive: the stream must end because the client went away, not because a
    // keepalive happened to wake it.
    h = await startTestCertmint({
      CERTMINT_WATCH_KEEPALIVE_MS: "600000",
      CERTMINT_WATCH_POLL_MS: "50",
    });
    const root = await createRoot(h, "root");
    await createProfileRows(h, { slug: "alpha", caId: root.id });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("an idle watch (no event to send) is ended once its client cancels, not at its next keepalive", async () => {
    const before = h.running.watchStreams();
    const stream = h.certificates.watchCertificates(WatchCertificatesRequest.fromPartial({}));
    let open = false;
    stream.on("metadata", () => {
      open = true;
    });
    stream.on("error", () => undefined); // CANCELLED, below
    await waitFor("the watch open", () => open);
    await waitFor("the server to count it", () => h.running.watchStreams() === before + 1);
    stream.cancel();
    // The keepalive is 10 minutes away; the wait below gives up long before it.
    await waitFor("the server to end the watch", () => h.running.watchStreams() === before);
  });

  it("the stream is ended and released on the server once the client cancels", async () => {
    const before = h.running.watchStreams();
    const stream: ClientReadableStream<WatchCertificatesResponse> =
      h.certificates.watchCertificates(WatchCertificatesRequest.fromPartial({}));
    let open = false;
    let received = 0;
    stream.on("metadata", () => {
      open = true;
    });
    stream.on("data", () => {
      received++;
    });
    stream.on("error", () => undefined); // CANCELLED, below
    await waitFor("the watch open", () => open);
    await waitFor("the server to count it", () => h.running.watchStreams() === before + 1);

    // The client stops reading: its HTTP/2 window fills, then the server's buffers.
    stream.pause();
    const ec = KeyAlgorithm.KEY_ALGORITHM_EC_P256;
    const issued = 200;
    for (let i = 0; i < issued; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, (_, j) =>
          call(
            h.certificates,
            "issueCertificate",
            attrRequest("alpha", {
              cn: `w${i + j}.example.com`,
              dns: [`w${i + j}.example.com`],
              keyAlgorithm: ec,
            }),
          ),
        ),
      );
    }
    // Each event carries a certificate, its chain and its generated key (~3 KB): 200 are more
    // than a 64 KiB window and the server's buffers hold, so the server is now waiting for
    // the client. (What the client took in before it paused stays well short of them all.)
    await waitFor("the events numbered", async () => {
      const rows = await h.db.query<{ n: string }>(
        "select count(*) as n from certificate_event where position is not null",
      );
      return Number(rows[0]!.n) >= issued;
    });
    expect(received).toBeLessThan(issued);

    stream.cancel();
    await waitFor("the server to end the watch", () => h.running.watchStreams() === before);
  }, 180_000);
});
