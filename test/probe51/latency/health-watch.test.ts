/**
 * Probe 51 (LATENCY): grpc.health.v1.Health needs no credential (README: "Health and reflection
 * are open"), and a Watch stays open until its client leaves. What may one open Watch hold?
 * The request-bytes budget (README "Requests that never arrive whole": 64 MiB for the process)
 * counts a request only while it arrives; a Watch keeps its request (its `service` name, up to
 * CERTMINT_MAX_MESSAGE_BYTES) for as long as it is open (src/server/health.ts keeps
 * `call.request.service` in its set of watches).
 */
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { createTestDatabase } from "../../support/postgres";
import { checkHealth, startServerProcess } from "../../support/server-process";
import { waitFor } from "../../support/wait";
import {
  expectServedWell,
  grpcFrame,
  lengthDelimited,
  liveWithGoodClient,
  MIB,
  mib,
  processMemory,
  rawGrpcCall,
  rawSession,
  rawStream,
} from "./attack";

const WATCH_PATH = "/grpc.health.v1.Health/Watch";
const CHECK_PATH = "/grpc.health.v1.Health/Check";
/** Watches opened one after another (so at most one request is ever arriving). */
const WATCHES = 40;

/** A Health.Watch of `service` on `session`, open until the session ends; resolves on its first answer. */
function openWatch(session: ReturnType<typeof rawSession>, body: Buffer): Promise<string> {
  const stream = rawStream(session, WATCH_PATH, { "grpc-encoding": "gzip" });
  return new Promise((resolve) => {
    stream.on("response", (h) => {
      // A trailers-only refusal: the watch was not opened.
      if (h["grpc-status"] !== undefined) resolve(`refused ${h["grpc-status"]}`);
    });
    stream.on("data", () => resolve("open"));
    stream.on("close", () => resolve(`closed ${stream.rstCode}`));
    stream.end(body);
  });
}

describe("probe51 latency: Health.Watch without a credential", () => {
  const state = liveWithGoodClient("watch-good");

  it("40 watches of a 4 MiB service name (4 KB each, gzip), opened one at a time, do not hold " +
    "40 x 4 MiB: the name is refused or bounded", async () => {
    const { live, good } = state;
    const body = grpcFrame(
      gzipSync(lengthDelimited(1, Buffer.alloc(4 * MIB - 100, 0x61)), { level: 9 }),
      true,
    );
    const pid = live.server.child.pid!;
    const session = rawSession(live.address);
    // The control first: as many Checks of the same name, one at a time, answered and
    // forgotten. The heap they leave behind (garbage not yet collected, freed memory the
    // process keeps) is the baseline, so what the watches add is what they hold.
    for (let i = 0; i < WATCHES * 2; i++) {
      const end = await rawGrpcCall(session, CHECK_PATH, body, { "grpc-encoding": "gzip" });
      // INVALID_ARGUMENT since stop 51 (HEALTH_SERVICE_NAME_TOO_LONG; NOT_FOUND before).
      expect(end.grpcStatus).toBe(3);
    }
    const before = processMemory(pid, "VmRSS");
    const outcomes: string[] = [];
    // One at a time: each request has arrived whole (and its answer come back) before the
    // next is sent, so the request-bytes budget never sees more than one.
    for (let i = 0; i < WATCHES; i++) outcomes.push(await openWatch(session, body));
    const held = processMemory(pid, "VmRSS") - before;
    // The server still serves others while the watches are open.
    await expectServedWell(live, good, "during-watches.example.com");
    session.destroy();
    await waitFor("the watch connection to be gone", () => session.destroyed);
    const opened = outcomes.filter((o) => o === "open").length;
    // Either a service name that long is refused (INVALID_ARGUMENT, as a field over its limit
    // is on every other RPC), or the watches that were let in do not keep it. Refused, a watch
    // holds nothing: the resident memory then says only when the collector ran (on a busy
    // machine, later), so it is the measure only of watches let in.
    expect(outcomes.filter((o) => o !== "open" && o !== "refused 3")).toEqual([]);
    if (opened > 0) {
      expect(
        held,
        `${opened} of ${WATCHES} watches open: resident memory grew by ${mib(held)} for ${mib(WATCHES * body.length)} sent`,
      ).toBeLessThan(64 * MIB);
    }
  }, 120_000);

  it("a Check of a 4 MiB service name answers INVALID_ARGUMENT without the name, and the server carries on", async () => {
    const { live, good } = state;
    const body = grpcFrame(lengthDelimited(1, Buffer.alloc(4 * MIB - 100, 0x62)));
    const session = rawSession(live.address);
    const end = await rawGrpcCall(session, CHECK_PATH, body);
    session.destroy();
    // HEALTH_SERVICE_NAME_TOO_LONG since stop 51 (a NOT_FOUND with the name cut before).
    expect(end.grpcStatus).toBe(3);
    expect(end.grpcMessage?.length).toBeLessThan(1024);
    expect(end.grpcMessage).not.toContain("bbbb");
    await expectServedWell(live, good, "after-check.example.com");
  }, 120_000);

  it("with the heap of a 512 MiB container (--max-old-space-size=256), 96 such watches (384 KB sent) do not end the server", async () => {
    // Node sizes its heap from the memory it is given (a container's limit); this server is
    // given 256 MiB of old space outright, on a database of its own.
    const db = await createTestDatabase({ migrated: true });
    const server = await startServerProcess(
      { DATABASE_URL: db.url, CERTMINT_KEK: randomBytes(32).toString("base64") },
      { nodeArgs: ["--max-old-space-size=256"] },
    );
    try {
      const body = grpcFrame(
        gzipSync(lengthDelimited(1, Buffer.alloc(4 * MIB - 100, 0x61)), { level: 9 }),
        true,
      );
      const session = rawSession(server.address);
      let opened = 0;
      // Until the 96th, or until the server drops the connection.
      while (opened < 96 && !session.destroyed && !session.closed) {
        if ((await openWatch(session, body)) !== "open") break;
        opened++;
      }
      session.destroy();
      const health = await checkHealth(server.address).catch((e: Error) => e.message);
      const fatal = /FATAL ERROR[^\n]*/.exec(server.output())?.[0];
      expect(
        { health, exit: server.child.exitCode ?? server.child.signalCode },
        `after ${opened} watches: ${fatal ?? "no fatal error logged"}`,
      ).toEqual({ health: "SERVING", exit: null });
    } finally {
      await server.stop();
      await db.drop();
    }
  }, 240_000);
});
