/**
 * PostgreSQL round trips and durable commits per issuance at a given concurrency: the compiled
 * server reaching a fresh database through bench/issue's counting proxy, `BENCH_CLIENTS` ghz
 * workers issuing P-256 CSRs for `BENCH_SECONDS`. `make bench-issue` counts them for a lone
 * client; this shows how far concurrent calls share statements (statement-batches.ts). The proxy
 * costs CPU, so the rate printed here is not a throughput figure.
 *
 *   npm run build
 *   BENCH_CLIENTS=16 BENCH_SECONDS=10 node --require tsx/cjs bench/profile/round-trips.ts
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClientProfile, startCertmint } from "../common/certmint";
import { clientCsrs } from "../common/csr";
import { ghzIssue, writeGhzData } from "../common/load";
import { startPgCounter } from "../issue/pg-counter";
import { freshDatabase } from "../issue/setup";

const ADMIN_URL =
  process.env.BENCH_DATABASE_URL ?? "postgresql://certmint:certmint@127.0.0.1:5432/certmint";
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 16);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "certmint-round-trips-"));
  const db = await freshDatabase(ADMIN_URL);
  const counter = await startPgCounter(db.url);
  try {
    const server = await startCertmint({ databaseUrl: counter.url, dir });
    try {
      const profile = await createClientProfile(server);
      const data = writeGhzData(
        dir,
        clientCsrs(200).map((c) => c.pem),
      );
      const target = { address: server.address, token: profile.issuerToken };
      await ghzIssue(target, data, { clients: CLIENTS, seconds: 2 });
      counter.reset();
      const res = await ghzIssue(target, data, { clients: CLIENTS, seconds: SECONDS });
      const c = counter.counts;
      const ok = Math.max(1, res.successes);
      const kinds = [...c.byKind]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${(v / ok).toFixed(2)}`)
        .join(", ");
      console.log(
        `${CLIENTS} clients, ${res.successes} issued, ${res.errors} errors: ` +
          `${(c.roundTrips / ok).toFixed(2)} round trips per issuance (${kinds}); ` +
          `${(c.durableCommits / ok).toFixed(2)} durable commits by statement text`,
      );
    } finally {
      await server.stop();
    }
  } finally {
    await counter.close();
    await db.drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
