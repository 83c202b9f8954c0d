/** Paging of List RPCs: --limit, --all and --page-token, and the note when more results exist. */
import { type ServiceError, status } from "@grpc/grpc-js";
import type { Args } from "../args";
import { type OptionSection, UsageError } from "../command";
import type { Invocation } from "../invocation";
import { errorReason, retryDelayMs } from "../rpc-error";
import { parseInteger } from "../values";

const DEFAULT_LIMIT = 100;
/** The largest page_size the List RPCs accept. */
const MAX_PAGE_SIZE = 1000;

export const LIST_SECTION: OptionSection = {
  title: "Paging",
  specs: {
    limit: {
      type: "string",
      value: "N",
      description: `at most N results (default: ${DEFAULT_LIMIT})`,
    },
    all: { type: "boolean", description: "every result, fetched page after page" },
    "page-token": {
      type: "string",
      value: "TOKEN",
      description: "continue where a previous listing stopped (its next page token)",
    },
  },
};

export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

/** Fetches pages until the limit is reached or the list ends. */
export async function listPages<T>(
  args: Args,
  fetch: (pageSize: number, pageToken: string) => Promise<Page<T>>,
): Promise<Page<T>> {
  const all = args.flag("all") === true;
  const limitText = args.string("limit");
  if (all && limitText !== undefined)
    throw new UsageError("--all and --limit contradict each other");
  const limit = all
    ? Number.POSITIVE_INFINITY
    : limitText === undefined
      ? DEFAULT_LIMIT
      : parseInteger(limitText, "limit", 1, 1_000_000);
  const items: T[] = [];
  let token = args.string("page-token") ?? "";
  do {
    // Each page asks for exactly what is missing, so the last token continues right after it.
    const page = await paced(() => fetch(Math.min(MAX_PAGE_SIZE, limit - items.length), token));
    items.push(...page.items);
    token = page.nextPageToken;
  } while (token && items.length < limit);
  return { items, nextPageToken: token };
}

/** How many times one page is asked again after the token's list-row budget was spent. */
const MAX_BUDGET_WAITS = 60;

/**
 * A page, asked again after the RetryInfo delay while the server says the token's list-row
 * budget is spent (RESOURCE_EXHAUSTED LIST_ROWS_EXHAUSTED, CERTMINT_LIST_ROWS_PER_TOKEN_PER_SECOND):
 * `--all` over more rows than the burst is paced to the budget instead of failing midway.
 * Any other error, or the budget still spent after MAX_BUDGET_WAITS waits, is the caller's.
 */
async function paced<T>(ask: () => Promise<T>): Promise<T> {
  for (let waits = 0; ; waits++) {
    try {
      return await ask();
    } catch (err) {
      const e = err as ServiceError;
      const delay =
        e?.code === status.RESOURCE_EXHAUSTED && errorReason(e) === "LIST_ROWS_EXHAUSTED"
          ? retryDelayMs(e)
          : undefined;
      if (delay === undefined || waits >= MAX_BUDGET_WAITS) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.max(delay, 50)));
    }
  }
}

/** On stderr, for tables: there is more, and how to get it. */
export function noteMore(inv: Invocation, page: Page<unknown>): void {
  if (page.nextPageToken && inv.output === "table") {
    inv.note(`(more results: --all, or --page-token ${page.nextPageToken} for the next page)`);
  }
}
