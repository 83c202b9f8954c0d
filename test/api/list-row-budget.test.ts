/**
 * The list-row budget (CERTMINT_LIST_ROWS_PER_TOKEN_PER_SECOND, stop 44 of 2026-12-06) through a
 * real server: past the burst a list is RESOURCE_EXHAUSTED LIST_ROWS_EXHAUSTED with a RetryInfo
 * whose delay the message states, and the CLI's paging (listPages: what `list --all` runs)
 * reads both, waits, asks the same page again and gets every row. The unit tests
 * (list-row-budget.unit.test.ts, test/cli/list-pacing.unit.test.ts) fabricate the refusal; this
 * one is the server's own.
 */
import type { ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ListCertificateAuthoritiesRequest,
  type ListCertificateAuthoritiesResponse,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import { Args } from "../../src/cli/args";
import { LIST_SECTION, listPages } from "../../src/cli/options/list";
import { errorReason, retryDelayMs } from "../../src/cli/rpc-error";
import { createRoot } from "../support/fixtures";
import { startTestCertmint, type TestCertmint } from "../support/harness";

describe("the list-row budget, end to end", () => {
  let h: TestCertmint;
  beforeAll(async () => {
    h = await startTestCertmint({
      CERTMINT_LIST_ROWS_PER_TOKEN_PER_SECOND: "1",
      CERTMINT_LIST_ROWS_BURST_PER_TOKEN: "3",
    });
    for (const slug of ["r1", "r2", "r3", "r4", "r5"]) await createRoot(h, slug);
  });
  afterAll(async () => {
    await h?.stop();
  });

  const list = (pageSize: number, pageToken: string) =>
    new Promise<ListCertificateAuthoritiesResponse>((resolve, reject) =>
      h.authorities.listCertificateAuthorities(
        ListCertificateAuthoritiesRequest.fromPartial({ pageSize, pageToken }),
        (err, res) => (err ? reject(err) : resolve(res)),
      ),
    );

  it("refuses past the burst with a RetryInfo the message agrees with; the CLI's paging waits it out", async () => {
    // Burst 3, 1 row a second: pages of 5 spend it faster than it refills, however slow this
    // machine, so one is refused (asked until it is: a state, not a duration).
    let refused: ServiceError | undefined;
    for (let i = 0; i < 50 && !refused; i++) {
      refused = (await list(5, "").then(
        () => undefined,
        (e: unknown) => e,
      )) as ServiceError | undefined;
    }
    expect(refused?.code).toBe(8); // RESOURCE_EXHAUSTED
    expect(errorReason(refused!)).toBe("LIST_ROWS_EXHAUSTED");
    const delay = retryDelayMs(refused!)!;
    expect(delay).toBeGreaterThanOrEqual(1000);
    expect(refused!.details).toContain(`retry in ${delay / 1000} s`);
    expect(refused!.details).toContain("CERTMINT_LIST_ROWS_PER_TOKEN_PER_SECOND");

    // Pages of 2 through listPages, as `ca list --all` pages: refusals waited out, every row.
    let refusals = 0;
    const page = await listPages(
      new Args({ all: true }, [], LIST_SECTION.specs, "ca list"),
      async (_size, token) => {
        try {
          const r = await list(2, token);
          return { items: r.certificateAuthorities, nextPageToken: r.nextPageToken };
        } catch (err) {
          if (errorReason(err as ServiceError) === "LIST_ROWS_EXHAUSTED") refusals++;
          throw err;
        }
      },
    );
    expect(page.items.map((c) => c.slug).sort()).toEqual(["r1", "r2", "r3", "r4", "r5"]);
    expect(refusals).toBeGreaterThan(0);
  });
});
