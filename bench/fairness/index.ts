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
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AccessToken,
  AccessTokenServiceClient,
  Role,
} from "../../gen/ts/certmint/v1/access_token_service";
import {
  bearer,
  CLIENT_PROFILE,
  call,
  createClientProfile,
  startCertmint,
} from "../common/certmint";
import { clientCsrs } from "../common/csr";
import { ghzIssue, type LoadResult, writeGhzData } from "../common/load";
import { freshDatabase } from "../issue/setup";

const ADMIN_URL =
  process.env.BENCH_DATABASE_URL ?? "postgresql://certmint:certmint@127.0.0.1:5432/certmint";
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const NOISY_CLIENTS = Number(process.env.BENCH_NOISY_CLIENTS ?? 500);
const NOISY_CONNECTIONS = Number(process.env.BENCH_NOISY_CONNECTIONS ?? 2);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "certmint-fairness-"));
  const db = await freshDatabase(ADMIN_URL);
  const server = await startCertmint({ databaseUrl: db.url, dir }).catch(async (err: unknown) => {
    await db.drop();
    throw err;
  });
  try {
    const profile = await createClientProfile(server);
    const tokens = new AccessTokenServiceClient(server.address, server.credentials, {
      ...server.channelOptions,
      interceptors: [bearer(server.adminToken)],
    });
    const quiet = await call(tokens, "createAccessToken", {
      accessToken: AccessToken.fromPartial({
        slug: "bench-quiet",
        role: Role.ROLE_ISSUER,
        certificateProfiles: [CLIENT_PROFILE],
      }),
    });
    tokens.close();
    const data = writeGhzData(
      dir,
      clientCsrs(200).map((c) => c.pem),
    );
    const quietTarget = { address: server.address, token: quiet.secret };
    const noisyTarget = { address: server.address, token: profile.issuerToken };
    await ghzIssue(quietTarget, data, { clients: 4, seconds: 2 }); // warm-up, not counted
    const alone = await ghzIssue(quietTarget, data, { clients: 1, seconds: SECONDS });
    const [beside, noisy] = await Promise.all([
      ghzIssue(quietTarget, data, { clients: 1, seconds: SECONDS }),
      ghzIssueOver(noisyTarget, data, NOISY_CLIENTS, NOISY_CONNECTIONS, SECONDS + 2),
    ]);
    const line = (name: string, r: LoadResult) =>
      `${name}: ${r.successes} calls, ${(r.successes / r.seconds).toFixed(0)}/s, mean ${r.meanMs?.toFixed(1)} ms, p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, ${r.errors} errors${r.topError ? ` (${r.topError})` : ""}`;
    console.log(line("quiet token alone (1 client)", alone));
    console.log(line("quiet token beside the noisy one (1 client)", beside));
    console.log(
      line(`noisy token (${NOISY_CLIENTS} calls over ${NOISY_CONNECTIONS} connections)`, noisy),
    );
    const ratio = (a: number | undefined, b: number | undefined) =>
      a === undefined || b === undefined ? "-" : `${(a / b).toFixed(1)}x`;
    console.log(
      `quiet beside / alone: calls ${ratio(beside.successes, alone.successes)}, mean ${ratio(beside.meanMs, alone.meanMs)}, p50 ${ratio(beside.p50Ms, alone.p50Ms)}, p99 ${ratio(beside.p99Ms, alone.p99Ms)}`,
    );
  } finally {
    await server.stop();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
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
