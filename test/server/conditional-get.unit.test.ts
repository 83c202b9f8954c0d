/**
 * RFC 9110 conditional GET (src/server/conditional-get.ts): If-None-Match decides alone when
 * present (weak comparison, "*", lists), else If-Modified-Since: the date sent, to the second.
 */
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { notModified } from "../../src/server/conditional-get";

const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
const lastModified = new Date("2026-12-03T01:02:03.456Z");
const v = { etag: '"crl-42"', lastModified };

describe("notModified", () => {
  it.each([
    ["no condition", {}, false],
    ["the same tag", { "if-none-match": '"crl-42"' }, true],
    ["the same tag, weak", { "if-none-match": 'W/"crl-42"' }, true],
    ["in a list", { "if-none-match": '"crl-41", "crl-42"' }, true],
    ["*", { "if-none-match": "*" }, true],
    ["another tag", { "if-none-match": '"crl-41"' }, false],
    ["the tag unquoted (another tag)", { "if-none-match": "crl-42" }, false],
    ["a prefix of the tag", { "if-none-match": '"crl-4"' }, false],
    // If-None-Match decides alone: a matching date does not make another tag match.
    [
      "another tag with a matching date",
      { "if-none-match": '"crl-41"', "if-modified-since": lastModified.toUTCString() },
      false,
    ],
    ["the date sent", { "if-modified-since": lastModified.toUTCString() }, true],
    // A later date is not taken for "not modified": the CRL's thisUpdate comes from a wall
    // clock that may have stepped back since the date the fetcher holds.
    ["a later date", { "if-modified-since": "Fri, 04 Dec 2026 00:00:00 GMT" }, false],
    ["an earlier date", { "if-modified-since": "Thu, 03 Dec 2026 01:02:02 GMT" }, false],
    ["not a date", { "if-modified-since": "yesterday-ish" }, false],
  ])("%s", (_name, headers, expected) => {
    expect(notModified(request(headers), v)).toBe(expected);
  });

  it("a Last-Modified another CRL had too validates nothing; the entity tag still does", () => {
    // Two CRLs of a CA signed in one second (RFC 9110 8.8.2.2): the date names both.
    const shared = { ...v, lastModifiedShared: true };
    expect(notModified(request({ "if-modified-since": lastModified.toUTCString() }), shared)).toBe(
      false,
    );
    expect(notModified(request({ "if-none-match": '"crl-42"' }), shared)).toBe(true);
  });

  it("without a last-modified time, If-Modified-Since never matches", () => {
    const tagOnly = { etag: '"abc"' };
    expect(notModified(request({ "if-modified-since": lastModified.toUTCString() }), tagOnly)).toBe(
      false,
    );
    expect(notModified(request({ "if-none-match": '"abc"' }), tagOnly)).toBe(true);
  });
});
