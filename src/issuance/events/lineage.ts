import type { Call } from "../call";
import { certificateNamed, findCertificate } from "../certificates/find";
import { requireProfileAccessById } from "../profiles/access";
import {
  type CaRepository,
  type CertificateRepository,
  type CertificateView,
  certificateView,
  type ProfileRepository,
} from "../repositories";

/**
 * GetCurrentCertificate: the newest certificate of a lineage (the successors of the
 * certificate named, by id or serial, along renewed_by_id), found in a constant number of
 * lookups however long the lineage (newestSuccessorOf). A profile-scoped token sees only the
 * lineages of its profiles.
 */
export async function currentCertificate(
  deps: {
    store: {
      certificates: Pick<CertificateRepository, "findById" | "findBySerial" | "newestSuccessorOf">;
      cas: Pick<CaRepository, "findBySerial">;
      profiles: Pick<ProfileRepository, "find">;
    };
  },
  call: Call,
  ref: string,
): Promise<CertificateView> {
  const { store } = deps;
  const start = await findCertificate(store, ref, "certificate");
  await requireProfileAccessById(store, call, start.profileId);
  const newest = await store.certificates.newestSuccessorOf(start.id);
  return certificateView(newest === start.id ? start : await certificateNamed(store, newest));
}
