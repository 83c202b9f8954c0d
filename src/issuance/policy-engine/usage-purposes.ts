/**
 * Key usages against extended key usages (RFC 5280 4.2.1.12: "the certificate MUST only be
 * used for a purpose consistent with both extensions"), and the time-stamping rule of
 * RFC 3161 2.3. Pure rules over the request's final usages (after defaults, the policy's
 * required usages and a CA's keyCertSign/cRLSign were added): what the certificate will carry.
 */

import { type FieldViolation, withArticle } from "../../errors";
import { isKeyAlgorithm, keyUsagesAllowedFor } from "../../model/keys";
import {
  EXTENDED_KEY_USAGES,
  type ExtendedKeyUsage,
  KEY_USAGES,
  type KeyUsage,
} from "../../model/pki";
import type { CompiledUsageRule } from "./compile";
import { violation } from "./evaluate-names";
import type { PolicyRequest } from "./types";

type Combination = readonly KeyUsage[];

/**
 * The key usages consistent with each purpose: zlint's RFC 5280 lint
 * e_key_usage_and_extended_key_usage_inconsistent (v3/lints/rfc/
 * lint_key_usage_and_extended_key_usage_inconsistent.go, table `eku`), entry for entry. A
 * certificate's keyUsage must be EXACTLY one of its purpose's combinations: any other bit
 * (dataEncipherment, cRLSign, encipherOnly, ...) makes it inconsistent.
 */
export const CONSISTENT_KEY_USAGES: Readonly<Record<ExtendedKeyUsage, readonly Combination[]>> = {
  // digitalSignature OR (keyEncipherment XOR keyAgreement)
  SERVER_AUTH: [
    ["DIGITAL_SIGNATURE"],
    ["KEY_ENCIPHERMENT"],
    ["KEY_AGREEMENT"],
    ["DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"],
    ["DIGITAL_SIGNATURE", "KEY_AGREEMENT"],
  ],
  // digitalSignature OR keyAgreement
  CLIENT_AUTH: [["DIGITAL_SIGNATURE"], ["KEY_AGREEMENT"], ["DIGITAL_SIGNATURE", "KEY_AGREEMENT"]],
  CODE_SIGNING: [["DIGITAL_SIGNATURE"]],
  // digitalSignature OR nonRepudiation OR (keyEncipherment XOR keyAgreement)
  EMAIL_PROTECTION: [
    ["DIGITAL_SIGNATURE"],
    ["CONTENT_COMMITMENT"],
    ["KEY_ENCIPHERMENT"],
    ["KEY_AGREEMENT"],
    ["DIGITAL_SIGNATURE", "CONTENT_COMMITMENT"],
    ["DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"],
    ["DIGITAL_SIGNATURE", "KEY_AGREEMENT"],
    ["DIGITAL_SIGNATURE", "CONTENT_COMMITMENT", "KEY_ENCIPHERMENT"],
    ["DIGITAL_SIGNATURE", "CONTENT_COMMITMENT", "KEY_AGREEMENT"],
    ["CONTENT_COMMITMENT", "KEY_ENCIPHERMENT"],
    ["CONTENT_COMMITMENT", "KEY_AGREEMENT"],
  ],
  // digitalSignature OR nonRepudiation (also OpenSSL's timestampsign purpose)
  TIME_STAMPING: [
    ["DIGITAL_SIGNATURE"],
    ["CONTENT_COMMITMENT"],
    ["DIGITAL_SIGNATURE", "CONTENT_COMMITMENT"],
  ],
  // digitalSignature OR nonRepudiation
  OCSP_SIGNING: [
    ["DIGITAL_SIGNATURE"],
    ["CONTENT_COMMITMENT"],
    ["DIGITAL_SIGNATURE", "CONTENT_COMMITMENT"],
  ],
};

/** The keyUsage BIT STRING as a number: bit n is KEY_USAGES[n] (RFC 5280 4.2.1.3 order). */
const maskOf = (usages: Iterable<KeyUsage>): number => {
  let m = 0;
  for (const u of usages) m |= 1 << KEY_USAGES.indexOf(u);
  return m;
};

const MASKS = Object.fromEntries(
  EXTENDED_KEY_USAGES.map((e) => [e, CONSISTENT_KEY_USAGES[e].map(maskOf)]),
) as Record<ExtendedKeyUsage, number[]>;

/**
 * Whether zlint's lint passes a certificate with these key usages and purposes (in the
 * certificate's order), whatever order Go's map iteration takes. One purpose: the usages must
 * be one of its combinations. Several (its multiPurpose): zlint collects the combinations of
 * each purpose in turn, OR-ing every one but the FIRST one it meets of each purpose with all
 * collected so far, and passes usages it collected. Which combination comes first is Go's
 * random map order, so some unions (e.g. nonRepudiation + keyEncipherment for SERVER_AUTH +
 * OCSP_SIGNING) pass in some runs and fail in others; those are refused. Only combinations
 * within `ku` can build `ku`, so only their first-ness is enumerated.
 */
export function zlintConsistent(
  keyUsages: readonly KeyUsage[],
  ekus: readonly ExtendedKeyUsage[],
): boolean {
  const ku = maskOf(keyUsages);
  const purposes = [...new Set(ekus)];
  if (purposes.length === 1) return MASKS[purposes[0] as ExtendedKeyUsage].includes(ku);
  const within = purposes.map((e) => {
    const all = MASKS[e];
    const inside = all.filter((m) => (m & ~ku) === 0);
    // -1: a combination outside `ku` comes first, so every one inside is OR-ed.
    const firsts = inside.map((_, i) => i);
    if (inside.length < all.length) firsts.push(-1);
    return { inside, firsts };
  });
  const collects = (choice: readonly number[]): boolean => {
    const seen = new Set<number>();
    within.forEach(({ inside }, p) => {
      const first = choice[p] ?? -1;
      const order =
        first < 0 ? inside : [inside[first] as number, ...inside.filter((_, i) => i !== first)];
      order.forEach((m, i) => {
        if (i > 0 || first < 0) for (const s of [...seen]) seen.add(s | m);
        seen.add(m);
      });
    });
    return seen.has(ku);
  };
  const every = (p: number, choice: number[]): boolean => {
    if (p === within.length) return collects(choice);
    return (within[p]?.firsts ?? []).every((f) => every(p + 1, [...choice, f]));
  };
  return every(0, []);
}

const list = (usages: readonly string[]) => usages.join(", ");

/**
 * The combinations of `eku` a request could carry: those the key type allows (RFC 3279, 5480,
 * 8410) and the policy permits (allowed, not denied, holding every required usage).
 */
function achievable(
  eku: ExtendedKeyUsage,
  req: PolicyRequest,
  rule: CompiledUsageRule<KeyUsage>,
): Combination[] {
  const keyAllows = isKeyAlgorithm(req.keyAlgorithm)
    ? keyUsagesAllowedFor(req.keyAlgorithm)
    : KEY_USAGES;
  return CONSISTENT_KEY_USAGES[eku].filter(
    (c) =>
      c.every(
        (u) =>
          keyAllows.includes(u) &&
          !rule.denied.includes(u) &&
          (rule.allowed.length === 0 || rule.allowed.includes(u)),
      ) && rule.required.every((u) => c.includes(u)),
  );
}

/** RFC 5280 4.2.1.12 by zlint's table; one violation on key_usages naming what would fit. */
function keyUsagesForPurposes(
  req: PolicyRequest,
  rule: CompiledUsageRule<KeyUsage>,
): FieldViolation[] {
  const kus = [...new Set(req.keyUsages ?? [])];
  const ekus = [...new Set(req.extendedKeyUsages ?? [])];
  // No keyUsage or no extKeyUsage extension: nothing to reconcile. Unknown values are
  // reported as KEY_USAGE_INVALID / EXTENDED_KEY_USAGE_INVALID.
  if (kus.length === 0 || ekus.length === 0) return [];
  if (!kus.every((u) => KEY_USAGES.includes(u))) return [];
  if (!ekus.every((e) => EXTENDED_KEY_USAGES.includes(e))) return [];
  if (zlintConsistent(kus, ekus)) return [];
  // The API clips a description at 256 characters: what to do comes before the long list.
  const key = isKeyAlgorithm(req.keyAlgorithm) ? ` for ${withArticle(req.keyAlgorithm)} key` : "";
  const options = ekus.map((e) => {
    const fits = achievable(e, req, rule);
    return `${e}: ${fits.length ? fits.map((c) => `[${list(c)}]`).join(" or ") : "none"}`;
  });
  const requested = KEY_USAGES.filter((u) => kus.includes(u));
  return [
    violation(
      "key_usages",
      "KEY_USAGE_INCONSISTENT_WITH_EKU",
      `key usages [${list(requested)}] are inconsistent with ${list(ekus)} (RFC 5280 4.2.1.12); use exactly the key usages of a purpose, under this policy${key}: ${options.join("; ")}`,
    ),
  ];
}

/** RFC 3161 2.3: a TSA certificate's extKeyUsage holds id-kp-timeStamping and nothing else. */
function timeStampingAlone(req: PolicyRequest): FieldViolation[] {
  const ekus = [...new Set(req.extendedKeyUsages ?? [])];
  if (!ekus.includes("TIME_STAMPING") || ekus.length === 1) return [];
  const others = ekus.filter((e) => e !== "TIME_STAMPING");
  return [
    violation(
      "extended_key_usages",
      "EXTENDED_KEY_USAGE_TIME_STAMPING_NOT_ALONE",
      `TIME_STAMPING cannot be combined with ${list(others)} (RFC 3161 2.3: a time-stamping certificate has id-kp-timeStamping as its only extended key usage); request TIME_STAMPING alone, and ${list(others)} in a separate certificate`,
    ),
  ];
}

/**
 * The purpose rules of an end-entity certificate. A CA certificate is exempt, as zlint exempts
 * it: its extKeyUsage constrains the certificates below it (a code-signing CA may carry
 * CODE_SIGNING and TIME_STAMPING), and its keyUsage holds keyCertSign and cRLSign, which no
 * purpose's combination has. Self-signed end-entity certificates are checked (zlint skips
 * them, taking them for roots; RFC 5280 4.2.1.12 binds them as any other).
 */
export function purposeViolations(
  req: PolicyRequest,
  keyUsageRule: CompiledUsageRule<KeyUsage>,
): FieldViolation[] {
  if (req.isCa) return [];
  return [...timeStampingAlone(req), ...keyUsagesForPurposes(req, keyUsageRule)];
}
