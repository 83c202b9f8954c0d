/**
 * HTTP load for the peers with vegeta: `clients` workers (-rate=0 with as many workers: each
 * sends its next request when the previous one answered), HTTP/1.1 keep-alive so each worker
 * holds its own connection (as each ghz worker holds its own HTTP/2 connection), for a fixed
 * time; vegeta waits for the requests in flight at the end and reports them.
 *
 * Targets are streamed to vegeta's stdin (-lazy) as the bench makes them, because step-ca's
 * one-time tokens must each be fresh and used once: nothing is reused, nothing runs out.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { type LoadResult, runTool, topOf } from "../common/load";
import { toolPath } from "../common/tools";

export interface HttpTarget {
  url: string;
  /** The CA file to trust for https URLs. */
  rootCa?: string;
  /** The JSON body of request number n (each call may make a fresh one-time token). */
  body(n: number): string;
  /** The status code of a success (step-ca answers 201 Created, cfssl 200). */
  successStatus: number;
}

interface VegetaReport {
  requests: number;
  duration: number;
  wait: number;
  latencies: { "50th": number; "99th": number };
  status_codes: Record<string, number>;
  errors: string[] | null;
}

export async function vegetaAttack(
  target: HttpTarget,
  load: { clients: number; seconds: number; cpu?: number; dir: string; tag: string },
): Promise<LoadResult> {
  const results = join(load.dir, `vegeta-${load.tag}.bin`);
  const args = [
    "attack",
    "-lazy",
    "-format=json",
    "-rate=0",
    `-workers=${load.clients}`,
    `-max-workers=${load.clients}`,
    `-duration=${load.seconds}s`,
    "-timeout=60s",
    "-http2=false",
    "-keepalive=true",
    ...(target.rootCa ? [`-root-certs=${target.rootCa}`] : []),
    `-output=${results}`,
  ];
  const vegeta = toolPath("vegeta");
  const [bin, argv] =
    load.cpu === undefined
      ? [vegeta, args]
      : ["taskset", ["-c", String(load.cpu), vegeta, ...args]];
  const child = spawn(bin, argv, { stdio: ["pipe", "ignore", "pipe"] });
  const stderr: Buffer[] = [];
  child.stderr.on("data", (b: Buffer) => stderr.push(b));
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  let open = true;
  child.stdin.on("error", () => {
    open = false; // vegeta stopped reading: the attack is over
  });
  child.on("exit", () => {
    open = false;
  });
  // Feed targets, one JSON line each, as fast as vegeta reads them.
  const header = { "Content-Type": ["application/json"] };
  for (let n = 0; open; n++) {
    const line = `${JSON.stringify({
      method: "POST",
      url: target.url,
      header,
      body: Buffer.from(target.body(n)).toString("base64"),
    })}\n`;
    if (!child.stdin.write(line)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          child.stdin.off("drain", done);
          child.off("exit", done);
          resolve();
        };
        child.stdin.on("drain", done);
        child.on("exit", done);
      });
    }
  }
  const code = await exited;
  if (code !== 0) {
    throw new Error(`vegeta attack exited ${code}: ${Buffer.concat(stderr).toString("utf8")}`);
  }
  const report = JSON.parse(
    await runTool(vegeta, ["report", "-type=json", results]),
  ) as VegetaReport;
  const successes = report.status_codes[String(target.successStatus)] ?? 0;
  const errorCounts: Record<string, number> = {};
  for (const e of report.errors ?? []) errorCounts[e] = (errorCounts[e] ?? 0) + 1;
  return {
    successes,
    errors: report.requests - successes,
    seconds: (report.duration + report.wait) / 1e9,
    p50Ms: report.latencies["50th"] / 1e6,
    p99Ms: report.latencies["99th"] / 1e6,
    topError: topOf(errorCounts),
  };
}
