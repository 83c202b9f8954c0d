import type { IncomingMessage } from "node:http";

/** What a conditional request is checked against: the validators sent with the 200. */
export interface Validators {
  /** A strong entity tag, quoted (RFC 9110 8.8.3). */
  etag: string;
  /** RFC 9110 8.8.2; sent in HTTP-date form, so compared to the second. */
  lastModified?: Date;
  /**
   * Another representation had the same Last-Modified, to the second (two CRLs of a CA signed
   * within one second: issuance/ca/crl.ts): the date then tells them apart for no one.
   */
  lastModifiedShared?: boolean;
}

/**
 * Whether a GET or HEAD may be answered 304 Not Modified (RFC 9110 13.1.2, 13.1.3, 13.2.2):
 * If-None-Match, when present, decides alone (weak comparison: "W/" is ignored, "*" matches);
 * otherwise If-Modified-Since, when it is a valid date, against lastModified. CRL fetchers and
 * the caches in front of them revalidate a CRL they hold this way: a CRL of 10^5 entries is
 * ~5 MB, and most fetches find it unchanged.
 *
 * If-Modified-Since matches only the date sent, to the second, not any later one as RFC 9110
 * 13.1.3 has it: a CRL's Last-Modified is its thisUpdate, and until 2026-12-04 a clock stepped
 * back (NTP, a VM resumed) gave the CRL signed for a new revocation an earlier thisUpdate than
 * the one a fetcher held; "not modified since a later date" kept that fetcher on the CRL
 * without the revocation. A CA's thisUpdates no longer go back (issuance/ca/crl.ts), but a
 * fetcher may still hold a date from a CRL signed before that. A date certmint did not send
 * costs a full answer, never a stale one (RFC 9110 13.2.1 lets a server ignore the
 * condition). Nor does it match a date another representation had too (`lastModifiedShared`):
 * RFC 9110 8.8.2.2 lets a date serve as a validator only when the server knows the
 * representation did not change twice within that second, and a fetcher holding the first of
 * two CRLs signed in one second would otherwise be told the second, maybe with a new
 * revocation, is what it has.
 */
export function notModified(req: IncomingMessage, v: Validators): boolean {
  const ifNoneMatch = req.headers["if-none-match"];
  if (ifNoneMatch !== undefined) {
    return ifNoneMatch
      .split(",")
      .map((t) => t.trim())
      .some((t) => t === "*" || t.replace(/^W\//, "") === v.etag);
  }
  const ifModifiedSince = req.headers["if-modified-since"];
  if (ifModifiedSince === undefined || !v.lastModified || v.lastModifiedShared) return false;
  const since = Date.parse(ifModifiedSince);
  if (Number.isNaN(since)) return false;
  return Math.floor(v.lastModified.getTime() / 1000) * 1000 === since;
}
