/**
 * Normalisation of requested names at the edge (smallstep policy/, RFC 5280 7.2-7.4). Each
 * function returns the normalised text, which is what matching uses and what the issuer must
 * write into the certificate, or why the input is invalid. All are idempotent:
 * normalize(normalize(x)) === normalize(x).
 */

import { parseDnsName } from "./dns-match";
import { parseEmail } from "./email-match";
import { parseIpAddress } from "./ip-match";
import { fail, ok, type Parsed } from "./types";
import { parseUri } from "./uri-match";

export type NormalizeResult = Parsed<string>;

const text = <T extends { text: string }>(p: Parsed<T>): NormalizeResult =>
  p.ok ? ok(p.value.text) : fail(p.error);

/** Lower case, no trailing dot, A-labels (UTS #46 / RFC 5891); "*.x" kept as a wildcard. */
export const normalizeDnsName = (input: string): NormalizeResult => text(parseDnsName(input));

/** RFC 5952 text; IPv4-mapped IPv6 as "::ffff:a.b.c.d". */
export const normalizeIp = (input: string): NormalizeResult => text(parseIpAddress(input));

/** Local part unchanged; domain as a DNS name. */
export const normalizeEmail = (input: string): NormalizeResult => text(parseEmail(input));

/** Lower-case scheme, normalised host, percent-encoding and empty path normalised. */
export const normalizeUri = (input: string): NormalizeResult => text(parseUri(input));
