/**
 * A name-constraints refusal (FAILED_PRECONDITION ISSUER_NAME_CONSTRAINTS) names each name
 * once: a CA subject's emailAddress is also the rfc822Name SAN copied from it (its domain
 * normalised), and until stop 44 of 2026-12-06 the refusal listed "email bob@evil.com" twice,
 * in the message and in the PreconditionFailure (an outside probe, E F5).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateIntermediateCertificateAuthorityRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";
import { countCas, createRoot, subject } from "./helpers";

const FAILED_PRECONDITION = 9;

describe("the names a name-constraints refusal lists", () => {
  let h: TestCertmint;
  beforeAll(async () => {
    h = await startTestCertmint();
    await createRoot(h, "nc-root");
    await call(
      h.authorities,
      "createIntermediateCertificateAuthority",
      CreateIntermediateCertificateAuthorityRequest.fromPartial({
        slug: "nc-mail",
        parentCertificateAuthority: "nc-root",
        subject: { commonName: "NC Mail CA" },
        nameConstraints: { permitted: { emailAddresses: ["example.com"] } },
      }),
    );
  });
  afterAll(async () => {
    await h?.stop();
  });

  it.each([
    ["bob@evil.com", "email bob@evil.com"],
    ["bob@Evil.COM.", "email bob@evil.com"],
  ])(
    "a subject emailAddress %s outside the issuer's subtrees is named once",
    async (email, listed) => {
      const before = await countCas(h);
      const err = await expectRpcError(
        call(
          h.authorities,
          "createIntermediateCertificateAuthority",
          CreateIntermediateCertificateAuthorityRequest.fromPartial({
            slug: "nc-evil",
            parentCertificateAuthority: "nc-mail",
            subject: { ...subject("NC Evil"), emailAddress: email },
          }),
        ),
      );
      expect(err.code).toBe(FAILED_PRECONDITION);
      expect(err.reason).toBe("ISSUER_NAME_CONSTRAINTS");
      expect(err.message).toMatch(/do not permit email \S+$/);
      expect(err.message.split(listed).length - 1).toBe(1);
      expect(err.preconditions).toHaveLength(1);
      expect(err.preconditions[0]!.description).toContain(listed);
      expect(await countCas(h)).toBe(before);
    },
  );
});
