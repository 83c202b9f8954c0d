import type { PageCursor } from "../issuance/repositories";

/**
 * The ORM filter of a keyset page (common/pagination.ts): rows after the cursor in
 * (created_at, id) order, oldest first ("asc") or newest first ("desc"); each page is an index
 * range scan.
 */
export function afterCursor(cursor: PageCursor | undefined, order: "asc" | "desc") {
  if (!cursor) return {};
  const beyond = order === "asc" ? "$gt" : "$lt";
  // The first bound is implied by the OR; it is there for the planner, which uses it as the
  // start of the index range scan (an OR alone is only a filter: each page would re-read every
  // row before it, and walking a list would be quadratic).
  return {
    createdAt: { [order === "asc" ? "$gte" : "$lte"]: cursor.createdAt },
    $or: [
      { createdAt: { [beyond]: cursor.createdAt } },
      { createdAt: cursor.createdAt, id: { [beyond]: cursor.id } },
    ],
  };
}

export const keysetOrder = (order: "asc" | "desc") => ({ createdAt: order, id: order }) as const;
