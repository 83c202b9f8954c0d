/**
 * ListCertificates(name_contains) over the trigram index of the names with their separators
 * made letters (Migration20261205200000NameSearchWords): the index only narrows, results stay
 * exact. Names whose keys collide (`a.b-c` and `aqbjc` have the same key) are told apart, and a
 * name whose words all occur in another (`svc-450.bench` in `svc-450.f120.bench`) finds only
 * itself. The page's plan uses the index (with sequential scans off, as in list-indexes.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ListCertificatesRequest } from "../../gen/ts/certmint/v1/certificate_service";
import { certificatePageQuery } from "../../src/store/certificate-page";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  issue,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

describe("name_contains with separators", () => {
  let h: TestCertmint;
  const ids: Record<string, string> = {};
  const NAMES = [
    "a.b-c.example.com",
    "aqbjc.example.com",
    "svc-450.bench.example.com",
    "svc-450.f120.bench.example.com",
    "svc-1450.bench.example.com",
  ];

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "search-root");
    await createProfileRows(h, { caId: root.id, slug: "search" });
    for (const name of NAMES) {
      const res = await issue(h, attrRequest("search", { cn: name, dns: [name] }));
      ids[name] = res.certificate!.certificateId;
    }
  });
  afterAll(async () => {
    await h?.stop();
  });

  const found = async (nameContains: string) =>
    (
      await call(
        h.certificates,
        "listCertificates",
        ListCertificatesRequest.fromPartial({ nameContains, pageSize: 100 }),
      )
    ).certificates
      .map((c) => c.subject!.commonName)
      .sort();

  it("finds exactly the names that contain the text, keys colliding or not", async () => {
    expect(await found("a.b-c")).toEqual(["a.b-c.example.com"]);
    expect(await found("aqbjc")).toEqual(["aqbjc.example.com"]);
    expect(await found("a.bjc")).toEqual([]);
    expect(await found("svc-450.bench.example.com")).toEqual(["svc-450.bench.example.com"]);
    expect(await found("450.f120")).toEqual(["svc-450.f120.bench.example.com"]);
    expect(await found("-450.")).toEqual([
      "svc-450.bench.example.com",
      "svc-450.f120.bench.example.com",
    ]);
    expect(await found("450.bench")).toEqual([
      "svc-1450.bench.example.com",
      "svc-450.bench.example.com",
    ]);
    expect(await found("example.com")).toEqual([...NAMES].sort());
  });

  it("the page's query is served by the trigram index of the keys", async () => {
    const { sql, params } = certificatePageQuery(
      { now: new Date(), limit: 51, withPem: false, namePattern: "%svc-450.bench%" },
      "c.*",
    );
    let n = 0;
    const numbered = sql.replace(/\?/g, () => `$${++n}`);
    // One client: the setting holds for the explain after it.
    await h.db.query("set enable_seqscan = off");
    const plan = (await h.db.query<{ "QUERY PLAN": string }>(`explain ${numbered}`, params))
      .map((r) => r["QUERY PLAN"])
      .join("\n");
    await h.db.query("reset enable_seqscan");
    expect(plan).toMatch(/certificate_search_names_trgm_index/);
    expect(plan).toMatch(/translate\(search_names/);
  });
});
