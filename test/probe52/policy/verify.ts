/**
 * What the POLICY probe asks of every certificate it gets: an independent strict verifier's
 * verdict (`openssl verify -x509_strict`, name constraints included) and the SANs as OpenSSL
 * prints them.
 */
import { openssl, opensslOk, type TempDir } from "../../support/openssl";

let n = 0;

/**
 * `openssl verify -x509_strict` of `leafPem` against trusted `roots`, with `untrusted`
 * intermediates and optional extra options (`-verify_hostname x`); stdout and stderr together.
 */
export function strictVerify(
  tmp: TempDir,
  leafPem: string,
  roots: string[],
  untrusted: string[] = [],
  extra: string[] = [],
): string {
  n += 1;
  const args = ["verify", "-x509_strict", "-CAfile", tmp.file(`roots-${n}.pem`, roots.join(""))];
  if (untrusted.length > 0) args.push("-untrusted", tmp.file(`inter-${n}.pem`, untrusted.join("")));
  const r = openssl([...args, ...extra, tmp.file(`leaf-${n}.pem`, leafPem)]);
  return `${r.stdout}${r.stderr}`;
}

/** The subjectAltName line of `openssl x509 -text` ("" when there is none). */
export function sanText(tmp: TempDir, pem: string): string {
  n += 1;
  const text = opensslOk([
    "x509",
    "-noout",
    "-ext",
    "subjectAltName",
    "-in",
    tmp.file(`c-${n}.pem`, pem),
  ]);
  return text.split("\n").slice(1).join(" ").trim();
}

/** The subject as `openssl x509 -subject -nameopt RFC2253` prints it, without "subject=". */
export function subjectText(tmp: TempDir, pem: string): string {
  n += 1;
  const text = opensslOk([
    "x509",
    "-noout",
    "-subject",
    "-nameopt",
    "RFC2253",
    "-in",
    tmp.file(`s-${n}.pem`, pem),
  ]);
  return text.replace(/^subject=/, "").trim();
}
