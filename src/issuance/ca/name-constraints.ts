import type { NameConstraints } from "../../model/pki";
import { hasNameConstraints, parseCertificate } from "../../signer";
import { forbidKind } from "../policy-engine";
import type { CertificateAuthorityView } from "../repositories";

/** Parsed once per CA certificate: CAs are few and their certificates never change. */
const cache = new Map<string, NameConstraints | null>();

/** The name constraints of a CA's certificate (RFC 5280 4.2.1.10), if it has any. */
export function nameConstraintsOf(
  ca: Pick<CertificateAuthorityView, "id" | "serialNumber" | "certificatePem">,
): NameConstraints | undefined {
  if (!ca.certificatePem) return undefined;
  const key = `${ca.id}:${ca.serialNumber}`;
  let nc = cache.get(key);
  if (nc === undefined) {
    const parsed = parseCertificate(ca.certificatePem).nameConstraints;
    nc = hasNameConstraints(parsed) ? parsed : null;
    cache.set(key, nc);
  }
  return nc ?? undefined;
}

/**
 * CreateIntermediate's constraints as the caller means them: a CA given permitted subtrees of
 * some name kinds "may only certify" those names, so each kind the caller gave no subtree of
 * (permitted or excluded) is forbidden, as a sub-CA issued through a profile forbids the kinds
 * its policy allows nothing of (policy-engine forbidKind, the same subtrees; CA/B BR 7.1.2.10.8,
 * the technically constrained sub-CA). RFC 5280 4.2.1.10 constrains only the kinds that
 * appear, so until stop 44 of 2026-12-06 `--permit-dns example.com` left IP addresses, URIs and
 * email addresses free (an outside probe, E F6). A kind the caller gave a subtree of is bound by
 * those only: to leave IP addresses free, permit 0.0.0.0/0 and ::/0; any kind stays free but
 * for its exclusions when it is given excluded subtrees alone. Constraints with no permitted
 * subtree at all (exclusions only: "everything but these") are left as they are.
 * Email and URI are forbidden by a permitted subtree (nowhere.invalid), which a CA above that
 * permits subtrees of that kind would not contain (RFC 5280 6.1.4 (g): the child would be
 * refused NAME_CONSTRAINTS_EXCEED_ISSUER); below such a CA they are forbidden by excluding its
 * permitted subtrees of that kind instead.
 */
export function forbidUnlistedKinds(
  nc: NameConstraints,
  above: readonly (NameConstraints | undefined)[],
): NameConstraints {
  const kinds = ["dns", "ip", "email", "uri"] as const;
  if (kinds.every((k) => nc.permitted[k].length === 0)) return nc;
  const copy = (s: NameConstraints["permitted"]) => ({
    dns: [...s.dns],
    ip: [...s.ip],
    email: [...s.email],
    uri: [...s.uri],
  });
  const permitted = copy(nc.permitted);
  const excluded = copy(nc.excluded);
  for (const kind of kinds) {
    if (nc.permitted[kind].length > 0 || nc.excluded[kind].length > 0) continue;
    const bound = above.find((c) => (c?.permitted[kind].length ?? 0) > 0);
    if ((kind === "email" || kind === "uri") && bound) {
      // Every name of the kind must lie in one of that CA's permitted subtrees (RFC 5280
      // 6.1.4: the path's permitted subtrees intersect), so excluding them all leaves none;
      // an excluded subtree only narrows, so no CA above can refuse it.
      excluded[kind].push(...bound.permitted[kind]);
      continue;
    }
    forbidKind(kind, permitted, excluded);
  }
  return { permitted, excluded };
}
