import type { CertificateRepository, IssuerRevocations } from "../repositories";

/**
 * How long a stream of WatchCertificates shows a certificate's status against one read of the
 * revoked CAs: the events of every open stream share it, instead of each message reading the
 * CA table (500 streams, one event: 500 reads). A CA revoked shows in the events sent from
 * then on within this; GetCertificate and ListCertificates read it each time.
 */
export const WATCH_ISSUER_REVOCATIONS_MS = 1000;

interface Held {
  at: number;
  issuers: IssuerRevocations;
  reading?: Promise<IssuerRevocations>;
}

const held = new WeakMap<object, Held>();

/**
 * The CAs revoked or below a revoked CA, as read at most WATCH_ISSUER_REVOCATIONS_MS ago (one
 * read at a time per repository). A read that fails keeps what the last one found (nothing
 * before the first): a watch keeps sending its events, keepalives included, through a
 * database outage, as it did before statuses depended on this read.
 */
export async function recentIssuerRevocations(
  certificates: Pick<CertificateRepository, "revokedIssuers">,
): Promise<IssuerRevocations> {
  let entry = held.get(certificates);
  if (!entry) {
    entry = { at: Number.NEGATIVE_INFINITY, issuers: new Map() };
    held.set(certificates, entry);
  }
  if (performance.now() - entry.at < WATCH_ISSUER_REVOCATIONS_MS) return entry.issuers;
  const current = entry;
  current.reading ??= certificates
    .revokedIssuers()
    .then(
      (issuers) => {
        current.issuers = issuers;
        current.at = performance.now();
        return issuers;
      },
      () => current.issuers,
    )
    .finally(() => {
      current.reading = undefined;
    });
  return current.reading;
}
