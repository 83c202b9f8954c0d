/**
 * What one caller does to everyone else's latency: a quiet backend (its own ISSUER token, one
 * client issuing P-256 CSRs one after another) measured alone, then beside a noisy one (another
 * ISSUER token of the same profile with BENCH_NOISY_CLIENTS concurrent calls over
 * BENCH_NOISY_CONNECTIONS connections), on the compiled server and a fresh database of the
 * running PostgreSQL.
 *
 *   make build
 *   node --require tsx/cjs bench/fairness/index.ts
 *
 * Prints the quiet client's p50 / p99 alone and beside the noise with their ratios, and the
 * noisy token's rate and refusals. The load generators share the machine with the server; the
 * ratio, measured in one run, is the figure.
 */
import { ghzIssue, type LoadResult } from "../common/load";
import { loadLine, ratio, setUpQuietBackend } from "./quiet-backend";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const NOISY_CLIENTS = Number(process.env.BENCH_NOISY_CLIENTS ?? 500);
const NOISY_CONNECTIONS = Number(process.env.BENCH_NOISY_CONNECTIONS ?? 2);

async function main(): Promise<void> {
  const bench = await setUpQuietBackend("fairness");
  try {
    const { quiet, data } = bench;
    const noisyTarget = { address: bench.server.address, token: bench.noisyToken };
    const alone = await ghzIssue(quiet, data, { clients: 1, seconds: SECONDS });
    const [beside, noisy] = await Promise.all([
      ghzIssue(quiet, data, { clients: 1, seconds: SECONDS }),
      ghzIssueOver(noisyTarget, data, NOISY_CLIENTS, NOISY_CONNECTIONS, SECONDS + 2),
    ]);
    console.log(loadLine("quiet token alone (1 client)", alone));
    console.log(loadLine("quiet token beside the noisy one (1 client)", beside));
    console.log(
      loadLine(`noisy token (${NOISY_CLIENTS} calls over ${NOISY_CONNECTIONS} connections)`, noisy),
    );
    console.log(
      `quiet beside / alone: calls ${ratio(beside.successes, alone.successes)}, mean ${ratio(beside.meanMs, alone.meanMs)}, p50 ${ratio(beside.p50Ms, alone.p50Ms)}, p99 ${ratio(beside.p99Ms, alone.p99Ms)}`,
    );
  } finally {
    await bench.close();
  }
}

/** ghzIssue with fewer connections than calls (ghz multiplexes the calls over them). */
function ghzIssueOver(
  target: { address: string; token: string },
  data: string,
  clients: number,
  connections: number,
  seconds: number,
): Promise<LoadResult> {
  return ghzIssue(target, data, { clients, seconds, connections });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
