/**
 * What the benchmarks read from /proc (Linux): the CPU time of a process and of its children,
 * a process's resident memory, and how busy one core was. Figures are sampled before and after
 * a row and subtracted; nothing here is an assertion.
 */
import { readdirSync, readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

interface Stat {
  ppid: number;
  /** utime + stime, seconds. */
  own: number;
  /** cutime + cstime: the CPU of children this process has reaped (exited backends), seconds. */
  reaped: number;
}

function readStat(pid: number): Stat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the ")" that closes comm: state is field 3, ppid 4, utime 14, stime 15,
    // cutime 16, cstime 17 (proc(5)).
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return {
      ppid: Number(f[1]),
      own: (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND,
      reaped: (Number(f[13]) + Number(f[14])) / TICKS_PER_SECOND,
    };
  } catch {
    return undefined; // the process ended meanwhile
  }
}

/** utime + stime of one process (all its threads), seconds; 0 when it is gone. */
export function processCpuSeconds(pid: number): number {
  return readStat(pid)?.own ?? 0;
}

/**
 * CPU seconds of a process tree rooted at `pid` (a PostgreSQL postmaster and its backends):
 * the root, its live children, and the children it has already reaped. A backend that exits
 * between two samples is not lost: its time moves into the root's cutime/cstime when reaped,
 * so the difference of two samples counts every backend (cfssl opens a connection per request).
 */
export function treeCpuSeconds(pid: number): number {
  const root = readStat(pid);
  if (!root) return 0;
  let total = root.own + root.reaped;
  for (const child of childrenOf(pid)) {
    const stat = readStat(child);
    if (stat) total += stat.own + stat.reaped;
  }
  return total;
}

/** The live children of a process. */
export function childrenOf(pid: number): number[] {
  return readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((p) => readStat(p)?.ppid === pid);
}

/** VmRSS (now) and VmHWM (peak since start) of a process, MiB; 0 when it is gone. */
export function memoryMiB(pid: number): { rss: number; peak: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
    return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
  } catch {
    return { rss: 0, peak: 0 };
  }
}

/** Seconds one core (its "cpuN" line in /proc/stat) spent busy, steal included. */
export function coreBusySeconds(cpu: number): number {
  const line = readFileSync("/proc/stat", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`cpu${cpu} `));
  if (!line) throw new Error(`no cpu${cpu} in /proc/stat`);
  // cpuN user nice system idle iowait irq softirq steal ...
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - (f[3] ?? 0) - (f[4] ?? 0)) / TICKS_PER_SECOND;
}
