/**
 * One request's internationalised names have a bound (src/issuance/policy-engine/idna-budget.ts):
 * an outside probe (2026-12-05) sent 100 DNS names of six 35-character "ü" labels each, which
 * cost 50-65 ms of event-loop CPU although the request was refused, and at 21 such calls a
 * second raised other tokens' p99 20-fold. Such a request is now refused over gRPC before any
 * name is normalised, naming the first name past the bound, and nothing is stored; a request
 * with ordinary internationalised names is issued with their A-labels.
 */

import { X509Certificate } from "node:crypto";
import { domainToASCII } from "node:url";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProfileRows, createRoot } from "../support/fixtures";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";
import { attrRequest, rowCounts } from "./helpers";

describe("the bound on internationalised names per request", () => {
  let h: TestCertmint;
  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "web" });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("refuses the probe's request before normalising it, storing nothing", async () => {
    const label = (i: number) => `${i}${"ü".repeat(35)}`;
    const dns = Array.from({ length: 100 }, (_, i) =>
      [0, 1, 2, 3, 4, 5].map((j) => label(i * 6 + j)).join("."),
    );
    const before = await rowCounts(h);
    const err = await expectRpcError(
      call(h.certificates, "issueCertificate", attrRequest("web", { dns })),
    );
    expect(err).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "NAMES_TOO_COSTLY" });
    // Every code point of these names counts: the first name past 4,096 in all is named.
    let total = 0;
    let over = -1;
    for (const [i, n] of dns.entries()) {
      total += [...n].length;
      if (total > 4096) {
        over = i;
        break;
      }
    }
    expect(err.violations.map((v) => v.field)).toEqual([
      `attributes.subject_alternative_names.dns_names[${over}]`,
    ]);
    expect(await rowCounts(h)).toEqual(before);
  });

  it("issues ordinary internationalised names with their A-labels", async () => {
    const names = ["bücher.example.com", "münchen.example.com"];
    const issued = await call(
      h.certificates,
      "issueCertificate",
      attrRequest("web", { cn: names[0], dns: names }),
    );
    const cert = new X509Certificate(issued.certificate!.certificatePem);
    for (const name of names) expect(cert.subjectAltName).toContain(`DNS:${domainToASCII(name)}`);
  });
});
