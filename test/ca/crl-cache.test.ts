/**
 * The CRL cache's period (CERTMINT_CRL_CACHE_SECONDS, issuance/ca/crl-cache.ts): once the
 * period is over with nothing revoked, the first call is answered with the CRL there was (it
 * does not wait for a signing) and sets the next signing going; later calls get the new one.
 * With a period of 0 every call signs its own.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createRoot } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { clockPast, waitFor } from "../support/wait";

describe("the CRL cache period", () => {
  let h: TestCertmint | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });
  const getCrl = (caId: string) =>
    call(h!.authorities, "getCertificateRevocationList", {
      certificateAuthority: caId,
      encoding: 0,
      knownCrlNumber: "",
    });

  it("after the period, the CRL it had answers the next call while its successor is signed", async () => {
    h = await startTestCertmint({ CERTMINT_CRL_CACHE_SECONDS: "1" });
    const ca = (await createRoot(h, "period-root")).id;
    const first = await getCrl(ca);
    // The server signed it before it answered: a second after the answer, its period is over.
    await clockPast(new Date(Date.now() + 1000));
    const served = await getCrl(ca);
    expect(Buffer.from(served.crlDer).equals(Buffer.from(first.crlDer))).toBe(true);
    // That call set the next signing going: later calls get its CRL.
    await waitFor(
      "the CRL signed after the period",
      async () => BigInt((await getCrl(ca)).crlNumber) > BigInt(first.crlNumber),
    );
  });

  it("with a period of 0, each call signs a CRL with the next number", async () => {
    h = await startTestCertmint({ CERTMINT_CRL_CACHE_SECONDS: "0" });
    const ca = (await createRoot(h, "zero-root")).id;
    const a = BigInt((await getCrl(ca)).crlNumber);
    const b = BigInt((await getCrl(ca)).crlNumber);
    const c = BigInt((await getCrl(ca)).crlNumber);
    expect(b).toBeGreaterThan(a);
    expect(c).toBeGreaterThan(b);
  });
});
