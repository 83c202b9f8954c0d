/**
 * Stop 50, helper CONTRACT: WatchCertificates, the one streaming RPC, held to the same rules as
 * the unary ones (a malformed reference INVALID_ARGUMENT naming its field, an unknown one
 * NOT_FOUND, details in the trailers), and its after_cursor: a cursor the server never handed
 * out cannot resume anything, so it must be refused rather than wait in silence.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attrRequest } from "../../certificates/helpers";
import { type LiveCertmint, rootPolicyProfile, startLive } from "../../probe49/api/live";
import { call, decodeError } from "../../support/harness";
import { waitFor } from "../../support/wait";
import { WatchStream } from "../../support/watch-stream";

describe("probe50 CONTRACT: WatchCertificates requests", () => {
  let live: LiveCertmint;
  const streams: WatchStream[] = [];
  const watch = (req: ConstructorParameters<typeof WatchStream>[1]) => {
    const w = new WatchStream(live.admin, req);
    streams.push(w);
    return w;
  };
  /** The stream's refusal: code, reason and fields, once it ended. */
  const refusalOf = async (w: WatchStream) => {
    await waitFor("the watch to end", () => w.error !== undefined);
    const e = decodeError(w.error);
    return { code: e.code, reason: e.reason, fields: e.violations.map((v) => v.field) };
  };

  beforeAll(async () => {
    live = await startLive({ CERTMINT_WATCH_KEEPALIVE_MS: "1000" });
    await rootPolicyProfile(live, "web");
  });
  afterAll(async () => {
    for (const w of streams) w.cancel();
    await live.stop();
  });

  it("certificate_id that is no UUID or serial is INVALID_ARGUMENT naming certificate_id", async () => {
    const r = await refusalOf(watch({ scope: { $case: "certificateId", value: "not a cert!" } }));
    expect([r.code, r.fields]).toEqual([status.INVALID_ARGUMENT, ["certificate_id"]]);
  });

  it("an unknown certificate_id is NOT_FOUND with a reason", async () => {
    const r = await refusalOf(
      watch({ scope: { $case: "certificateId", value: "00000000-0000-4000-8000-000000000042" } }),
    );
    expect([r.code, r.reason]).toEqual([status.NOT_FOUND, "CERTIFICATE_NOT_FOUND"]);
  });

  it("an unknown certificate_profile is NOT_FOUND with a reason", async () => {
    const r = await refusalOf(watch({ scope: { $case: "certificateProfile", value: "no-such" } }));
    expect([r.code, r.reason]).toEqual([status.NOT_FOUND, "CERTIFICATE_PROFILE_NOT_FOUND"]);
  });

  it.each(["abc", "-1", "1.5", "0x10"])(
    "after_cursor %j is INVALID_ARGUMENT naming after_cursor",
    async (cursor) => {
      const r = await refusalOf(watch({ afterCursor: cursor }));
      expect([r.code, r.fields]).toEqual([status.INVALID_ARGUMENT, ["after_cursor"]]);
    },
  );

  // A cursor past every event the server has numbered was never handed out (a cursor of another
  // deployment, or of a database restored from an older backup). Accepting it means the stream
  // skips every event until the numbering reaches it: an issuance or revocation now is silently
  // never delivered. Either refuse it, or deliver what happens after the watch starts.
  it("an after_cursor beyond any cursor the server gave is INVALID_ARGUMENT CURSOR_INVALID on after_cursor", async () => {
    const start = watch({});
    await waitFor("the first KEEPALIVE with its cursor", () => start.events.length > 0);
    const now = Number(start.events[0]!.cursor);
    start.cancel();
    await call(
      live.admin.certificates,
      "issueCertificate",
      attrRequest("web", { dns: ["ahead.example.com"] }),
    );
    const r = await refusalOf(watch({ afterCursor: String(now + 1_000_000) }));
    expect(r).toEqual({
      code: status.INVALID_ARGUMENT,
      reason: "CURSOR_INVALID",
      fields: ["after_cursor"],
    });
  });
});
