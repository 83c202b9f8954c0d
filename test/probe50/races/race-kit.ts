/**
 * What the probe50 RACES files share: two replicas of the compiled server (dist/src/main.js)
 * on one fresh PostgreSQL database, as an outsider meets them (the admin token of the data
 * directory, everything else over gRPC), and the helpers that fire conflicting calls at once
 * and read what ended up stored. Black-box: nothing of src/ is imported.
 */
import { X509Certificate } from "node:crypto";
import type { Client, ServiceError } from "@grpc/grpc-js";
import {
  IssueCertificateRequest,
  type IssueCertificateResponse,
} from "../../../gen/ts/certmint/v1/certificate_service";
import type { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import { type LiveCertmint, startLive } from "../../probe49/api/live";
import {
  type CertmintClients,
  call,
  type DecodedError,
  decodeError,
  makeClients,
} from "../../support/harness";
import { type ServerProcess, startServerProcess } from "../../support/server-process";

export interface ReplicaPair {
  live: LiveCertmint;
  replica: ServerProcess;
  /** Clients of the replica (the second server) with `token`. */
  onReplica(token: string | undefined): CertmintClients;
  /** The admin's clients on the replica. */
  adminB: CertmintClients;
  stop(): Promise<void>;
}

/** The compiled server and a replica of it on the same database (the same KEK). */
export async function startPair(env: Record<string, string> = {}): Promise<ReplicaPair> {
  const live = await startLive(env);
  const replica = await startServerProcess({
    DATABASE_URL: live.db.url,
    CERTMINT_KEK: live.kek,
    CERTMINT_LOG_FORMAT: "json",
    CERTMINT_LOG_LEVEL: "info",
    ...env,
  });
  const made: CertmintClients[] = [];
  const onReplica = (token: string | undefined) => {
    const c = makeClients(replica.address, token);
    made.push(c);
    return c;
  };
  return {
    live,
    replica,
    onReplica,
    adminB: onReplica(live.adminToken),
    async stop() {
      for (const set of made) for (const c of Object.values(set)) (c as Client).close();
      await replica.stop();
      await live.stop();
    },
  };
}

export const seconds = (n: number) => ({ seconds: String(n), nanos: 0 });
export const DAY = 86_400;

/** An IssueCertificate of `names` (the first also the CN), a key certmint generates. */
export function issueRequest(
  profile: string,
  names: string[],
  options: { ttl?: number; keyAlgorithm?: KeyAlgorithm; requestId?: string } = {},
) {
  return IssueCertificateRequest.fromPartial({
    certificateProfile: profile,
    requestId: options.requestId ?? "",
    source: {
      $case: "attributes",
      value: {
        subject: { commonName: names[0]! },
        subjectAlternativeNames: { dnsNames: names },
        ...(options.keyAlgorithm ? { keyAlgorithm: options.keyAlgorithm } : {}),
      },
    },
    ...(options.ttl ? { ttl: seconds(options.ttl) } : {}),
  });
}

export type Outcome =
  | { ok: true; res: IssueCertificateResponse }
  | { ok: false; error: DecodedError };

/** A call's outcome, never a rejection: what a racing caller was answered. */
export async function outcome<T>(
  p: Promise<T>,
): Promise<{ ok: true; res: T } | { ok: false; error: DecodedError }> {
  try {
    return { ok: true, res: await p };
  } catch (err) {
    if ((err as ServiceError).code === undefined) throw err;
    return { ok: false, error: decodeError(err) };
  }
}

export function issue(c: CertmintClients, request: ReturnType<typeof issueRequest>) {
  return outcome(call(c.certificates, "issueCertificate", request));
}

/** A stored certificate as a relying party sees it. */
export interface StoredCertificate {
  id: string;
  caId: string;
  profileId: string | null;
  owner: string;
  notBefore: Date;
  notAfter: Date;
  revokedAt: Date | null;
  revocationReason: string | null;
  createdAt: Date;
  x509: X509Certificate;
  dnsNames: string[];
  /** notAfter - notBefore, in seconds (the period is one second more: both inclusive). */
  spanSeconds: number;
  keyType: string;
  rsaBits?: number;
  spki: string;
}

/** Every certificate row matching `where`, parsed. */
export async function storedCertificates(
  live: LiveCertmint,
  where = "true",
  params: unknown[] = [],
): Promise<StoredCertificate[]> {
  const rows = await live.db.query<{
    id: string;
    ca_id: string;
    profile_id: string | null;
    owner: string;
    not_before: Date;
    not_after: Date;
    revoked_at: Date | null;
    revocation_reason: string | null;
    created_at: Date;
    certificate_pem: string;
    spki_sha256: string;
  }>(
    `select id, ca_id, profile_id, owner, not_before, not_after, revoked_at, revocation_reason,
            created_at, certificate_pem, spki_sha256
       from certificate where ${where} order by created_at`,
    params,
  );
  return rows.map((r) => {
    const x509 = new X509Certificate(r.certificate_pem);
    const from = new Date(x509.validFrom);
    const to = new Date(x509.validTo);
    const details = x509.publicKey.asymmetricKeyDetails;
    return {
      id: r.id,
      caId: r.ca_id,
      profileId: r.profile_id,
      owner: r.owner,
      notBefore: new Date(r.not_before),
      notAfter: new Date(r.not_after),
      revokedAt: r.revoked_at ? new Date(r.revoked_at) : null,
      revocationReason: r.revocation_reason,
      createdAt: new Date(r.created_at),
      x509,
      dnsNames: (x509.subjectAltName ?? "")
        .split(", ")
        .filter((s) => s.startsWith("DNS:"))
        .map((s) => s.slice(4)),
      spanSeconds: (to.getTime() - from.getTime()) / 1000,
      keyType: x509.publicKey.asymmetricKeyType ?? "",
      ...(details?.modulusLength ? { rsaBits: details.modulusLength } : {}),
      spki: r.spki_sha256,
    };
  });
}

/** The ids of the certificates matching `where` right now. */
export async function certificateIds(
  live: LiveCertmint,
  where = "true",
  params: unknown[] = [],
): Promise<Set<string>> {
  const rows = await live.db.query<{ id: string }>(
    `select id from certificate where ${where}`,
    params,
  );
  return new Set(rows.map((r) => r.id));
}

/**
 * Runs `change` beside `racers` (all started together) and, the moment `change` answers, reads
 * the ids stored so far: whatever is stored later was committed after the change answered.
 * `followers` start once the change answered (calls sent after it: the new state only).
 */
export async function raceAgainst<C, R>(
  change: () => Promise<C>,
  racers: Array<() => Promise<R>>,
  snapshot: () => Promise<Set<string>>,
  followers: Array<() => Promise<R>> = [],
): Promise<{ change: C; results: R[]; followed: R[]; before: Set<string> }> {
  let before: Promise<Set<string>> | undefined;
  let followed: Promise<R[]> = Promise.resolve([]);
  const changed = change().then((c) => {
    before = snapshot();
    followed = Promise.all(followers.map((f) => f()));
    return c;
  });
  const [c, ...results] = await Promise.all([changed, ...racers.map((r) => r())]);
  return {
    change: c as C,
    results: results as R[],
    followed: await followed,
    before: await before!,
  };
}
