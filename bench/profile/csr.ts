/**
 * parseCsr alone, on the benchmark's P-256 CSRs (bench/common/csr.ts): microseconds per CSR,
 * best of five rounds (the machine is shared; the best round is the least disturbed one).
 *
 *   node --require tsx/cjs bench/profile/csr.ts [rounds-of-200]
 */

import { parseCsr } from "../../src/signer";
import { clientCsrs } from "../common/csr";

const csrs = clientCsrs(200).map((c) => c.pem);
const rounds = Number(process.argv[2] ?? 10);
let best = Number.POSITIVE_INFINITY;
for (let attempt = 0; attempt < 5; attempt++) {
  const t0 = process.cpuUsage();
  for (let r = 0; r < rounds; r++) for (const pem of csrs) parseCsr(pem);
  const used = process.cpuUsage(t0);
  best = Math.min(best, (used.user + used.system) / (rounds * csrs.length));
}
console.log(`parseCsr: ${best.toFixed(1)} us of CPU per P-256 CSR (best of 5 rounds)`);
