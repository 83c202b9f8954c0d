/**
 * Public suffixes (the ICANN section of the Public Suffix List: `co.uk`, `com.au`, `公司.cn`,
 * `kawasaki.jp` by its wildcard rule, but not `city.kawasaki.jp`, its exception), as the pinned
 * `tldts` package ships the list: a wildcard SAN directly over one ("*.co.uk") stands for every
 * domain registered under it, and CAs must refuse it (CA/Browser Forum Baseline Requirements
 * 3.2.2.6; Boulder refuses it the same way, by the ICANN section alone). The private section
 * (`github.io`, `s3.amazonaws.com`) is left to policies: an internal PKI may well own such a
 * suffix's hosts. The list changes with the package version (package.json pins it exactly).
 *
 * Loaded on the first wildcard name, not at start: a process that never sees one does not hold
 * the list (about 1 MiB of heap).
 */
import type * as Tldts from "tldts";

let list: typeof Tldts | undefined;

/** Whether `labels` (lower-case A-labels, two or more) name an ICANN public suffix. */
export function isIcannPublicSuffix(labels: readonly string[]): boolean {
  list ??= require("tldts") as typeof Tldts;
  const name = labels.join(".");
  // A name outside the list (`example.corp`, `a.b`) gets the list's default rule "*": its last
  // label alone is the suffix, so only a single label (refused before this) would equal it.
  return (
    list.getPublicSuffix(name, {
      allowPrivateDomains: false,
      extractHostname: false,
      validateHostname: false,
    }) === name
  );
}
