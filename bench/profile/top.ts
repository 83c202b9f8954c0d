/**
 * The top functions of a V8 .cpuprofile by self time, a native leaf (writev, a crypto call)
 * named with the JavaScript function that called it, in percent of the main thread's busy time
 * and, given the number of issuances the profile covers, in microseconds per issuance.
 *
 *   node --require tsx/cjs bench/profile/top.ts <file.cpuprofile> [issuances] [top=15]
 */
import { readFileSync } from "node:fs";

interface Frame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: Frame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const short = (url: string) =>
  url
    .replace(/.*node_modules\//, "")
    .replace(/.*\/dist\//, "")
    .replace("node:internal/", "");
const nameOf = (f: Frame) => `${f.functionName || "(anonymous)"} ${short(f.url)}:${f.lineNumber}`;

export function topFunctions(file: string, issuances?: number, top = 15): string {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = new Map<string, number>();
  let busy = 0;
  for (const [id, t] of self) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === "(idle)") continue;
    busy += t;
    let key = nameOf(frame);
    const caller = parent.get(id);
    if (!frame.url && caller !== undefined) key += ` <- ${nameOf(byId.get(caller)!.callFrame)}`;
    total.set(key, (total.get(key) ?? 0) + t);
  }
  const lines = [
    `${file}: main thread busy ${(busy / 1e6).toFixed(1)} s` +
      (issuances ? `, ${issuances} issuances: ${(busy / issuances).toFixed(0)} us each` : ""),
  ];
  for (const [key, t] of [...total].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    const per = issuances ? `${(t / issuances).toFixed(0).padStart(5)} us ` : "";
    lines.push(`${((100 * t) / busy).toFixed(1).padStart(5)}% ${per} ${key}`);
  }
  return lines.join("\n");
}

if (require.main === module) {
  const [file, issuances, top] = process.argv.slice(2);
  if (!file) {
    console.error("usage: bench/profile/top.ts <file.cpuprofile> [issuances] [top]");
    process.exit(2);
  }
  console.log(topFunctions(file, issuances ? Number(issuances) : undefined, Number(top ?? 15)));
}
