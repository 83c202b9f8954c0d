import type { Call } from "../call";
import { certificateNamed } from "../certificates/find";
import { findCertificateFor } from "../profiles/access";
import {
  type CaRepository,
  type CertificateRepository,
  type CertificateView,
  certificateView,
} from "../repositories";

/**
 * GetCurrentCertificate: the newest certificate of a lineage (the successors of the
 * certificate named, by id or serial, along renewed_by_id), found in a constant number of
 * lookups however long the lineage (newestSuccessorOf). A profile-scoped token sees only the
 * lineages of its profiles: another profile's certificate is NOT_FOUND, as a missing one.
 */
export async function currentCertificate(
  deps: {
    store: {
      certificates: Pick<CertificateRepository, "findById" | "findBySerial" | "newestSuccessorOf">;
      cas: Pick<CaRepository, "findBySerial">;
    };
  },
  call: Call,
  ref: string,
): Promise<CertificateView> {
  const { store } = deps;
  const start = await findCertificateFor(store, call, ref, "certificate");
  const newest = await store.certificates.newestSuccessorOf(start.id);
  return certificateView(newest === start.id ? start : await certificateNamed(store, newest));
}
