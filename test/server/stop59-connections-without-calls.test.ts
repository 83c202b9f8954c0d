/**
 * A connection that makes no call (src/server/connection-limits.ts firstCallDue). An outside
 * probe of stop 59 (2026-12-07) opened 260 HTTP/2 connections from each of four loopback
 * addresses that sent the connection preface and nothing else: the server kept each for its
 * idle timeout (300 s), CERTMINT_MAX_CONNECTIONS was full, and every other client, health
 * checks too, was refused. Now a connection that has made no call CERTMINT_HANDSHAKE_TIMEOUT_MS
 * after its settings is told to go (GOAWAY) and closed; one that made a call, opened at the
 * same moment, stays.
 */
import type { ClientHttp2Session } from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { rawCall, rawSession } from "../support/raw-grpc";
import { waitFor } from "../support/wait";

const HEALTH_CHECK = "/grpc.health.v1.Health/Check";

describe("connections that make no call", () => {
  let h: TestCertmint;
  let port: number;
  const sessions: ClientHttp2Session[] = [];

  beforeAll(async () => {
    h = await startTestCertmint({ CERTMINT_HANDSHAKE_TIMEOUT_MS: "1000" });
    port = Number(h.address.split(":").at(-1));
  });
  afterAll(async () => {
    for (const s of sessions) s.destroy();
    await h?.stop();
  });

  it("one that makes no call is sent away; one opened beside it that made a call stays", async () => {
    const silent = rawSession(port, "127.0.10.1");
    const busy = rawSession(port, "127.0.10.2");
    sessions.push(silent, busy);
    let goaway = false;
    silent.on("goaway", () => {
      goaway = true;
    });
    expect((await rawCall(busy, HEALTH_CHECK)).status).toBe(0);
    await waitFor("the silent connection to be closed", () => silent.closed || silent.destroyed);
    expect(goaway).toBe(true);
    expect(busy.closed || busy.destroyed).toBe(false);
    // The busy one still serves.
    expect((await rawCall(busy, HEALTH_CHECK)).status).toBe(0);
  });
});
