/**
 * What a bench run issues against: a fresh PostgreSQL database, a P-256 root CA (created over
 * gRPC, as an operator would), a TLS-server policy and profile (rows written directly, as the
 * test fixtures do), and a pool of distinct P-256 CSRs built before the clock starts.
 */
import { credentials } from "@grpc/grpc-js";
import { Client } from "pg";
import {
  AccessToken,
  AccessTokenServiceClient,
  Role,
} from "../../gen/ts/certmint/v1/access_token_service";
import {
  CertificateAuthorityServiceClient,
  CreateRootCertificateAuthorityRequest,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";
import { createCsr, generateKeyPair } from "../../src/signer";
import { createProfileRows } from "../../test/support/fixtures";
import type { TestCertmint } from "../../test/support/harness";
import { bearer, call } from "../../test/support/harness";

export interface BenchDatabase {
  url: string;
  name: string;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

/** A new, empty database on the cluster of adminUrl (default settings: durable commits). */
export async function freshDatabase(adminUrl: string): Promise<BenchDatabase> {
  const name = `certmint_bench_${Date.now().toString(36)}_${process.pid}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  return {
    url: url.toString(),
    name,
    async query<T>(sql: string, params?: unknown[]) {
      return (await client.query(sql, params)).rows as T[];
    },
    async drop() {
      await client.end();
      const a = new Client({ connectionString: adminUrl });
      await a.connect();
      try {
        await a.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await a.end();
      }
    },
  };
}

/**
 * A P-256 root CA "bench-root", a profile "web" issuing under it (RETURN_ONCE keys), and an
 * ISSUER access token for "web"; returns the token's secret.
 */
export async function createIssuer(
  address: string,
  db: BenchDatabase,
  adminToken: string,
): Promise<string> {
  const options = { interceptors: [bearer(adminToken)] };
  const authorities = new CertificateAuthorityServiceClient(
    address,
    credentials.createInsecure(),
    options,
  );
  const tokens = new AccessTokenServiceClient(address, credentials.createInsecure(), options);
  try {
    const res = await call(
      authorities,
      "createRootCertificateAuthority",
      CreateRootCertificateAuthorityRequest.fromPartial({
        slug: "bench-root",
        subject: { commonName: "bench root CA" },
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      }),
    );
    // createProfileRows only uses the harness's db.query.
    const h = { db } as unknown as TestCertmint;
    await createProfileRows(h, { slug: "web", caId: res.certificateAuthority!.id });
    const issuer = await call(tokens, "createAccessToken", {
      accessToken: AccessToken.fromPartial({
        slug: "bench-issuer",
        role: Role.ROLE_ISSUER,
        certificateProfiles: ["web"],
      }),
    });
    return issuer.secret;
  } finally {
    authorities.close();
    tokens.close();
  }
}

/** n distinct P-256 CSRs (CN and one DNS SAN under bench.example.com). */
export async function csrPool(n: number): Promise<string[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const name = `svc-${i}.bench.example.com`;
      const { privateKey } = await generateKeyPair("EC_P256");
      return createCsr({
        subject: { attributes: [{ type: "COMMON_NAME", value: name }] },
        privateKey,
        sans: { dns: [name], ip: [], email: [], uri: [] },
      });
    }),
  );
}
