import { failedPrecondition, invalidField } from "../../errors";
import {
  assertConstraintsWithin,
  canonicalNameConstraints,
  computeValidity,
  issueCertificate,
  type KeyGenerator,
  newSerialNumber,
} from "../../signer";
import type { Call } from "../call";
import { newRowId } from "../common/ids";
import { resolveRef } from "../common/refs";
import type { CaRepository, CertificateAuthority, CertificateAuthorityView } from "../repositories";
import { assertWithinExplicitPolicy } from "./explicit-policy";
import type { CaKeyring } from "./keyring";
import { caIssuer, noteRevokedAbove, requireActive } from "./load";
import { forbidUnlistedKinds } from "./name-constraints";
import {
  assertSlugFree,
  assertSubjectFree,
  CA_KEYS,
  caSubjectAltNames,
  checkNewCa,
  type NewCaPlan,
  type NewCaStore,
  newCaRecord,
  OWN_CA_KEY_USAGES,
  storeNewCa,
} from "./new-ca";
import { publicationUrls } from "./publication-urls";
import { INTERMEDIATE_DEFAULT_TTL, type NewIntermediateInput } from "./types";

export interface CreateIntermediateDeps {
  store: NewCaStore & { cas: Pick<CaRepository, "find"> };
  keyring: Pick<CaKeyring, "seal" | "signerFor">;
  keys: Pick<KeyGenerator, "generate">;
  now: () => Date;
  publicBaseUrl?: string;
}

/** CreateIntermediateCertificateAuthority: signed by an ACTIVE CA here whose path length allows it. */
export async function createIntermediateCa(
  deps: CreateIntermediateDeps,
  call: Call,
  input: NewIntermediateInput,
): Promise<CertificateAuthorityView> {
  // 1. Every check that needs no database; every subtree checked (INVALID_ARGUMENT naming it).
  const plan = checkNewCa(input, INTERMEDIATE_DEFAULT_TTL);
  const requested = input.nameConstraints && canonicalNameConstraints(input.nameConstraints);
  // 2. The parent may sign it; the slug is free.
  const parent = await resolveRef(
    input.parent,
    "certificate authority",
    "parent_certificate_authority",
    (k) => deps.store.cas.find(k),
  );
  await noteRevokedAbove(deps.store.cas, parent);
  checkParent(parent, input.maxPathLength);
  const maxPathLength = input.maxPathLength ?? below(parent.maxPathLength);
  // A requireExplicitPolicy on the parent's path (an outside chain's) must not reach the new
  // CA's leaves, nor what its path length allows below it (RFC 5280 4.2.1.11, 6.1.5 (g)).
  assertWithinExplicitPolicy(
    parent,
    { kind: "ca", pathLength: maxPathLength, certmintSigns: true },
    "max_path_length",
  );
  await assertSlugFree(deps.store, input.slug);
  await assertSubjectFree(deps.store.cas, parent.id, input.subject, deps.store.certificates);
  // 3. The kinds of name the caller left out are forbidden when some are permitted
  // (forbidUnlistedKinds); the parent's (and its ancestors') name constraints contain the new
  // CA's; then the key pair, and the certificate the parent signs.
  const issuer = caIssuer(deps, parent);
  const nameConstraints =
    requested &&
    forbidUnlistedKinds(requested, [
      issuer.certificate?.nameConstraints,
      ...issuer.constrainingAncestors.map((c) => c.nameConstraints),
    ]);
  assertConstraintsWithin(issuer, nameConstraints);
  const { privateKey, publicKey } = await deps.keys.generate(plan.keyAlgorithm, CA_KEYS);
  const now = deps.now();
  const cert = await issueCertificate({
    subject: input.subject,
    sans: caSubjectAltNames(input.subject),
    publicKey,
    serial: newSerialNumber(),
    ...intermediateValidity(
      issuer.pathNotAfter ?? parent.notAfter,
      issuer.pathNotBefore ?? parent.notBefore ?? undefined,
      input.ttlSeconds,
      plan,
      now,
    ),
    isCa: true,
    pathLength: maxPathLength,
    nameConstraints,
    keyUsages: OWN_CA_KEY_USAGES,
    extendedKeyUsages: [],
    signatureAlgorithm: parent.signatureAlgorithm,
    issuer,
    ...publicationUrls(deps, parent.id),
  });
  // 4. One row, the key sealed, with its audit record.
  const id = newRowId();
  return storeNewCa(
    deps,
    call,
    newCaRecord({
      id,
      slug: input.slug,
      description: input.description,
      type: "INTERMEDIATE",
      status: "ACTIVE",
      subject: input.subject,
      keyAlgorithm: plan.keyAlgorithm,
      signatureAlgorithm: plan.signatureAlgorithm,
      parentId: parent.id,
      certificatePem: cert.pem,
      chainPem: [parent.certificatePem!, ...parent.chainPem],
      serialNumber: cert.serialHex,
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
      maxPathLength: maxPathLength ?? null,
      csrPem: null,
      sealedPrivateKey: deps.keyring.seal(id, privateKey),
      createdAt: now,
      updatedAt: now,
    }),
    // Its name constraints live only in its certificate, which the record leaves out: until
    // stop 43 of 2026-12-06 an auditor could not see them in the trail (an outside probe).
    nameConstraints ? { nameConstraints } : {},
  );
}

/**
 * The parent signs only while ACTIVE, and only below its path length (RFC 5280 4.2.1.9:
 * pathLenConstraint 0 means no CA may follow; a sub-CA's limit must be below its parent's so
 * the whole path stays within the parent's constraint).
 */
function checkParent(parent: CertificateAuthority, maxPathLength: number | undefined): void {
  requireActive(parent);
  if (parent.maxPathLength === null) return;
  if (parent.maxPathLength === 0) {
    throw failedPrecondition(
      "PARENT_PATH_LENGTH_EXHAUSTED",
      `CA "${parent.slug}" has path length 0: it cannot sign a CA certificate`,
      {
        preconditions: [
          {
            type: "CA_PATH_LENGTH",
            subject: `certificate_authorities/${parent.slug}`,
            description: "pathLenConstraint is 0",
          },
        ],
      },
    );
  }
  if (maxPathLength !== undefined && maxPathLength >= parent.maxPathLength) {
    throw invalidField(
      "PATH_LENGTH_TOO_LARGE",
      `max_path_length must be below the parent's (${parent.maxPathLength})`,
      "max_path_length",
      `at most ${parent.maxPathLength - 1}`,
    );
  }
}

/** One below the parent's path length; none when the parent has none. */
const below = (parentPathLength: number | null) =>
  parentPathLength === null ? undefined : parentPathLength - 1;

/**
 * Without an explicit ttl, the default lifetime is cut to what the parent has left; an explicit
 * ttl past the parent's notAfter is refused (RFC 5280 6.1: validity nests).
 */
function intermediateValidity(
  /** The parent's, or the earliest on its path (an outside chain's): signer/issuer.ts. */
  parentNotAfter: Date | null,
  /** The latest notBefore on the parent's path: the child starts no earlier. */
  parentNotBefore: Date | undefined,
  ttlSeconds: number | undefined,
  plan: NewCaPlan,
  now: Date,
) {
  const remaining = parentNotAfter
    ? Math.floor((parentNotAfter.getTime() - now.getTime()) / 1000)
    : Infinity;
  return computeValidity({
    now,
    ttlSeconds:
      ttlSeconds === undefined
        ? Math.max(1, Math.min(plan.ttlSeconds, remaining))
        : plan.ttlSeconds,
    issuerNotAfter: parentNotAfter ?? undefined,
    issuerNotBefore: parentNotBefore,
  });
}
