/**
 * Where a CA's CRL and certificate are published, when a public base URL is configured: the
 * CRL distribution point (RFC 5280 4.2.1.13) and AIA caIssuers (4.2.2.1) of what it signs, the
 * URLs src/server/publication.ts serves.
 */
export function publicationUrls(
  publicBaseUrl: string | undefined,
  caId: string,
): { crlDistributionUrl?: string; caIssuersUrl?: string } {
  if (!publicBaseUrl) return {};
  return {
    crlDistributionUrl: `${publicBaseUrl}/crl/${caId}.crl`,
    caIssuersUrl: `${publicBaseUrl}/ca/${caId}.crt`,
  };
}
