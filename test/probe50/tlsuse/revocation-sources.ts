/**
 * Probe 50 (TLSUSE): where a relying party gets revocation status of a certmint certificate:
 * the CRL at the certificate's own distribution point (the publication port, DER), the CRL over
 * GetCertificateRevocationList, and the OCSP responder named in its AIA (`openssl ocsp`).
 */
import { GetCertificateRevocationListRequest } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import type { LiveCertmint } from "../../probe49/cert/live";
import { call } from "../../support/harness";
import { openssl, opensslOk, type RunResult, type TempDir } from "../../support/openssl";

/** The CRL at the distribution point of the certificate `pem`, fetched over HTTP, as PEM. */
export async function publishedCrlOf(tmp: TempDir, pem: string): Promise<string> {
  const text = opensslOk([
    "x509",
    "-noout",
    "-ext",
    "crlDistributionPoints",
    "-in",
    tmp.file("c.pem", pem),
  ]);
  const url = /URI:(\S+)/.exec(text)?.[1];
  if (!url) throw new Error(`no CRL distribution point:\n${text}`);
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
  const der = Buffer.from(await res.arrayBuffer());
  return opensslOk(["crl", "-inform", "DER", "-in", tmp.file("c.der", der)]);
}

/** The CRL of `ca` (id or slug) over gRPC, as PEM. */
export async function crlOverRpc(live: LiveCertmint, ca: string): Promise<string> {
  const res = await call(
    live.authorities,
    "getCertificateRevocationList",
    GetCertificateRevocationListRequest.fromPartial({ certificateAuthority: ca }),
  );
  return res.crlPem;
}

/**
 * `openssl ocsp` for the certificate in `certFile` at the responder its AIA names, the response
 * verified with the root as anchor and the issuer (its signer) as an untrusted certificate.
 */
export function ocspAtAia(
  tmp: TempDir,
  o: { certFile: string; issuerPem: string; rootFile: string; extra?: string[] },
): RunResult {
  const url = opensslOk(["x509", "-noout", "-ocsp_uri", "-in", o.certFile]).trim();
  const issuer = tmp.file("issuer.pem", o.issuerPem);
  return openssl([
    "ocsp",
    "-issuer",
    issuer,
    "-cert",
    o.certFile,
    "-url",
    url,
    "-CAfile",
    o.rootFile,
    "-verify_other",
    issuer,
    ...(o.extra ?? []),
  ]);
}
