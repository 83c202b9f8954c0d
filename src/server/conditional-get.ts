import type { IncomingMessage } from "node:http";

/** What a conditional request is checked against: the validators sent with the 200. */
export interface Validators {
  /** A strong entity tag, quoted (RFC 9110 8.8.3). */
  etag: string;
  /** RFC 9110 8.8.2; sent in HTTP-date form, so compared to the second. */
  lastModified?: Date;
}

/**
 * Whether a GET or HEAD may be answered 304 Not Modified (RFC 9110 13.1.2, 13.1.3, 13.2.2):
 * If-None-Match, when present, decides alone (weak comparison: "W/" is ignored, "*" matches);
 * otherwise If-Modified-Since, when it is a valid date, against lastModified. CRL fetchers and
 * the caches in front of them revalidate a CRL they hold this way: a CRL of 10^5 entries is
 * ~5 MB, and most fetches find it unchanged.
 *
 * If-Modified-Since matches only the date sent, to the second, not any later one as RFC 9110
 * 13.1.3 has it: a CRL's Last-Modified is its thisUpdate, read from the wall clock, and after a
 * clock stepped back (NTP, a VM resumed) the CRL signed for a new revocation has an earlier
 * thisUpdate than the one a fetcher holds; "not modified since a later date" kept that fetcher
 * on the CRL without the revocation. A date certmint did not send costs a full answer, never
 * a stale one (RFC 9110 13.2.1 lets a server ignore the condition).
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
  if (ifModifiedSince === undefined || !v.lastModified) return false;
  const since = Date.parse(ifModifiedSince);
  if (Number.isNaN(since)) return false;
  return Math.floor(v.lastModified.getTime() / 1000) * 1000 === since;
}
