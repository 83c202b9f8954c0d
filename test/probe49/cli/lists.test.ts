/**
 * Long lists and --output json: 100 rows by default with how to go on, --all and page tokens
 * that neither lose nor repeat a row, and JSON that parses and is the API's resource.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AccessToken,
  ListAccessTokensRequest,
  Role,
} from "../../../gen/ts/certmint/v1/access_token_service";
import { CertificateAuthority } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import { ok } from "../../cli/cli";
import { call } from "../../support/harness";
import { type LiveCli, startLiveCli } from "./live";

interface TokenList {
  accessTokens: Array<{ id: string; slug: string }>;
  nextPageToken?: string;
}

const SEEDED = 130;

describe("probe49 CLI: long lists and JSON", () => {
  let live: LiveCli;
  let total = 0;

  beforeAll(async () => {
    live = await startLiveCli();
    // A few at a time: seeding, not a load test.
    for (let i = 0; i < SEEDED; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, (_, j) =>
          call(live.api.accessTokens, "createAccessToken", {
            accessToken: AccessToken.fromPartial({
              slug: `seed-${i + j}`,
              role: Role.ROLE_AUDITOR,
            }),
          }),
        ),
      );
    }
    const all = await call(
      live.api.accessTokens,
      "listAccessTokens",
      ListAccessTokensRequest.fromPartial({ pageSize: 1000 }),
    );
    total = all.accessTokens.length;
    expect(total).toBeGreaterThan(SEEDED);
  });
  afterAll(async () => {
    await live?.stop();
  });

  it("the table shows 100 rows and says how to go on", async () => {
    const r = ok(await live.cli.run(["token", "list"]));
    const rows = r.stdout.trimEnd().split("\n");
    expect(rows).toHaveLength(101);
    expect(r.stderr).toMatch(/--all, or --page-token \S+/);
  });

  it("--all gives every row once, with no next page token", async () => {
    const list = await live.cli.json<TokenList>(["token", "list", "--all"]);
    const ids = list.accessTokens.map((t) => t.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(total);
    expect(list.nextPageToken ?? "").toBe("");
  });

  it("--limit above a page's size and --page-token continuation neither lose nor repeat a row", async () => {
    const big = await live.cli.json<TokenList>(["token", "list", "--limit", "120"]);
    expect(big.accessTokens).toHaveLength(120);
    const seen: string[] = [];
    let token = "";
    for (let pages = 0; pages < 20; pages++) {
      const page = await live.cli.json<TokenList>([
        ...["token", "list", "--limit", "45"],
        ...(token ? ["--page-token", token] : []),
      ]);
      seen.push(...page.accessTokens.map((t) => t.id));
      token = page.nextPageToken ?? "";
      if (!token) break;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toHaveLength(total);
  });

  it("`ca get -o json` parses and is the API's CertificateAuthority as proto JSON", async () => {
    ok(
      await live.cli.run([
        "ca",
        "create-root",
        "json-root",
        "--cn",
        "JSON Root",
        "--description",
        "d",
      ]),
    );
    const printed = await live.cli.json(["ca", "get", "json-root"]);
    const got = await call(live.api.authorities, "getCertificateAuthority", {
      certificateAuthority: "json-root",
    });
    expect(printed).toEqual(CertificateAuthority.toJSON(got.certificateAuthority!));
  });
});
