/**
 * Which ACME problem (RFC 8555 6.7) a refusal of certmint's use cases becomes
 * (acme/problem.ts problemOfDomainError), for the reasons that have one of their own.
 */
import { describe, expect, it } from "vitest";
import { problemOfDomainError } from "../../src/acme/problem";
import { failedPrecondition } from "../../src/errors";

const ACME = "urn:ietf:params:acme:error:";

describe("ACME problems of certmint's refusals", () => {
  it("answers alreadyRevoked for a certificate whose CA was revoked (RFC 8555 7.6)", () => {
    // certificates/revoke.ts refuses a revocation under a revoked issuer ISSUER_REVOKED: the
    // certificate is revoked already for every relying party. Until stop 47 of 2026-12-06 it
    // was a 409 malformed.
    const p = problemOfDomainError(
      failedPrecondition("ISSUER_REVOKED", "certificate x is revoked already: GetCertificate ...", {
        preconditions: [
          {
            type: "CA_STATUS",
            subject: "certificate_authorities/issuing",
            description: "revoked at 2026-12-06T10:00:00.000Z (KEY_COMPROMISE)",
          },
        ],
      }),
    );
    expect(`${ACME}${p.type}`).toBe(`${ACME}alreadyRevoked`);
    expect(p.status).toBe(400);
    // In ACME's terms: the CA and its revocation, keyCompromise by its RFC 5280 number; no RPC.
    expect(p.detail).toBe(
      'the certificate is revoked already: certificate authority "issuing" (revoked at 2026-12-06T10:00:00.000Z (KEY_COMPROMISE)) was revoked, and OCSP answers that revocation for it; only a revocation for keyCompromise (reason 1) is still recorded, since it blocks the certificate\'s key',
    );
    expect(p.detail).not.toContain("GetCertificate");
  });

  it("keeps other preconditions a 409 malformed", () => {
    const p = problemOfDomainError(failedPrecondition("CA_DISABLED", "disabled"));
    expect([p.type, p.status]).toEqual(["malformed", 409]);
  });

  it("keeps an unexpected error's cause on its 500 for the log, never in the document", () => {
    // finalize records every error on the order as a problem and throws that: the listener logs
    // a 500's cause from here (http/server.ts). Until stop 47 of 2026-12-06 it was lost.
    const cause = new TypeError("x is undefined");
    const p = problemOfDomainError(cause);
    expect([p.type, p.status]).toEqual(["serverInternal", 500]);
    expect(p.extra.internalCause).toBe(cause);
    expect(JSON.stringify(p.document())).not.toContain("x is undefined");
  });
});
