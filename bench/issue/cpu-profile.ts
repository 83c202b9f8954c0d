/**
 * Summary of a V8 .cpuprofile (node --cpu-prof) of the server: main-thread CPU by activity
 * (CSR parsing, signing, ORM and driver, gRPC, GC...) and self time by location. A stack is
 * synchronous: the code after an await counts where it resumes (usually under runMicrotasks),
 * so an activity is the synchronous work of that layer, which is what costs CPU.
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

interface Activity {
  name: string;
  /** A stack (leaf to root) belongs to the first activity whose test matches any frame. */
  test: (frame: ProfileNode["callFrame"]) => boolean;
}

const inModule = (re: RegExp) => (f: ProfileNode["callFrame"]) => re.test(f.url);
const named =
  (...names: string[]) =>
  (f: ProfileNode["callFrame"]) =>
    names.includes(f.functionName) && f.url.includes("/src/");

/** What the server spends its CPU on, most specific first. */
const ACTIVITIES: Activity[] = [
  {
    name: "start-up (module loading, migrations)",
    test: (f) =>
      /\/tsx\/|@mikro-orm\/migrations|umzug/.test(f.url) ||
      ["wrapSafe", "compileFunction", "Module._load"].includes(f.functionName),
  },
  { name: "CSR parse + signature check (parseCsr)", test: named("parseCsr") },
  { name: "certificate build + sign (issueCertificate)", test: named("issueCertificate") },
  {
    name: "key generation / export (main thread part)",
    test: named("generateKeyPair", "exportPrivateKeyPem"),
  },
  { name: "policy evaluation", test: named("evaluate", "checkPlan") },
  {
    name: "ORM + SQL builder + pg driver (incl. socket writes)",
    test: inModule(/node_modules\/(@mikro-orm|knex|pg|pg-protocol|pg-pool|tarn|lodash)\//),
  },
  {
    name: "gRPC + protobuf",
    test: inModule(/node_modules\/(@grpc|@bufbuild|protobufjs)\/|\/gen\/ts\/|node:internal\/http2/),
  },
  { name: "logging (pino)", test: inModule(/node_modules\/(pino|sonic-boom|thread-stream)\//) },
  { name: "other certmint code", test: inModule(/\/src\//) },
  { name: "garbage collector", test: (f) => f.functionName === "(garbage collector)" },
  {
    name: "promise / async_hooks machinery",
    test: (f) =>
      f.functionName === "runMicrotasks" ||
      /node:internal\/async_hooks|node:async_hooks/.test(f.url),
  },
];

function locationOf(frame: ProfileNode["callFrame"]): string {
  const { url, functionName } = frame;
  if (!url) return `(native) ${functionName || "anonymous"}`;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (nm) return nm[1]!;
  const src = /\/src\/([^/]+)\//.exec(url);
  if (src) return `src/${src[1]}`;
  if (url.startsWith("node:internal")) return `node:internal ${functionName}`;
  return url.startsWith("node:") ? url : url.replace(/.*\/(src|gen|bench)\//, "$1/");
}

/**
 * Where a profiled server's CPU went. With `issuances` (how many it stored), each line also
 * gives microseconds of main-thread CPU per issuance (start-up excluded).
 */
export function summarizeCpuProfile(file: string, issuances?: number, top = 14): string {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const activity = new Map<string, number>();
  const location = new Map<string, number>();
  let idle = 0;
  for (const [id, t] of self) {
    const leaf = byId.get(id)!.callFrame;
    if (leaf.functionName === "(idle)") {
      idle += t;
      continue;
    }
    const frames: ProfileNode["callFrame"][] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur))
      frames.push(byId.get(cur)!.callFrame);
    const act =
      ACTIVITIES.find((a) => frames.some((f) => a.test(f)))?.name ?? "other (Node internals)";
    activity.set(act, (activity.get(act) ?? 0) + t);
    const loc = locationOf(leaf);
    location.set(loc, (location.get(loc) ?? 0) + t);
  }
  const busy = [...activity.values()].reduce((a, b) => a + b, 0);
  const startup = activity.get(ACTIVITIES[0]!.name) ?? 0;
  const perIssuance = (t: number) =>
    issuances ? `${(t / issuances).toFixed(0).padStart(6)} us/iss` : "";
  const line = (t: number, what: string) =>
    `  ${((100 * t) / busy).toFixed(1).padStart(5)}% ${perIssuance(t)}  ${what}`;
  const lines = [
    `${file}: main thread busy ${(busy / 1e6).toFixed(1)} s, idle ${(idle / 1e6).toFixed(1)} s` +
      (issuances
        ? `; ${issuances} issuances, ${((busy - startup) / issuances).toFixed(0)} us of main-thread CPU each (start-up excluded)`
        : ""),
    "by activity (a sample counts for the first activity found on its stack):",
  ];
  for (const [name, t] of [...activity].sort((a, b) => b[1] - a[1])) lines.push(line(t, name));
  lines.push("self time by location (top):");
  for (const [name, t] of [...location].sort((a, b) => b[1] - a[1]).slice(0, top))
    lines.push(line(t, name));
  return lines.join("\n");
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    console.error(
      "usage: node --require tsx/cjs bench/issue/cpu-profile.ts <file.cpuprofile> [issuances]",
    );
    process.exit(2);
  }
  console.log(summarizeCpuProfile(file, process.argv[3] ? Number(process.argv[3]) : undefined));
}
