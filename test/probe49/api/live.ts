/**
 * The compiled server (dist/src/main.js) as a process on its own fresh PostgreSQL database, as
 * an outside prober meets it: one admin token (the data directory's admin-token file), and
 * everything else made over the gRPC API.
 */
import type { Metadata, ServiceError } from "@grpc/grpc-js";
import { CreateAccessTokenRequest, Role } from "../../../gen/ts/certmint/v1/access_token_service";
import { CreateRootCertificateAuthorityRequest } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificatePolicyPreset,
  CreateCertificatePolicyRequest,
} from "../../../gen/ts/certmint/v1/certificate_policy_service";
import {
  CreateCertificateProfileRequest,
  PrivateKeyRetention,
} from "../../../gen/ts/certmint/v1/certificate_profile_service";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import { type CertmintClients, call, makeClients } from "../../support/harness";
import type { TestDatabase } from "../../support/postgres";
import type { ServerProcess } from "../../support/server-process";
import { startOnFreshDatabase, stopOnDatabase } from "../live";

export interface LiveCertmint {
  server: ServerProcess;
  db: TestDatabase;
  address: string;
  admin: CertmintClients;
  adminToken: string;
  /** The key-encryption key (a second server on the same database needs it). */
  kek: string;
  clientsAs(token: string | undefined): CertmintClients;
  /** Rows of a table (to prove a refused call wrote nothing). */
  count(table: string, where?: string, params?: unknown[]): Promise<number>;
  stop(): Promise<void>;
}

export async function startLive(env: Record<string, string> = {}): Promise<LiveCertmint> {
  const { server, db, kek } = await startOnFreshDatabase({ CERTMINT_LOG_LEVEL: "info", ...env });
  const adminToken = server.adminToken();
  const made: CertmintClients[] = [];
  const clientsAs = (token: string | undefined) => {
    const c = makeClients(server.address, token);
    made.push(c);
    return c;
  };
  const admin = clientsAs(adminToken);
  return {
    server,
    db,
    address: server.address,
    admin,
    adminToken,
    kek,
    clientsAs,
    async count(table, where = "true", params = []) {
      const [row] = await db.query<{ n: string }>(
        `select count(*) as n from ${table} where ${where}`,
        params,
      );
      return Number(row!.n);
    },
    stop: () => stopOnDatabase(made, { server, db }),
  };
}

/** A root CA, a TLS-server policy (names under example.com, any CN) and a profile on them. */
export async function rootPolicyProfile(
  live: LiveCertmint,
  slug: string,
  options: {
    requireApproval?: boolean;
    allowSharedRenewal?: boolean;
    retention?: PrivateKeyRetention;
    root?: string;
    uri?: string[];
  } = {},
) {
  const root =
    options.root ??
    (
      await call(
        live.admin.authorities,
        "createRootCertificateAuthority",
        CreateRootCertificateAuthorityRequest.fromPartial({
          slug: `${slug}-root`,
          subject: { commonName: `${slug} root` },
          keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
        }),
      )
    ).certificateAuthority!.id;
  await call(
    live.admin.policies,
    "createCertificatePolicy",
    CreateCertificatePolicyRequest.fromPartial({
      preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
      certificatePolicy: {
        slug: `${slug}-policy`,
        sanRules: {
          dns: { allowed: ["**.example.com"] },
          ...(options.uri ? { uri: { allowed: options.uri } } : {}),
        },
        subjectRules: { commonName: { allowed: ["*"] } },
        maxTtl: { seconds: String(30 * 86_400), nanos: 0 },
      },
    }),
  );
  const profile = await call(
    live.admin.profiles,
    "createCertificateProfile",
    CreateCertificateProfileRequest.fromPartial({
      certificateProfile: {
        slug,
        certificatePolicy: `${slug}-policy`,
        issuer: { $case: "certificateAuthority", value: root },
        requireApproval: options.requireApproval ?? false,
        renewal: { allowSharedRenewal: options.allowSharedRenewal ?? false },
        privateKeyRetention:
          options.retention ?? PrivateKeyRetention.PRIVATE_KEY_RETENTION_RETURN_ONCE,
      },
    }),
  );
  return { rootId: root, profileId: profile.certificateProfile!.id };
}

/** A token of `role` on `profiles`, made by the admin; its id, secret and clients. */
export async function token(live: LiveCertmint, slug: string, role: Role, profiles: string[] = []) {
  const res = await call(
    live.admin.accessTokens,
    "createAccessToken",
    CreateAccessTokenRequest.fromPartial({
      accessToken: { slug, role, certificateProfiles: profiles },
    }),
  );
  return { id: res.accessToken!.id, secret: res.secret, clients: live.clientsAs(res.secret) };
}

/** A unary call with its own metadata and options: the error or response, and the header metadata. */
export function callWith<Res>(
  client: object,
  method: string,
  request: unknown,
  metadata: Metadata,
  deadlineMs = 60_000,
): Promise<{ err?: ServiceError; res?: Res; headers?: Metadata }> {
  return new Promise((resolve) => {
    let headers: Metadata | undefined;
    const fn = (
      client as Record<
        string,
        (...a: unknown[]) => { on(e: string, f: (m: Metadata) => void): void }
      >
    )[method]!;
    const c = fn.call(
      client,
      request,
      metadata,
      { deadline: Date.now() + deadlineMs },
      (err: ServiceError | null, res: Res) => resolve(err ? { err, headers } : { res, headers }),
    );
    c.on("metadata", (m: Metadata) => {
      headers = m;
    });
  });
}

export { Role };

/**
 * The first character a message must never carry raw, as a "U+XXXX" string, or undefined: the
 * README's Errors section says quoted input is JSON-escaped, C0/C1 controls, DEL, bidi,
 * zero-width, U+FEFF and line/paragraph separators included (as \uXXXX).
 */
export function rawFormatCharacter(message: string): string | undefined {
  for (const ch of message) {
    const c = ch.codePointAt(0)!;
    if (
      c <= 0x1f ||
      (c >= 0x7f && c <= 0x9f) ||
      (c >= 0x200b && c <= 0x200f) ||
      (c >= 0x2028 && c <= 0x202e) ||
      (c >= 0x2066 && c <= 0x2069) ||
      c === 0xfeff
    ) {
      return `U+${c.toString(16).toUpperCase().padStart(4, "0")}`;
    }
  }
  return undefined;
}
