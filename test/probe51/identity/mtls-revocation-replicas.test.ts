/**
 * Probe 51 (IDENTITY): a client certificate's credential withdrawn through one certmint process
 * must stop authenticating on another process that shares the database (replicas), on the
 * compiled server. Process A serves plaintext on loopback (the admin's changes go through it);
 * process B requires client certificates from certmint's root. README "Access tokens, roles and
 * the audit trail": a client certificate certmint revoked is refused from the next call
 * (CLIENT_CERTIFICATE_REVOKED), a CA on its path that certmint revoked makes it
 * CLIENT_CERTIFICATE_ISSUER_REVOKED ("within 10 s on other replicas"), a revoked token's
 * binding is TOKEN_REVOKED; and a released hold authenticates again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ListAccessTokensRequest,
  RevokeAccessTokenRequest,
} from "../../../gen/ts/certmint/v1/access_token_service";
import { RevokeCertificateAuthorityRequest } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import {
  ReleaseCertificateHoldRequest,
  RevokeCertificateRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../../gen/ts/certmint/v1/common";
import { type LiveCertmint, Role, startLive } from "../../probe49/api/live";
import { call } from "../../support/harness";
import type { ClientCert } from "../../support/mtls-server";
import { waitFor } from "../../support/wait";
import {
  bindDnsName,
  createSvcPki,
  issueForNames,
  type MtlsProcess,
  outcomeOf,
  startMtlsProcess,
} from "./svc-pki";

describe("probe51 identity: a client certificate withdrawn on one process, presented to another", () => {
  let live: LiveCertmint;
  let mtls: MtlsProcess;

  /** A certificate for `name` issued by the admin (after its binding), with its chain. */
  const adminIssued = (name: string) => issueForNames(live.admin, [name]);

  /** "OK" or the refusal's reason, for a read made on process B with `cert` alone. */
  async function onB(cert: ClientCert): Promise<string> {
    const o = await outcomeOf(
      call(
        mtls.over(cert).accessTokens,
        "listAccessTokens",
        ListAccessTokensRequest.fromPartial({ pageSize: 1 }),
      ),
    );
    return o.reason || (o.code === 0 ? "OK" : `code ${o.code}`);
  }

  const bind = (slug: string, name: string) => bindDnsName(live, slug, Role.ROLE_AUDITOR, name);

  beforeAll(async () => {
    live = await startLive();
    const rootPem = await createSvcPki(live, { intermediate: true });
    mtls = await startMtlsProcess({
      databaseUrl: live.db.url,
      kek: live.kek,
      dataDir: live.server.dataDir,
      clientCaPem: rootPem,
    });
  }, 240_000);

  afterAll(async () => {
    await mtls?.stop();
    await live?.stop();
  });

  it("a hold placed through A refuses the certificate on B, and its release lets it in again", async () => {
    await bind("held-reader", "held.svc.example");
    const cert = await adminIssued("held.svc.example");
    await waitFor("B accepts the bound certificate", async () => (await onB(cert)) === "OK");
    await call(
      live.admin.certificates,
      "revokeCertificate",
      RevokeCertificateRequest.fromPartial({
        certificate: cert.id,
        reason: RevocationReason.REVOCATION_REASON_CERTIFICATE_HOLD,
      }),
    );
    await waitFor(
      "B refuses the held certificate",
      async () => (await onB(cert)) === "CLIENT_CERTIFICATE_REVOKED",
    );
    await call(
      live.admin.certificates,
      "releaseCertificateHold",
      ReleaseCertificateHoldRequest.fromPartial({ certificate: cert.id }),
    );
    await waitFor("B accepts it again", async () => (await onB(cert)) === "OK");
  });

  it("a bound token revoked through A is refused on B", async () => {
    const tokenId = await bind("revoked-reader", "revoked.svc.example");
    const cert = await adminIssued("revoked.svc.example");
    await waitFor("B accepts the bound certificate", async () => (await onB(cert)) === "OK");
    await call(
      live.admin.accessTokens,
      "revokeAccessToken",
      RevokeAccessTokenRequest.fromPartial({ accessToken: tokenId }),
    );
    await waitFor(
      "B refuses the revoked binding",
      async () => (await onB(cert)) === "TOKEN_REVOKED",
    );
  });

  it("the issuing CA revoked through A refuses its certificates on B", async () => {
    await bind("issuer-reader", "issuer.svc.example");
    const cert = await adminIssued("issuer.svc.example");
    await waitFor("B accepts the bound certificate", async () => (await onB(cert)) === "OK");
    await call(
      live.admin.authorities,
      "revokeCertificateAuthority",
      RevokeCertificateAuthorityRequest.fromPartial({
        certificateAuthority: "svc-issuing",
        reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
      }),
    );
    await waitFor(
      "B refuses a certificate below the revoked CA",
      async () => (await onB(cert)) === "CLIENT_CERTIFICATE_ISSUER_REVOKED",
      30_000,
    );
    expect(await onB(cert)).toBe("CLIENT_CERTIFICATE_ISSUER_REVOKED");
  });
});
