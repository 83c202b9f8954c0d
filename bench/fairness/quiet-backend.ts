/**
 * The set-up both fairness benchmarks share: the compiled server on a fresh database of the
 * running PostgreSQL, the client profile, and a quiet backend (its own ISSUER token of the
 * profile) with the CSRs it issues, warmed up; the profile's own issuer token is the noisy side.
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
  type CertmintServer,
  CLIENT_PROFILE,
  call,
  createClientProfile,
  startCertmint,
} from "../common/certmint";
import { clientCsrs } from "../common/csr";
import { type GhzTarget, ghzIssue, type LoadResult, writeGhzData } from "../common/load";
import { freshDatabase } from "../issue/setup";

const ADMIN_URL =
  process.env.BENCH_DATABASE_URL ?? "postgresql://certmint:certmint@127.0.0.1:5432/certmint";

export interface QuietBackend {
  server: CertmintServer;
  /** The quiet backend's token on the server. */
  quiet: GhzTarget;
  /** The profile's own ISSUER token: the noisy side. */
  noisyToken: string;
  /** ghz data file of 200 P-256 CSRs the profile allows. */
  data: string;
  /** The intermediate CA the profile issues from. */
  caId: string;
  /** The run's directory (removed by close). */
  dir: string;
  /** Stops the server, drops the database, removes the directory. */
  close(): Promise<void>;
}

export async function setUpQuietBackend(
  name: string,
  options: { env?: Record<string, string>; nodeFlags?: string[] } = {},
): Promise<QuietBackend> {
  const dir = mkdtempSync(join(tmpdir(), `certmint-${name}-`));
  const db = await freshDatabase(ADMIN_URL);
  const server = await startCertmint({ databaseUrl: db.url, dir, ...options }).catch(
    async (err: unknown) => {
      await db.drop();
      throw err;
    },
  );
  const close = async () => {
    await server.stop();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  };
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
    await ghzIssue(quietTarget, data, { clients: 4, seconds: 2 }); // warm-up, not counted
    return {
      server,
      quiet: quietTarget,
      noisyToken: profile.issuerToken,
      data,
      caId: profile.caId,
      dir,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** One printed line of a load's outcome. */
export function loadLine(name: string, r: LoadResult): string {
  return `${name}: ${r.successes} calls, ${(r.successes / r.seconds).toFixed(0)}/s, mean ${r.meanMs?.toFixed(1)} ms, p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, ${r.errors} errors${r.topError ? ` (${r.topError})` : ""}`;
}

/** a / b as "1.5x", or "-" without both. */
export function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined ? "-" : `${(a / b).toFixed(1)}x`;
}
