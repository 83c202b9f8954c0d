/**
 * `--all` over more rows than a token's list-row budget (CERTMINT_LIST_ROWS_PER_TOKEN_PER_SECOND,
 * stop 44 of 2026-12-06): the server refuses a list past the budget with RESOURCE_EXHAUSTED
 * LIST_ROWS_EXHAUSTED and a RetryInfo; the CLI waits that long and asks the same page again,
 * so an export is paced to the budget instead of failing midway. Any other error is thrown at
 * once, and a budget that stays spent ends the listing after a bounded number of waits.
 */
import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { Any } from "../../gen/ts/google/protobuf/any";
import { ErrorInfo, RetryInfo } from "../../gen/ts/google/rpc/error_details";
import { Status } from "../../gen/ts/google/rpc/status";
import { Args } from "../../src/cli/args";
import { LIST_SECTION, listPages } from "../../src/cli/options/list";

const args = (values: Record<string, string | boolean>) =>
  new Args(values, [], LIST_SECTION.specs, "cert list");

function refusal(reason: string, retryMs: number): ServiceError {
  const details = [
    Any.fromPartial({
      typeUrl: "type.googleapis.com/google.rpc.ErrorInfo",
      value: Buffer.from(ErrorInfo.encode({ reason, domain: "certmint", metadata: {} }).finish()),
    }),
    Any.fromPartial({
      typeUrl: "type.googleapis.com/google.rpc.RetryInfo",
      value: Buffer.from(
        RetryInfo.encode({
          retryDelay: {
            seconds: String(Math.floor(retryMs / 1000)),
            nanos: (retryMs % 1000) * 1e6,
          },
        }).finish(),
      ),
    }),
  ];
  const metadata = new Metadata();
  metadata.set(
    "grpc-status-details-bin",
    Buffer.from(
      Status.encode({ code: status.RESOURCE_EXHAUSTED, message: reason, details }).finish(),
    ),
  );
  return Object.assign(new Error(reason), {
    code: status.RESOURCE_EXHAUSTED,
    details: reason,
    metadata,
  }) as ServiceError;
}

describe("listPages under the list-row budget", () => {
  it("waits the RetryInfo and asks the same page again, then goes on", async () => {
    const asked: string[] = [];
    let refusals = 0;
    const page = await listPages(args({ all: true }), async (_size, token) => {
      asked.push(token);
      // The second page is refused twice before it is served.
      if (token === "p2" && refusals < 2) {
        refusals++;
        throw refusal("LIST_ROWS_EXHAUSTED", 20);
      }
      return token === ""
        ? { items: [1, 2], nextPageToken: "p2" }
        : token === "p2"
          ? { items: [3, 4], nextPageToken: "p3" }
          : { items: [5], nextPageToken: "" };
    });
    expect(page.items).toEqual([1, 2, 3, 4, 5]);
    expect(asked).toEqual(["", "p2", "p2", "p2", "p3"]);
  });

  it("throws any other refusal at once", async () => {
    let calls = 0;
    const other = refusal("RATE_LIMITED", 20);
    await expect(
      listPages(args({ all: true }), async () => {
        calls++;
        throw other;
      }),
    ).rejects.toBe(other);
    expect(calls).toBe(1);
  });

  it("gives up after a bounded number of waits when the budget stays spent", async () => {
    let calls = 0;
    await expect(
      listPages(args({ all: true }), async () => {
        calls++;
        throw refusal("LIST_ROWS_EXHAUSTED", 0);
      }),
    ).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED });
    expect(calls).toBe(61);
  });
});
