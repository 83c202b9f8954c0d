import { invalidField } from "../../errors";
import { REQUEST_ID_MAX_LENGTH } from "../../issuance/certificates/idempotency";
import { hasControlCharacters } from "../../issuance/common/text";

/**
 * A request's `request_id`: an idempotency key of the calling access token (IssueCertificate,
 * RenewCertificate, CreateAccessToken); empty or unset means none.
 */
export function requestIdOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (value.length > REQUEST_ID_MAX_LENGTH || hasControlCharacters(value)) {
    throw invalidField(
      "REQUEST_ID_INVALID",
      `request_id must be 1-${REQUEST_ID_MAX_LENGTH} printable characters`,
      "request_id",
      "too long or not printable",
    );
  }
  return value;
}
