/**
 * Page tokens are opaque (AIP-158): the bytes of a next_page_token hold neither the id nor the
 * creation time of the row the next page continues from (until stop 42 of 2026-12-06 they held
 * both in the clear), and an opaque token still continues the list, on every list that pages by
 * rows: ListCertificates here, the others in test/api/page-tokens.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ListCertificatesRequest } from "../../gen/ts/certmint/v1/certificate_service";
import { createProfileRows, createRoot } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { attrRequest } from "./helpers";

describe("page tokens are opaque", () => {
  let h: TestCertmint;

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root-a");
    await createProfileRows(h, { caId: root.id, slug: "web-a" });
    for (const name of ["one", "two", "three"]) {
      await call(
        h.certificates,
        "issueCertificate",
        attrRequest("web-a", { cn: `${name}.example.com`, dns: [`${name}.example.com`] }),
      );
    }
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("a token shows nothing of its row, and continues the list", async () => {
    const list = (pageToken: string) =>
      call(
        h.certificates,
        "listCertificates",
        ListCertificatesRequest.fromPartial({ pageToken, pageSize: 1 }),
      );
    const first = await list("");
    const last = first.certificates[0]!;
    const bytes = Buffer.from(first.nextPageToken, "base64url");
    const [row] = await h.db.query<{ at: string }>(
      `select to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') as at from certificate where id = $1`,
      [last.id],
    );
    for (const text of [last.id, last.id.replace(/-/g, ""), row!.at, row!.at.slice(0, 10)]) {
      expect(bytes.includes(Buffer.from(text)), text).toBe(false);
    }
    expect(bytes.includes(Buffer.from(last.id.replace(/-/g, ""), "hex"))).toBe(false);
    const second = await list(first.nextPageToken);
    expect(second.certificates).toHaveLength(1);
    expect(second.certificates[0]!.id).not.toBe(last.id);
  });
});
