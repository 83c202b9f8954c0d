/**
 * LOADCLIENTS probe (stop 53): a Java service (grpc-java on Netty: auto flow control sends BDP
 * pings; keepAliveTime 10 s with keepAliveWithoutCalls; a retry policy) against the compiled
 * server over TLS at a realistic volume: the phases of go-client.test.ts (live-load.ts
 * volumeAndRollover), and reads with a hedging policy (gRFC A6), whose losing attempts the
 * client cancels.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { javaClasses } from "../../probe52/clients/live-tls";
import { ROOT } from "../../support/server-process";
import { expectClean, HERE, liveLoadSuite, runJson, volumeAndRollover } from "./live-load";

const JARS = join(ROOT, ".tools", "java");

function runJava(mode: string, env: Record<string, string>) {
  if (!existsSync(join(JARS, ".stamp"))) throw new Error("no .tools/java: run `make java-tools`");
  const classes = javaClasses(JARS, [join(HERE, "java", "Load.java")]);
  return runJson(
    "java",
    ["-XX:TieredStopAtLevel=1", "-cp", `${classes}:${JARS}/*`, "Load", mode],
    env,
  );
}

volumeAndRollover("grpc-java", "ldjava", async (mode, env) => runJava(mode, env));

describe("grpc-java with a hedging policy on GetCertificate", () => {
  const server = liveLoadSuite("ldjavahedge");

  // Each hedged read sends its second attempt at once and cancels the loser (RST_STREAM), often
  // one the server has already answered. nghttp2 (Node 20's HTTP/2) counts every RST_STREAM frame
  // it receives, on closed streams too (1,000 at once, 33 a second), and then ends the session
  // with GOAWAY INTERNAL_ERROR: the calls in flight fail INTERNAL, which grpc-java does not
  // retry. Node offers no setting for it, and a cancel of a closed stream never reaches certmint
  // (its own limit, connection-limits.ts limitResets, counts the calls it sees reset). Found by
  // this probe with 3,000 such reads (1-4 failed, the channel re-established twice); the README
  // ("HTTP/2 abuse on the gRPC port") now says so and tells hedging clients to keep hedgingDelay
  // above their p99. Within that budget a hedging client is served in full, on one connection
  // (400 reads: 800 already crossed it here, grpc-java sending more than one cancel per read):
  it("400 hedged reads one after another (the losing attempt cancelled, within Node's budget of cancels): no error, one connection", () => {
    const out = runJava("hedging", { ...server().env(), LOAD_CALLS: "400" });
    expectClean(out.hedged, 400);
    expect(out.connections).toBe(1);
    expect(server().limitWarnings()).toEqual([]);
    expect(server().errorLines()).toEqual([]);
  }, 150_000);
});
