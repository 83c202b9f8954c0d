import { CertmintError, quoted } from "../../errors";

/** The etag of a row is its version number, quoted (RFC 9110 8.8.3 strong validator form). */
export const etagOf = (version: number): string => `"${version}"`;

/** An update or delete that carries an etag must name the current version (AIP-154). */
export function checkEtag(given: string, version: number, what: string): void {
  if (given !== "" && given !== etagOf(version)) {
    throw new CertmintError(
      "aborted",
      "ETAG_MISMATCH",
      `the ${what} changed since it was read (etag ${quoted(given)}, now ${etagOf(version)}): read it again and retry`,
    );
  }
}
