import { CertmintError, invalidField, notFound } from "../../errors";
import { isUuid } from "../common/refs";
import type {
  CaRepository,
  Certificate,
  CertificateRepository,
  CertificateRequest,
  RequestRepository,
} from "../repositories";

/**
 * A serial number as a person or a program writes it: hex, any case, with or without colons
 * (OpenSSL) or a 0x prefix (Python's hex()), with or without leading zeros (Go's Text(16),
 * Python's format(n, "x") and Java's toString(16) drop them), into the form certmint stores:
 * the DER INTEGER's content octets (RFC 5280 4.1.2.2: positive, so a 00 sign octet before a
 * first octet with its high bit set, and no other leading zero octet). Until stop 40 of
 * 2026-12-05 only whole octets were accepted, and every certmint serial (017b..., 33
 * significant digits) as those languages print it was refused (an outside probe).
 */
export function normalizeSerial(s: string): string | undefined {
  let hex = s.trim().replace(/:/g, "").toLowerCase();
  if (hex.startsWith("0x")) hex = hex.slice(2);
  if (!/^[0-9a-f]{1,42}$/.test(hex)) return undefined;
  hex = hex.replace(/^0+/, "");
  if (hex === "") return "00";
  if (hex.length % 2 === 1) hex = `0${hex}`;
  if (Number.parseInt(hex[0]!, 16) >= 8) hex = `00${hex}`;
  // At most 20 octets of value (4.1.2.2), besides the sign octet.
  const value = hex.startsWith("00") && hex.length > 2 ? hex.slice(2) : hex;
  return value.length <= 40 ? hex : undefined;
}

/**
 * A certificate by id (UUID) or serial number (unique enough: 96 random bits per serial and second).
 * With `caSerialHint`, a CA certificate's serial is refused pointing at the RPC that revokes CAs.
 */
export async function findCertificate(
  store: {
    certificates: Pick<CertificateRepository, "findById" | "findBySerial">;
    cas: Pick<CaRepository, "findBySerial">;
  },
  ref: string,
  field: string,
  options: { caSerialHint?: boolean } = {},
): Promise<Certificate> {
  const trimmed = ref.trim();
  let found: Certificate | null | undefined;
  if (isUuid(trimmed)) {
    found = await store.certificates.findById(trimmed.toLowerCase());
  } else {
    const serial = normalizeSerial(trimmed);
    if (!serial) {
      throw invalidField(
        "CERTIFICATE_REFERENCE_INVALID",
        `${field} must be a certificate id (UUID) or a hex serial number`,
        field,
        "neither a UUID nor a hex serial",
      );
    }
    const rows = await store.certificates.findBySerial(serial, 2);
    if (rows.length > 1) {
      throw invalidField(
        "SERIAL_AMBIGUOUS",
        `serial ${serial} was issued by more than one CA; use the certificate id`,
        field,
        "ambiguous serial",
      );
    }
    found = rows[0];
  }
  if (!found) {
    if (options.caSerialHint) await refuseCaSerial(store, trimmed, field);
    throw certificateNotFound(trimmed);
  }
  return found;
}

/**
 * NOT_FOUND for a certificate reference (as the caller gave it), and for a certificate request
 * id. Also what an issuer or approver gets for an object on a profile its token does not list
 * (profiles/access.ts): one builder each, so the two answers cannot drift apart.
 */
export const certificateNotFound = (ref: string) =>
  notFound("CERTIFICATE_NOT_FOUND", `no certificate "${ref.trim()}"`);
export const requestNotFound = (id: string) =>
  notFound("CERTIFICATE_REQUEST_NOT_FOUND", `no certificate request ${id}`);

/** A CA certificate's serial names no leaf: INVALID_ARGUMENT pointing at the RPC that revokes CAs. */
async function refuseCaSerial(
  store: { cas: Pick<CaRepository, "findBySerial"> },
  ref: string,
  field: string,
): Promise<void> {
  const serial = normalizeSerial(ref);
  if (!serial) return;
  const ca = await store.cas.findBySerial(serial);
  if (!ca) return;
  throw invalidField(
    "CERTIFICATE_IS_CERTIFICATE_AUTHORITY",
    `serial ${serial} is the certificate of certificate authority "${ca.slug}": revoke it with CertificateAuthorityService.RevokeCertificateAuthority`,
    field,
    "names a CA certificate",
  );
}

/** A certificate request by its id (certificate_request_id, the UUID IssueCertificate returned). */
export async function findRequest(
  store: { requests: Pick<RequestRepository, "findById"> },
  id: string,
): Promise<CertificateRequest> {
  if (!isUuid(id.trim())) {
    throw invalidField(
      "CERTIFICATE_REQUEST_ID_INVALID",
      "certificate_request_id must be the UUID IssueCertificate returned",
      "certificate_request_id",
      "not a UUID",
    );
  }
  const request = await store.requests.findById(id.trim().toLowerCase());
  if (!request) throw requestNotFound(id);
  return request;
}

/** A certificate this call knows exists (it stored or read it), read fresh. */
export async function certificateNamed(
  store: { certificates: Pick<CertificateRepository, "findById"> },
  id: string,
): Promise<Certificate> {
  const cert = await store.certificates.findById(id);
  if (!cert)
    throw new CertmintError("internal", "CERTIFICATE_VANISHED", "the certificate disappeared");
  return cert;
}

/** A request this call knows exists (it recorded or read it), read fresh. */
export async function requestNamed(
  deps: { store: { requests: Pick<RequestRepository, "findById"> } },
  id: string,
): Promise<CertificateRequest> {
  const request = await deps.store.requests.findById(id);
  if (!request) {
    throw new CertmintError("internal", "REQUEST_VANISHED", "the certificate request disappeared");
  }
  return request;
}
