import { isIP } from "node:net";
import { domainToASCII } from "node:url";
import type { CompiledPolicy } from "../issuance/policy-engine";
import { parseDnsName } from "../issuance/policy-engine/dns-match";
import { evaluateSans } from "../issuance/policy-engine/evaluate-names";
import type { AcmeChallengeType as ChallengeType } from "../issuance/repositories";
import type { SubjectAltNames } from "../model/pki";
import { canonicalIp } from "../signer";
import { type AcmeIdentifier, AcmeProblem, malformed, type ProblemDocument } from "./problem";

/**
 * A dns identifier's value as the order keeps it: lower case, one trailing dot (the root)
 * removed. What is left must be a host name by the rule IssueCertificate applies to a DNS SAN
 * (parseDnsName), checked here because the policy's own normalisation removes a trailing dot
 * again: "x.example.." passed it as "x.example", and the order kept a second identifier,
 * "x.example.", no CSR could ever match (until stop 44 of 2026-12-06).
 */
function dnsIdentifier(value: string): string {
  const name = value.toLowerCase().replace(/\.$/, "");
  const parsed = name.endsWith(".")
    ? { ok: false as const, error: "has an empty label" }
    : parseDnsName(name);
  if (!parsed.ok) {
    throw rejectedDnsIdentifier(
      value,
      `${JSON.stringify(value)} is not a valid DNS name: it ${parsed.error}`,
    );
  }
  return name;
}

/** At most this many identifiers per order (the issuance use case's SAN bound is 100). */
export const MAX_IDENTIFIERS = 100;

/**
 * The identifiers of a newOrder (RFC 8555 7.4), checked and normalised: dns (lower case, no
 * trailing dot) and ip (RFC 8738, canonical text). Duplicates are dropped. Each is put to the
 * profile's policy, the same rule IssueCertificate applies to SANs, so a name the policy
 * refuses is rejectedIdentifier now (RFC 8555 7.4) rather than after its challenge.
 */
export function checkIdentifiers(value: unknown, policy: CompiledPolicy): AcmeIdentifier[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw malformed("identifiers must be a non-empty array");
  }
  if (value.length > MAX_IDENTIFIERS) {
    throw malformed(`an order may name at most ${MAX_IDENTIFIERS} identifiers`);
  }
  const seen = new Map<string, AcmeIdentifier>();
  for (const raw of value) {
    const id = raw as { type?: unknown; value?: unknown };
    if (typeof id?.value !== "string" || id.value === "" || id.value.length > 253) {
      throw malformed("each identifier needs a value (a DNS name or an IP address)");
    }
    let identifier: AcmeIdentifier;
    if (id.type === "dns") {
      refuseNonAscii(id.value);
      identifier = { type: "dns", value: dnsIdentifier(id.value) };
    } else if (id.type === "ip") {
      const canonical = isIP(id.value) === 0 ? undefined : canonicalIp(id.value);
      if (!canonical) throw malformed(`${JSON.stringify(id.value)} is not an IP address`);
      identifier = { type: "ip", value: canonical };
    } else {
      throw new AcmeProblem(
        "unsupportedIdentifier",
        `identifier type ${JSON.stringify(id.type)} is not supported (dns and ip are)`,
      );
    }
    seen.set(`${identifier.type}:${identifier.value}`, identifier);
  }
  const identifiers = [...seen.values()];
  const refusals = policyRefusals(identifiers, policy);
  if (refusals.length > 0) {
    throw new AcmeProblem(
      "rejectedIdentifier",
      `the profile's policy refuses ${refusals.length} identifier(s): ${refusals.map((r) => r.detail).join("; ")}`,
      400,
      { subproblems: refusals },
    );
  }
  return identifiers;
}

/**
 * A DNS identifier is its ASCII form: A-labels (xn--...) for an internationalized name (RFC
 * 5890 2.3.2.1; RFC 5280 4.2.1.6 and RFC 9549: a dNSName carries A-labels, and RFC 8555 7.4:
 * the CSR must name the order's identifiers). A U-label (bücher), a fullwidth dot or a
 * compatibility character (ﬀ) is refused at newOrder, with the ASCII form to send: until
 * 2026-12-05 such an order was validated and then could never be finalized, and one order
 * could hold a name twice (bücher... and xn--bcher-kva...).
 */
function refuseNonAscii(value: string): void {
  if (/^[\p{ASCII}]*$/u.test(value)) return;
  const ascii = domainToASCII(value);
  const instead = ascii
    ? `send its ASCII form ${JSON.stringify(ascii)}`
    : "send its A-labels (xn--...)";
  throw rejectedDnsIdentifier(
    value,
    `${JSON.stringify(value)} is not in ASCII: DNS identifiers are A-labels (RFC 5890); ${instead}`,
  );
}

/** rejectedIdentifier for one dns identifier, with its subproblem naming it (RFC 8555 6.7.1). */
function rejectedDnsIdentifier(value: string, detail: string): AcmeProblem {
  return new AcmeProblem("rejectedIdentifier", detail, 400, {
    subproblems: [
      {
        type: "urn:ietf:params:acme:error:rejectedIdentifier",
        detail,
        identifier: { type: "dns", value },
      },
    ],
  });
}

function policyRefusals(identifiers: AcmeIdentifier[], policy: CompiledPolicy): ProblemDocument[] {
  const sans = sansOf(identifiers);
  const out: ProblemDocument[] = [];
  for (const type of ["dns", "ip"] as const) {
    for (const v of evaluateSans(policy, sans, type)) {
      const index = Number(/\[(\d+)\]$/.exec(v.field)?.[1] ?? -1);
      const value = sans[type][index];
      out.push({
        type: "urn:ietf:params:acme:error:rejectedIdentifier",
        detail: v.description,
        ...(value !== undefined ? { identifier: { type, value } } : {}),
      });
    }
  }
  return out;
}

export function sansOf(identifiers: AcmeIdentifier[]): SubjectAltNames {
  return {
    dns: identifiers.filter((i) => i.type === "dns").map((i) => i.value),
    ip: identifiers.filter((i) => i.type === "ip").map((i) => i.value),
    email: [],
    uri: [],
  };
}

/**
 * The challenges offered for an identifier: a wildcard only dns-01 (RFC 8555 7.1.3: control of
 * the whole zone), an IP address http-01 and tls-alpn-01 (RFC 8738 7), a name all three.
 */
export function challengeTypesFor(identifier: AcmeIdentifier, wildcard: boolean): ChallengeType[] {
  if (wildcard) return ["dns-01"];
  if (identifier.type === "ip") return ["http-01", "tls-alpn-01"];
  return ["http-01", "tls-alpn-01", "dns-01"];
}

/**
 * Whether a CSR names exactly the order's identifiers (RFC 8555 7.4: finalize). A DNS name "MUST
 * appear either in the commonName portion of the requested subject name or in an
 * extensionRequest attribute [RFC2985] requesting a subjectAltName extension, or both": the
 * common name counts among the CSR's names (until stop 60 of 2026-12-08 a CSR naming its one
 * identifier in the common name alone was badCSR, an outside probe; the policy's
 * subject_names_in_sans COPY, the default, puts it in the certificate's SANs).
 */
export function sameIdentifiers(
  order: AcmeIdentifier[],
  csr: { sans: SubjectAltNames; commonName?: string },
): string | undefined {
  const want = new Set(order.map((i) => `${i.type}:${i.value}`));
  const got = new Set([
    ...csr.sans.dns.map((d) => `dns:${d.toLowerCase().replace(/\.$/, "")}`),
    ...csr.sans.ip.map((ip) => `ip:${canonicalIp(ip) ?? ip}`),
  ]);
  if (csr.sans.email.length > 0 || csr.sans.uri.length > 0) {
    return "the CSR may carry only DNS names and IP addresses";
  }
  if (csr.commonName) {
    const cn = csr.commonName.toLowerCase();
    const named = [`dns:${cn}`, `ip:${cn}`].find((n) => want.has(n));
    if (named === undefined) return "the CSR's common name must be one of the order's identifiers";
    got.add(named);
  }
  const missing = [...want].filter((w) => !got.has(w));
  const extra = [...got].filter((g) => !want.has(g));
  if (missing.length > 0 || extra.length > 0) {
    return `the CSR's names must equal the order's identifiers (missing: ${missing.join(", ") || "none"}; not in the order: ${extra.join(", ") || "none"})`;
  }
  return undefined;
}
