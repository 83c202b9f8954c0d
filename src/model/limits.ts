/**
 * How much identity one certificate request may carry, whether it comes as IssueCertificate
 * attributes (checked at the API edge, src/api/request-limits.ts) or inside a CSR (checked
 * when the CSR is parsed, src/signer/csr-bounds.ts): the same bounds either way, so neither
 * path lets a request make more work, or store more, than the other.
 */
import type { SubjectAltNames, SubjectAttribute } from "./pki";

/**
 * The longest lifetime (TTL, a policy's max_ttl) certmint accepts: google.protobuf.Duration's
 * own range (duration.proto: +-315,576,000,000 s, about 10,000 years). Beyond it a duration is
 * not a valid Duration, and `now + ttl` in milliseconds leaves what a Date can hold, so no
 * validity could be computed from it.
 */
export const MAX_DURATION_SECONDS = 315_576_000_000;

/**
 * Values per subject attribute. organization and organizationalUnit are repeated fields of
 * the API's Subject (one RDN each); every other attribute is a single field.
 */
export const SUBJECT_ATTRIBUTE_MAX_VALUES: Record<SubjectAttribute, number> = {
  COMMON_NAME: 1,
  ORGANIZATION: 10,
  ORGANIZATIONAL_UNIT: 10,
  COUNTRY: 1,
  STATE: 1,
  LOCALITY: 1,
  STREET_ADDRESS: 1,
  POSTAL_CODE: 1,
  SERIAL_NUMBER: 1,
  EMAIL_ADDRESS: 1,
};

/** Names of one type (DNS, IP, email, URI) in one request. */
export const SAN_MAX_PER_TYPE = 100;

/**
 * Characters per name, by type: a DNS name of 253 octets and a trailing dot (RFC 1035 2.3.4),
 * the longest IPv6 text form (45, RFC 4291 2.2 with an embedded IPv4 address), a mailbox of
 * RFC 5321 4.5.3.1.3's 254 octets, and 2048 for URIs (a common limit of HTTP software; SPIFFE
 * IDs are far shorter). Names are checked in full by the policy engine; these bound the input.
 */
export const SAN_MAX_CHARS: Record<keyof SubjectAltNames, number> = {
  dns: 254,
  ip: 45,
  email: 254,
  uri: 2048,
};
