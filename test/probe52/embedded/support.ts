/**
 * Helpers of the stop-52 outside probe of the embedded default (`make run`: no DATABASE_URL,
 * PGlite in CERTMINT_DATA_DIR, one database connection): calls with their own deadline, what
 * they ended with, and tokens of a second caller. The server itself is started by
 * test/probe49/emb/support.ts (startEmbedded: README's node flags).
 */
import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { CreateAccessTokenRequest, Role } from "../../../gen/ts/certmint/v1/access_token_service";
import { type CertmintClients, call, decodeError, makeClients } from "../../support/harness";
import type { ServerProcess } from "../../support/server-process";

/** The deadline a caller gives each of its calls (the brief: "e.g. 30 s"). */
export const CALL_DEADLINE_MS = 30_000;

/** How one call ended: its answer, or its gRPC code and reason. */
export interface Ended<Res> {
  res?: Res;
  code: number;
  reason?: string;
  message?: string;
  ms: number;
}

/** A unary call with a deadline of `deadlineMs`: never rejects, says how it ended. */
export function callWithin<Res>(
  client: object,
  method: string,
  request: unknown,
  deadlineMs = CALL_DEADLINE_MS,
): Promise<Ended<Res>> {
  const started = Date.now();
  return new Promise((resolve) => {
    const fn = (client as Record<string, (...a: unknown[]) => unknown>)[method]!;
    fn.call(
      client,
      request,
      new Metadata(),
      { deadline: started + deadlineMs },
      (err: ServiceError | null, res: Res) => {
        const ms = Date.now() - started;
        if (!err) resolve({ res, code: status.OK, ms });
        else {
          const d = decodeError(err);
          resolve({ code: d.code, reason: d.reason, message: d.message, ms });
        }
      },
    );
  });
}

/** The name of a gRPC status code, for messages. */
export const codeName = (code: number) => status[code] ?? String(code);

/** A second access token of `role` (on `profiles`), made by the admin; its secret and clients. */
export async function tokenOf(
  server: ServerProcess,
  admin: CertmintClients,
  slug: string,
  role: Role,
  profiles: string[] = [],
) {
  const res = await call(
    admin.accessTokens,
    "createAccessToken",
    CreateAccessTokenRequest.fromPartial({
      accessToken: { slug, role, certificateProfiles: profiles },
    }),
  );
  return {
    id: res.accessToken!.id,
    secret: res.secret,
    c: makeClients(server.address, res.secret),
  };
}

/** Runs `work` over `items` with at most `width` in flight; resolves with every result in order. */
export async function inBatches<T, R>(
  items: readonly T[],
  width: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(width, items.length) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await work(items[i]!, i);
    }
  });
  await Promise.all(lanes);
  return out;
}

export { Role };
