/**
 * The CPU of name normalisation (UTS #46, src/issuance/policy-engine/idna.ts) per name and per
 * request, for the request shapes of the outside probe of 2026-12-05 (probe39 MEDIUM-1: 100
 * DNS names of 6 labels of "<i>" + 35 x "ü" / Arabic / CJK) and for ordinary requests.
 * "request" is the name work of one IssueCertificate: certifiedNames (plan.ts) and evaluate
 * (check.ts), both on the event loop. Best of five rounds of process CPU (the machine is
 * shared; the best round is the least disturbed one).
 *
 *   node --require tsx/cjs bench/idna/index.ts [rounds]
 */

import { certifiedNames } from "../../src/issuance/certificates/names";
import * as policyEngine from "../../src/issuance/policy-engine";
import {
  compilePolicy,
  evaluate,
  type PolicyRequest,
  presetSpec,
} from "../../src/issuance/policy-engine";
import { toALabels } from "../../src/issuance/policy-engine/idna";

/** pol-a of the probe: TLS server names under a.example.com. */
const spec = presetSpec("TLS_SERVER");
spec.sans.dns = { allowed: ["**.a.example.com"], denied: [], required: false };
spec.subject.COMMON_NAME = { allowed: ["*"], denied: [], required: false };
const policy = compilePolicy(spec);

const repeat = (s: string, n: number) => s.repeat(n);
/** `labels` labels of "<i>" + `n` x `ch`, under `suffix` (the probe's generator). */
const names = (count: number, labels: number, ch: string, n: number, suffix: string) =>
  Array.from({ length: count }, (_, i) =>
    [...Array.from({ length: labels }, () => `${i}${repeat(ch, n)}`), suffix].join("."),
  );

const SHAPES: Record<string, string[]> = {
  // The probe's files (/work/probe39/c): h2, h3, h4, heavy.
  "h2 (100 x 6 x ü35)": names(100, 6, "ü", 35, "evil.com"),
  "h3 (100 x 7 x Arabic30)": names(100, 7, "\u0644", 30, "evil.com"),
  "h4 (100 x 8 x CJK15)": names(100, 8, "\u4e2d", 15, "evil.com"),
  "heavy (100 x 3 x ü20+x20)": names(100, 3, `${repeat("ü", 20)}${repeat("x", 20)}`, 1, "evil.com"),
  "heavy-ok (valid, allowed)": names(
    100,
    3,
    `${repeat("ü", 20)}${repeat("x", 20)}`,
    1,
    "a.example.com",
  ).map((n, i) => `${i}${n}`),
  // Invalid on a UTS #46 check, so diagnose() runs: a label ending in '-'.
  "100 x invalid (hyphen)": names(100, 6, "ü", 35, "evil-.com"),
  // Longest labels: 63 characters each, 3 labels.
  "100 x 3 x ü63": names(100, 3, "ü", 62, "a.example.com"),
  // Ordinary requests.
  "ordinary ASCII (1 name)": ["n.a.example.com"],
  "ordinary ASCII (100 names)": Array.from({ length: 100 }, (_, i) => `host-${i}.a.example.com`),
  "ordinary IDN (3 names)": ["bücher.a.example.com", "中文.a.example.com", "مثال.a.example.com"],
  "ordinary IDN (100 names)": Array.from(
    { length: 100 },
    (_, i) => `${["bücher", "中文网", "مثال", "пример", "例え"][i % 5]}-${i}.a.example.com`,
  ),
};

const request = (dns: string[]): PolicyRequest => ({
  subject: { attributes: [{ type: "COMMON_NAME", value: "x.a.example.com" }] },
  sans: { dns, ip: [], email: [], uri: [] },
  keyAlgorithm: "EC_P256",
  signatureAlgorithm: "ECDSA_WITH_SHA256",
  keyUsages: ["DIGITAL_SIGNATURE"],
  extendedKeyUsages: ["SERVER_AUTH"],
  ttlSeconds: 3600,
  isCa: false,
});

/** Microseconds of process CPU per call of `fn(round)`, best of five rounds of `rounds` calls. */
function cpuMicros(rounds: number, fn: (round: number) => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let attempt = 0; attempt < 5; attempt++) {
    const t0 = process.cpuUsage();
    for (let r = 0; r < rounds; r++) fn(attempt * rounds + r);
    const used = process.cpuUsage(t0);
    best = Math.min(best, (used.user + used.system) / rounds);
  }
  return best;
}

const rounds = Number(process.argv[2] ?? 20);
/**
 * "cold": each round's names are new (an ASCII label in front, a new one each round), so no
 * cache helps, as for an attacker who varies names; "warm": the same request again, as the
 * probe sent it.
 */
const fresh = (dns: string[], round: number) => dns.map((n) => `r${round}.${n}`);
const cols = ["toALabels µs/name", "req cold µs", "µs/name", "req warm µs", "budget µs"];
console.log(`${"shape".padEnd(28)}${cols.map((c) => c.padStart(18)).join("")}  outcome`);
for (const [label, dns] of Object.entries(SHAPES)) {
  const req = request(dns);
  for (let i = 0; i < 3; i++) {
    for (const n of fresh(dns, -1 - i)) toALabels(n);
    certifiedNames(policy, req.subject, req.sans);
    evaluate(policy, request(fresh(dns, -1 - i)));
  }
  const cold = Array.from({ length: 5 * rounds }, (_, r) => fresh(dns, r));
  const coldReq = Array.from({ length: 5 * rounds }, (_, r) => request(fresh(dns, 1e6 + r)));
  const perName = cpuMicros(rounds, (r) => {
    for (const n of cold[r]!) toALabels(n);
  });
  const run = (q: PolicyRequest) => {
    certifiedNames(policy, q.subject, q.sans);
    evaluate(policy, q);
  };
  const coldRequest = cpuMicros(rounds, (r) => run(coldReq[r]!));
  const warmRequest = cpuMicros(rounds, () => run(req));
  const budget = budgetOf(req);
  const violations = evaluate(policy, req);
  const reasons = [...new Set(violations.map((v) => v.reason))].join(",") || "ok";
  const nums = [perName / dns.length, coldRequest, coldRequest / dns.length, warmRequest];
  console.log(
    `${label.padEnd(28)}${nums.map((n) => n.toFixed(1).padStart(18)).join("")}${budget.cost}  ${violations.length} violations ${reasons}; budget ${budget.verdict}`,
  );
}

/** The per-request budget's counting pass (when the engine has one), its cost and verdict. */
function budgetOf(req: PolicyRequest): { cost: string; verdict: string } {
  const engine = policyEngine as Record<string, unknown>;
  const check = engine.nameNormalisationBudget as
    | ((s: PolicyRequest["subject"], n: PolicyRequest["sans"]) => Array<{ field: string }>)
    | undefined;
  if (!check) return { cost: "-".padStart(18), verdict: "none" };
  const micros = cpuMicros(rounds * 10, () => check(req.subject, req.sans));
  const refused = check(req.subject, req.sans);
  return {
    cost: micros.toFixed(1).padStart(18),
    verdict: refused.length ? `refuses at ${refused[0]!.field}` : "passes",
  };
}
