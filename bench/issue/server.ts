/**
 * The server under test: the compiled `dist/src/main.js` with the node flags `make run` gives it
 * (`make bench-issue` builds it first; transpiling with tsx at start-up would count tsx's loader
 * and source maps in the server's RSS and CPU), with its
 * log written straight to a file (the bench process must not spend CPU reading 100k log lines),
 * plus what the bench reads from /proc: the server's RSS and the CPU time of the server, of
 * this process and of PostgreSQL's backends.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SERVER_NODE_FLAGS } from "../common/certmint";

export const ROOT = join(__dirname, "..", "..");

export interface BenchServer {
  child: ChildProcess;
  pid: number;
  address: string;
  logFile: string;
  /** SIGTERM and wait for exit (a --cpu-prof profile is written on exit). */
  stop(): Promise<void>;
}

export async function startServer(opts: {
  env: Record<string, string>;
  logFile: string;
  nodeFlags?: string[];
  /** CERTMINT_PROCESSES (default 1): above 1, ready once every worker serves. */
  processes?: number;
}): Promise<BenchServer> {
  const processes = opts.processes ?? 1;
  const ready = processes > 1 ? '"msg":"all worker processes serving"' : '"msg":"serving"';
  const main = join(ROOT, "dist", "src", "main.js");
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`make build\``);
  const fd = openSync(opts.logFile, "w");
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...(opts.nodeFlags ?? []), main], {
    cwd: ROOT,
    env: {
      ...process.env,
      CERTMINT_LISTEN: "127.0.0.1:0",
      CERTMINT_PROCESSES: String(processes),
      // The benchmark's one issuer token would meet the per-token default of 1,000 calls/s
      // (a policy, RESOURCE_EXHAUSTED past it), not the server's capacity: set far above.
      CERTMINT_RATE_LIMIT_PER_SECOND: "1000000",
      ...opts.env,
    },
    stdio: ["ignore", fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  let gone = false;
  child.on("exit", () => {
    gone = true;
  });
  // Ready once the log says "serving" (after migrations and the keyring), as the test harness waits.
  const deadline = Date.now() + 60_000 * processes;
  let address = "";
  for (;;) {
    const log = readFileSync(opts.logFile, "utf8");
    const listening = /"address":"([^"]+)","msg":"listening"/.exec(log);
    if (listening && log.includes(ready)) {
      address = listening[1]!;
      break;
    }
    if (gone || Date.now() > deadline)
      throw new Error(`server did not start (${gone ? "exited" : "timeout"}):\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    pid: child.pid!,
    address,
    logFile: opts.logFile,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/**
 * A process and its descendants (with CERTMINT_PROCESSES > 1: the supervisor and its workers),
 * from the parent pid in /proc/<pid>/stat.
 */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // the process ended meanwhile
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!) ?? []));
  return tree;
}

/** VmRSS of a process and its descendants, in MiB (0 when it is gone). */
export function rssMiB(pid: number): number {
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, "utf8"));
      total += m ? Number(m[1]) / 1024 : 0;
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

/** utime + stime of a process and its descendants, in seconds. */
export function treeCpuSeconds(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + cpuSeconds(p), 0);
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime of a process, in seconds (0 when it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the ")" that closes comm: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** CPU seconds of every process named "postgres" (the cluster's backends and helpers). */
export function postgresCpuSeconds(): number {
  let total = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() === "postgres")
        total += cpuSeconds(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

/** CPU seconds the whole machine spent busy (all cores, steal included), from /proc/stat. */
export function machineBusySeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  // cpu user nice system idle iowait irq softirq steal ...
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - (f[3] ?? 0) - (f[4] ?? 0)) / TICKS_PER_SECOND;
}
