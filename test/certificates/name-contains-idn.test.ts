/**
 * ListCertificates.name_contains finds an internationalised name by the name as it was asked
 * for: names are signed in A-labels (UTS #46), and a name_contains in Unicode is looked for in
 * that form. Until stop 43 of 2026-12-06 "bücher.example.com" found nothing and only
 * "xn--bcher-kva.example.com" found the certificate (an outside probe).
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ListCertificatesRequest } from "../../gen/ts/certmint/v1/certificate_service";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  issue,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

let h: TestCertmint;
let id = "";

beforeAll(async () => {
  h = await startTestCertmint();
  const ca = await createRoot(h);
  await createProfileRows(h, { caId: ca.id });
  const res = await issue(h, attrRequest("web", { dns: ["bücher.example.com"] }));
  id = res.certificate!.certificateId;
  expect(new X509Certificate(res.certificate!.certificatePem).subjectAltName).toBe(
    "DNS:xn--bcher-kva.example.com",
  );
  await issue(h, attrRequest("web", { dns: ["books.example.com"] }));
}, 60_000);
afterAll(() => h?.stop());

const found = async (nameContains: string) =>
  (
    await call(
      h.certificates,
      "listCertificates",
      ListCertificatesRequest.fromPartial({ nameContains, pageSize: 50 }),
    )
  ).certificates.map((c) => c.id);

describe("name_contains and internationalised names", () => {
  it.each([
    "bücher.example.com",
    "BÜCHER.example.com",
    "bücher",
    "xn--bcher-kva.example.com",
    "xn--bcher",
  ])("%s finds the certificate of bücher.example.com, and only it", async (needle) => {
    expect(await found(needle)).toEqual([id]);
  });

  it("an ASCII needle is matched as it is, over every name", async () => {
    expect(await found("example.com")).toHaveLength(2);
  });
});
