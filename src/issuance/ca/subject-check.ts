import { CertmintError, type FieldViolation, fieldViolation, invalidArgument } from "../../errors";
import { countryCodeHint, isCountryCode } from "../../model/country-codes";
import { SUBJECT_ATTRIBUTE_UPPER_BOUNDS, type SubjectName } from "../../model/pki";
import { hasControlCharacters } from "../common/text";
import { parseEmail } from "../policy-engine/email-match";

const UPPER_BOUND = SUBJECT_ATTRIBUTE_UPPER_BOUNDS;
/** U+2028 and U+2029: a viewer or log pipeline that splits lines on them shows another value. */
const LINE_BREAKS = /[\p{Zl}\p{Zp}]/u;

/** Checks a CA subject: not empty (RFC 5280 4.1.2.6), values within their bounds. */
export function checkCaSubject(subject: SubjectName, field = "subject"): void {
  const violations: FieldViolation[] = [];
  if (subject.attributes.length === 0) {
    violations.push(
      fieldViolation(
        field,
        "SUBJECT_REQUIRED",
        "a CA certificate needs a subject (RFC 5280 4.1.2.6): give at least a common name",
      ),
    );
  }
  for (const { type, value } of subject.attributes) {
    const f = `${field}.${type.toLowerCase()}`;
    if (value.trim() === "" || hasControlCharacters(value)) {
      violations.push(
        fieldViolation(f, "SUBJECT_VALUE_INVALID", "must be non-empty printable text"),
      );
    } else if (value.trim() !== value || LINE_BREAKS.test(value)) {
      // As a leaf's values (policy-engine/value-match.ts); until a review of stop 43 of
      // 2026-12-06 a CA could be named "Issuing CA " (zlint: w_subject_dn_trailing_whitespace).
      violations.push(
        fieldViolation(
          f,
          "SUBJECT_VALUE_INVALID",
          "must not start or end with white space, nor hold a line or paragraph separator",
        ),
      );
    } else if (value.length > (UPPER_BOUND[type] ?? 64)) {
      violations.push(
        fieldViolation(
          f,
          "SUBJECT_VALUE_TOO_LONG",
          `at most ${UPPER_BOUND[type]} characters (RFC 5280 Appendix A)`,
        ),
      );
    } else if (type === "EMAIL_ADDRESS" && !parseEmail(value).ok) {
      // Read as a leaf's is (policy-engine/email-match.ts); until 2026-12-05 any text went
      // into the CA certificate's emailAddress.
      const parsed = parseEmail(value);
      const why = parsed.ok ? "" : `: it ${parsed.error}`;
      violations.push(fieldViolation(f, "SUBJECT_VALUE_INVALID", `must be an email address${why}`));
    } else if (type === "COUNTRY" && !isCountryCode(value)) {
      violations.push(
        fieldViolation(
          f,
          "SUBJECT_VALUE_INVALID",
          `an ISO 3166-1 alpha-2 code in capitals, e.g. DE${countryCodeHint(value)}`,
        ),
      );
    }
  }
  if (violations.length > 0) {
    throw invalidArgument(
      "SUBJECT_INVALID",
      `the subject is not valid: ${violations.map((v) => `${v.field}: ${v.description}`).join("; ")}`,
      { violations },
    );
  }
}

/**
 * checkCaSubject's findings as field violations instead of a refusal, for a caller that
 * reports them with others (the import of a CA certificate signed outside); empty when the
 * subject passes.
 */
export function caSubjectViolations(subject: SubjectName, field = "subject"): FieldViolation[] {
  try {
    checkCaSubject(subject, field);
    return [];
  } catch (err) {
    if (err instanceof CertmintError) return err.violations;
    throw err;
  }
}

/**
 * Why a value of a CA name that certmint cannot represent as a SubjectName (a DC attribute, a
 * multi-valued RDN) is refused, by the rules checkCaSubject applies to every value so nothing
 * injects a line or a blank into a display or log; undefined when it passes.
 */
export function caNameValueProblem(value: string): string | undefined {
  if (value.trim() === "" || hasControlCharacters(value)) return "must be non-empty printable text";
  if (value.trim() !== value || LINE_BREAKS.test(value)) {
    return "must not start or end with white space, nor hold a line or paragraph separator";
  }
  return undefined;
}
