/**
 * One name per CA under one issuer (RFC 5280 4.1.2.6; README "One name per CA under one
 * issuer") holds for CA certificates issued through profiles too, in both directions: a CA
 * certificate a profile would sign under the name of a CA here (or of another CA certificate
 * of the same issuer, for another key) is ALREADY_EXISTS CA_SUBJECT_TAKEN, and so is a new
 * intermediate named as a CA certificate its parent signed through a profile. The same key
 * under the same name (the same entity) is not refused. Until stop 44 of 2026-12-06 only the
 * CA rows were compared, and one issuer certified several CAs of one name with different keys
 * (an outside probe, E F7).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";
import {
  Code,
  csrRequest,
  issue,
  issueRequest,
  rowCounts,
  rpcError,
} from "../certificates/helpers";
import { buildCsr } from "../support/der-csr";
import { createProfileRows, createRoot } from "../support/fixtures";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { countCas, createNamedIntermediate, subCaSpec } from "./helpers";

describe("one name per CA under one issuer, CA certificates issued through profiles included", () => {
  let h: TestCertmint;

  beforeAll(async () => {
    h = await startTestCertmint();
    await createRoot(h, "root");
    const int = await createNamedIntermediate(h, "int", "root", "Int CA");
    await createProfileRows(h, { slug: "subca", caId: int.id, spec: subCaSpec() });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const subCa = (csr: { csrPem: string }) => issue(h, csrRequest("subca", csr.csrPem));
  const counts = async () => ({ ...(await rowCounts(h)), cas: await countCas(h) });

  it("a profile refuses a CA certificate named as a CA created under the same issuer", async () => {
    await createNamedIntermediate(h, "child", "int", "Probe Child CA");
    const before = await counts();
    const err = await rpcError(subCa(buildCsr({ subject: [["CN", "Probe Child CA"]], ca: {} })));
    expect(err.code).toBe(Code.ALREADY_EXISTS);
    expect(err.reason).toBe("CA_SUBJECT_TAKEN");
    expect(err.message).toContain('certificate authority "child" has this subject name already');
    expect(await counts()).toEqual(before);
  });

  it("a profile refuses a second CA certificate of one name for another key; the same key is the same CA", async () => {
    const a = buildCsr({ subject: [["CN", "Probe Other Sub"]], ca: {} });
    const first = (await subCa(a)).certificate!;
    // The same key again: the same entity, certified again.
    const again = (await subCa(a)).certificate!;
    expect(again.certificateId).not.toBe(first.certificateId);
    const before = await counts();
    const other = await rpcError(subCa(buildCsr({ subject: [["CN", "Probe Other Sub"]], ca: {} })));
    expect(other.code).toBe(Code.ALREADY_EXISTS);
    expect(other.reason).toBe("CA_SUBJECT_TAKEN");
    const named = /CA certificate (\S+), which the issuer signed through a profile/.exec(
      other.message,
    )?.[1];
    expect([first.certificateId, again.certificateId]).toContain(named);
    // A key certmint would generate is another key too.
    const generated = await rpcError(
      issue(
        h,
        issueRequest({
          certificateProfile: "subca",
          source: {
            $case: "attributes",
            value: {
              subject: { commonName: "Probe Other Sub" },
              keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
            },
          },
          caCertificate: { maxPathLength: 0 },
        }),
      ),
    );
    expect(generated.reason).toBe("CA_SUBJECT_TAKEN");
    expect(await counts()).toEqual(before);
  });

  it("CreateIntermediate refuses the name of a CA certificate its parent signed through a profile", async () => {
    const sub = (await subCa(buildCsr({ subject: [["CN", "Probe Third Sub"]], ca: {} })))
      .certificate!;
    const before = await counts();
    const err = await rpcError(createNamedIntermediate(h, "child2", "int", "Probe Third Sub"));
    expect(err.code).toBe(Code.ALREADY_EXISTS);
    expect(err.reason).toBe("CA_SUBJECT_TAKEN");
    expect(err.message).toContain(`CA certificate ${sub.certificateId}`);
    expect(await counts()).toEqual(before);
    // Under another issuer the name is free.
    await createNamedIntermediate(h, "elsewhere", "root", "Probe Third Sub");
  });
});
