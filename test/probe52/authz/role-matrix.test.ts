/**
 * Probe 52 (AUTHZ): the README's role table ("Access tokens, roles and the audit trail") against
 * the compiled server (dist/src/main.js), for every certmint.v1 RPC and every non-admin role,
 * once with a bearer token and once with a client certificate bound to a token of that role
 * ("Client certificate bindings"), on a second process on the same database that requires
 * client certificates. The in-process matrix (test/auth/permission-matrix.test.ts) uses bearer
 * tokens only; here the credential that a TLS handshake authenticated is held to its token's
 * role the same way.
 *
 * Each refused call is the RPC's empty request: the role gate must answer PERMISSION_DENIED
 * ROLE_NOT_ALLOWED before the request is even read, and no row of any table but audit_record
 * changes (row count and md5 of the rows). A call the role may make is not ROLE_NOT_ALLOWED.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccessTokenServiceService, Role } from "../../../gen/ts/certmint/v1/access_token_service";
import { AuditServiceService } from "../../../gen/ts/certmint/v1/audit_service";
import { CertificateAuthorityServiceService } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import { CertificatePolicyServiceService } from "../../../gen/ts/certmint/v1/certificate_policy_service";
import { CertificateProfileServiceService } from "../../../gen/ts/certmint/v1/certificate_profile_service";
import { CertificateServiceService } from "../../../gen/ts/certmint/v1/certificate_service";
import { type LiveCertmint, startLive, token } from "../../probe49/api/live";
import {
  bindDnsName,
  createSvcPki,
  issueForNames,
  type MtlsProcess,
  PROFILE,
  startMtlsProcess,
} from "../../probe51/identity/svc-pki";
import type { CertmintClients } from "../../support/harness";
import { decodeError } from "../../support/harness";
import { allTablesButAudit, eventsNumbered, snapshotTables } from "./rows";

type ClientKey = keyof CertmintClients;

/** Each service's generated definition and the client that calls it. */
type Definition = Record<
  string,
  { path: string; responseStream: boolean; requestDeserialize: (b: Buffer) => object }
>;
const SERVICES: Array<[ClientKey, Definition]> = [
  ["certificates", CertificateServiceService],
  ["authorities", CertificateAuthorityServiceService],
  ["policies", CertificatePolicyServiceService],
  ["profiles", CertificateProfileServiceService],
  ["accessTokens", AccessTokenServiceService],
  ["audit", AuditServiceService],
];

interface Rpc {
  client: ClientKey;
  method: string;
  name: string;
  streaming: boolean;
  /** The RPC's empty request, every field at its default (the wire's empty message). */
  empty: object;
}

const RPCS: Rpc[] = SERVICES.flatMap(([client, def]) =>
  Object.entries(def).map(([method, d]) => ({
    client,
    method,
    name: d.path.split("/").at(-1)!,
    streaming: d.responseStream,
    empty: d.requestDeserialize(Buffer.alloc(0)),
  })),
);

/** The README's role table, written down from the README (not from src/auth/permissions.ts). */
const ISSUER_MAY = [
  "IssueCertificate",
  "RenewCertificate",
  "GetRequestStatus",
  "ListCertificateRequests",
  "RejectCertificateRequest",
  "WatchCertificates",
  "GetCurrentCertificate",
];
const APPROVER_MAY = [
  "ApproveCertificateRequest",
  "RejectCertificateRequest",
  "GetRequestStatus",
  "ListCertificateRequests",
  "WatchCertificates",
  "GetCurrentCertificate",
];
const auditorMay = (rpc: string) =>
  /^(Get|List)/.test(rpc) ||
  [
    "GetRequestStatus",
    "GetCertificateRevocationList",
    "ListAuditRecords",
    "WatchCertificates",
  ].includes(rpc);

type NonAdmin = "ISSUER" | "APPROVER" | "AUDITOR";
function mayCall(role: NonAdmin, rpc: string): boolean {
  if (role === "ISSUER") return ISSUER_MAY.includes(rpc);
  if (role === "APPROVER") return APPROVER_MAY.includes(rpc);
  return auditorMay(rpc);
}

const ROLE_ENUM: Record<NonAdmin, Role> = {
  ISSUER: Role.ROLE_ISSUER,
  APPROVER: Role.ROLE_APPROVER,
  AUDITOR: Role.ROLE_AUDITOR,
};

/** The empty request of a unary RPC: its code and ErrorInfo reason. */
function callEmpty(clients: CertmintClients, rpc: Rpc): Promise<{ code: status; reason: string }> {
  const client = clients[rpc.client] as unknown as Record<
    string,
    (req: object, cb: (err: Error | null) => void) => unknown
  >;
  return new Promise((resolve) => {
    client[rpc.method]!.call(client, rpc.empty, (err: Error | null) =>
      resolve(
        err
          ? { code: decodeError(err).code, reason: decodeError(err).reason ?? "" }
          : { code: status.OK, reason: "" },
      ),
    );
  });
}

describe("probe52 authz: every RPC against every non-admin role, bearer and client certificate", () => {
  let live: LiveCertmint;
  let mtls: MtlsProcess;
  let tables: string[];
  const credentials: Array<{
    role: NonAdmin;
    how: "bearer" | "client certificate";
    clients: CertmintClients;
  }> = [];

  beforeAll(async () => {
    live = await startLive();
    const rootPem = await createSvcPki(live);
    mtls = await startMtlsProcess({
      databaseUrl: live.db.url,
      kek: live.kek,
      dataDir: live.server.dataDir,
      clientCaPem: rootPem,
    });
    for (const role of ["ISSUER", "APPROVER", "AUDITOR"] as const) {
      const profiles = role === "AUDITOR" ? [] : [PROFILE];
      const bearer = await token(live, `bearer-${role.toLowerCase()}`, ROLE_ENUM[role], profiles);
      credentials.push({ role, how: "bearer", clients: bearer.clients });
      const name = `${role.toLowerCase()}.svc.example`;
      await bindDnsName(live, `bound-${role.toLowerCase()}`, ROLE_ENUM[role], name, profiles);
      // The README's mTLS bootstrap: an admin issues a bound workload's first certificate.
      const cert = await issueForNames(live.admin, [name]);
      credentials.push({ role, how: "client certificate", clients: mtls.over(cert) });
    }
    tables = await allTablesButAudit(live.db);
    await eventsNumbered(live.db);
  }, 240_000);

  afterAll(async () => {
    await mtls?.stop();
    await live?.stop();
  });

  for (const role of ["ISSUER", "APPROVER", "AUDITOR"] as const) {
    for (const how of ["bearer", "client certificate"] as const) {
      it(`${role} by ${how}: each RPC outside the role is ROLE_NOT_ALLOWED with nothing written; each inside is not`, async () => {
        const { clients } = credentials.find((c) => c.role === role && c.how === how)!;
        const before = await snapshotTables(live.db, tables);
        const wrong: string[] = [];
        for (const rpc of RPCS) {
          if (rpc.streaming) continue; // WatchCertificates: every role may watch.
          const got = await callEmpty(clients, rpc);
          const allowed = mayCall(role, rpc.name);
          const refused =
            got.code === status.PERMISSION_DENIED && got.reason === "ROLE_NOT_ALLOWED";
          if (allowed === refused || got.code === status.UNAUTHENTICATED)
            wrong.push(`${rpc.name}: ${status[got.code]} ${got.reason}`);
        }
        expect(wrong).toEqual([]);
        expect(await snapshotTables(live.db, tables)).toEqual(before);
      });
    }
  }
});
