import type { Invocation } from "../invocation";

/**
 * The slugs of policies and CAs by id, so that tables show names people recognise (profiles refer
 * to them by id). Best effort: the first 1000 of each; a caller who may not list them (an issuer
 * token) sees ids instead.
 */
export async function policyAndCaSlugs(inv: Invocation): Promise<Map<string, string>> {
  const slugs = new Map<string, string>();
  if (inv.output !== "table") return slugs;
  try {
    const [policies, cas] = await Promise.all([
      inv.rpc(inv.clients.policies, "listCertificatePolicies", { pageSize: 1000, pageToken: "" }),
      inv.rpc(inv.clients.authorities, "listCertificateAuthorities", {
        pageSize: 1000,
        pageToken: "",
        status: 0,
      }),
    ]);
    for (const p of policies.certificatePolicies) slugs.set(p.id, p.slug);
    for (const ca of cas.certificateAuthorities) slugs.set(ca.id, ca.slug);
  } catch {
    // ids it is
  }
  return slugs;
}
