import type { PageCursor } from "../issuance/repositories";

/**
 * The ORM filter of a keyset page (common/pagination.ts): rows after the cursor in
 * (created_at, id) order, oldest first ("asc") or newest first ("desc"); each page is an index
 * range scan.
 */
export function afterCursor(cursor: PageCursor | undefined, order: "asc" | "desc") {
  if (!cursor) return {};
  const beyond = order === "asc" ? "$gt" : "$lt";
  return {
    $or: [
      { createdAt: { [beyond]: cursor.createdAt } },
      { createdAt: cursor.createdAt, id: { [beyond]: cursor.id } },
    ],
  };
}

export const keysetOrder = (order: "asc" | "desc") => ({ createdAt: order, id: order }) as const;
