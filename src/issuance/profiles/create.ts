import { randomUUID } from "node:crypto";
import { alreadyExists } from "../../errors";
import { CertificateProfileEntity, type CertificateProfileRow } from "../../store/entities";
import { recordAudit } from "../audit/record";
import { checkSlug } from "../common/refs";
import { isUniqueViolation } from "../common/unique-violation";
import type { NewProfileInput, ProfileDeps } from "./inputs";
import { checkProfile } from "./validate";

/**
 * Creates a profile. INVALID_ARGUMENT when it is malformed or its defaults break its own policy;
 * NOT_FOUND for a missing policy or CA; ALREADY_EXISTS for a taken slug. Check and insert run in
 * one transaction that holds the policy row locked (validate.ts).
 */
export async function createProfile(
  deps: ProfileDeps,
  input: NewProfileInput,
): Promise<CertificateProfileRow> {
  checkSlug(input.slug, "certificate_profile.slug");
  try {
    return await deps.orm.em.fork().transactional(async (tx) => {
      if (await tx.count(CertificateProfileEntity, { slug: input.slug })) {
        throw slugTaken(input.slug);
      }
      const checked = await checkProfile(tx, input);
      const now = deps.now();
      const row = tx.create(CertificateProfileEntity, {
        id: randomUUID(),
        slug: input.slug,
        ...checked,
        defaults: checked.defaults,
        renewal: checked.renewal,
        version: 1,
        createdAt: now,
        updatedAt: now,
      });
      await tx.flush();
      // The audit record commits with the row (issue 6).
      await recordAudit(tx, { type: "certificate_profile", id: row.id }, now);
      return row;
    });
  } catch (err) {
    // Two creates racing for one slug: the unique index decides.
    if (isUniqueViolation(err, "certificate_profile_slug_key")) throw slugTaken(input.slug);
    throw err;
  }
}

const slugTaken = (slug: string) =>
  alreadyExists("CERTIFICATE_PROFILE_SLUG_TAKEN", `a certificate profile "${slug}" already exists`);
