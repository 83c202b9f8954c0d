/**
 * Where a CA's CRL and certificate are published, when a public base URL is configured: the
 * CRL distribution point (RFC 5280 4.2.1.13) and AIA caIssuers (4.2.2.1) of what it signs, the
 * URLs src/server/publication.ts serves; and its OCSP responder (AIA id-ad-ocsp, 4.2.2.1), when
 * one is configured (one URL answers for every CA: an OCSP request names its issuer).
 */
export function publicationUrls(
  urls: { publicBaseUrl?: string; ocspUrl?: string },
  caId: string,
): { crlDistributionUrl?: string; caIssuersUrl?: string; ocspUrl?: string } {
  return {
    ...(urls.publicBaseUrl
      ? {
          crlDistributionUrl: `${urls.publicBaseUrl}/crl/${caId}.crl`,
          caIssuersUrl: `${urls.publicBaseUrl}/ca/${caId}.crt`,
        }
      : {}),
    ...(urls.ocspUrl ? { ocspUrl: urls.ocspUrl } : {}),
  };
}
