/**
 * A watch's KEEPALIVE period is a duration: it runs on the monotonic clock, so a wall clock
 * stepped back (NTP, a VM resumed behind) does not silence an idle stream. With Date.now() a
 * step back of 10 minutes sent no KEEPALIVE for 10 minutes, and clients and proxies that close
 * a silent stream closed it.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Call } from "../../src/issuance/call";
import { CertificateWatch, type WatchDeps } from "../../src/issuance/events/watch";
import type { EventRead } from "../../src/issuance/repositories";

/** A watch on a feed with no events at all; `onRead` runs at each of its reads. */
function idleWatch(keepaliveMs: number, onRead: () => void): CertificateWatch {
  const none = async () => [];
  const deps = {
    now: () => new Date(),
    keyring: {} as WatchDeps["keyring"],
    store: {
      events: {
        readAfter: async (after: number): Promise<EventRead> => {
          onRead();
          return { events: [], through: after, more: false };
        },
        headPosition: async () => 0,
        horizonPosition: async () => 0,
      },
      certificates: { findByIds: none },
      requests: { findByIds: none },
      renewals: { renewalsOf: async () => new Map() },
    },
  } as unknown as WatchDeps;
  return new CertificateWatch(deps, { keepaliveMs });
}

const admin: Call = {
  actor: { id: "admin", slug: "admin", role: "ADMIN", profileIds: [] },
  method: "/certmint.v1.CertificateService/WatchCertificates",
  traceId: "",
  peer: "test",
};

describe("a watch's keepalives across a wall clock step", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("keep coming after the wall clock steps back 10 minutes", { timeout: 60_000 }, async () => {
    const realNow = Date.now.bind(Date);
    let offsetMs = 0;
    vi.spyOn(Date, "now").mockImplementation(() => realNow() + offsetMs);
    // The step happens while the watch is idle between keepalives: at its next read.
    let stepAtRead = false;
    const stream = await idleWatch(100, () => {
      if (stepAtRead) offsetMs = -10 * 60_000;
    }).open(admin, { kind: "ALL" }, "");
    try {
      expect((await stream.next()).value?.type).toBe("KEEPALIVE");
      stepAtRead = true;
      // Before the fix the next one came 10 minutes later: the test's timeout says so.
      expect((await stream.next()).value?.type).toBe("KEEPALIVE");
      expect((await stream.next()).value?.type).toBe("KEEPALIVE");
    } finally {
      await stream.return(undefined);
    }
  });
});
