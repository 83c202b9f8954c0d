/**
 * README, Errors: input quoted in a message is JSON-escaped. Until stop 46 of 2026-12-06 (an
 * outside probe) JSON.stringify was all of it, and it leaves the bidi override U+202E, the
 * isolates U+2066-U+2069, the zero-width U+200B and U+FEFF, the separators U+2028/U+2029, DEL
 * and the C1 controls raw: `no certificate authority "abc<U+202E>gnp.exe"` reads reversed in a
 * terminal or UI. And known_crl_number's message quoted its input without JSON at all (raw ESC,
 * CR, LF). Now every such character is a \uXXXX escape, and the quoted text is still a JSON
 * string that decodes to what the caller sent.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateCertificatePolicyRequest } from "../../gen/ts/certmint/v1/certificate_policy_service";
import { IssueCertificateRequest } from "../../gen/ts/certmint/v1/certificate_service";
import { createProfileRows, createRoot } from "../support/fixtures";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";

/** Bidi override and isolates, zero-width space, BOM, line/paragraph separators, NEL, CSI, DEL. */
const INVISIBLES = "\u202e\u2066\u2069\u200b\ufeff\u2028\u2029\u0085\u009b\u007f";
const ESCAPED = "\\u202e\\u2066\\u2069\\u200b\\ufeff\\u2028\\u2029\\u0085\\u009b\\u007f";
/** Any character a terminal acts on or hides. */
const RAW = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/** The first "..." in `message` after `prefix`, decoded as the JSON string it is. */
function quotedAfter(message: string, prefix: string): string {
  const at = message.indexOf(prefix);
  expect(at, message).toBeGreaterThanOrEqual(0);
  const m = /^"(?:[^"\\]|\\.)*"/.exec(message.slice(at + prefix.length));
  expect(m, message).not.toBeNull();
  return JSON.parse(m![0]) as string;
}

describe("input quoted in error messages: control, bidi and zero-width characters escaped", () => {
  let h: TestCertmint;

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h);
    await createProfileRows(h, { caId: root.id });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("known_crl_number: ESC, CR, LF and U+202E escaped (it quoted them raw)", async () => {
    const sent = `x\u001b[31m\r\n${INVISIBLES}`;
    const err = await expectRpcError(
      call(h.authorities, "getCertificateRevocationList", {
        certificateAuthority: "root",
        encoding: 0,
        knownCrlNumber: sent,
      }),
    );
    expect([err.code, err.reason]).toEqual([3, "CRL_NUMBER_INVALID"]);
    expect(RAW.exec(err.message)?.[0]).toBeUndefined();
    expect(err.message).toContain(`not "x\\u001b[31m\\r\\n${ESCAPED}"`);
    expect(quotedAfter(err.message, "not ")).toBe(sent);
  });

  it("a reference that names nothing: U+202E, U+2066, U+200B, U+2028 escaped", async () => {
    const sent = `abc${INVISIBLES}gnp.exe`;
    const err = await expectRpcError(
      call(h.authorities, "getCertificateAuthority", { certificateAuthority: sent }),
    );
    expect(RAW.exec(err.message)?.[0]).toBeUndefined();
    expect(err.message).toContain(`"abc${ESCAPED}gnp.exe"`);
    // Neither a UUID nor a slug: INVALID_ARGUMENT before any read (since stop 50).
    expect([err.code, err.reason]).toEqual([3, "CERTIFICATE_AUTHORITY_REFERENCE_INVALID"]);
    expect(quotedAfter(err.message, "got ")).toBe(sent);
  });

  it("a policy's refusal of a name quotes it escaped, in the message and the violation", async () => {
    const name = "x.example.com\u202egnp.exe";
    const err = await expectRpcError(
      call(
        h.certificates,
        "issueCertificate",
        IssueCertificateRequest.fromPartial({
          certificateProfile: "web",
          requestId: "quoted-1",
          source: {
            $case: "attributes",
            value: { subjectAlternativeNames: { dnsNames: [name] } },
          },
        }),
      ),
    );
    const texts = [err.message, ...err.violations.map((v) => v.description)];
    for (const text of texts) expect(RAW.exec(text)?.[0], text).toBeUndefined();
    expect(texts.join("\n")).toContain('"x.example.com\\u202egnp.exe"');
  });

  it("a policy's IP range with a bad prefix length quotes it escaped", async () => {
    const err = await expectRpcError(
      call(
        h.policies,
        "createCertificatePolicy",
        CreateCertificatePolicyRequest.fromPartial({
          certificatePolicy: {
            slug: "bidi",
            sanRules: { ip: { allowed: ["10.0.0.0/\u202e8"] } },
          },
        }),
      ),
    );
    const texts = [err.message, ...err.violations.map((v) => v.description)];
    for (const text of texts) expect(RAW.exec(text)?.[0], text).toBeUndefined();
    expect(texts.join("\n")).toContain('invalid prefix length "\\u202e8"');
    expect(await h.db.query("select 1 from certificate_policy where slug = 'bidi'")).toEqual([]);
  });

  it("a policy's URI with a bad port and DNS pattern with a bad A-label quote them escaped", async () => {
    const err = await expectRpcError(
      call(
        h.policies,
        "createCertificatePolicy",
        CreateCertificatePolicyRequest.fromPartial({
          certificatePolicy: {
            slug: "bidi2",
            sanRules: {
              uri: { allowed: ["https://h.example.com:\u202e1/"] },
              dns: { allowed: ["xn--\u202eabc.example.com"] },
            },
          },
        }),
      ),
    );
    const texts = [err.message, ...err.violations.map((v) => v.description)];
    for (const text of texts) expect(RAW.exec(text)?.[0], text).toBeUndefined();
    expect(texts).toContain(
      'is not a valid URI pattern: it has an invalid port "\\u202e1" (1-65535, no leading zeros)',
    );
    expect(texts.join("\n")).toContain('"xn--\\u202eabc" is not a valid A-label (RFC 5891 5.4)');
  });
});
