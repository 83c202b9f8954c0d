import { randomUUID } from "node:crypto";
import type { EntityManager } from "@mikro-orm/postgresql";
import { alreadyExists } from "../../errors";
import { CertificatePolicyEntity, type CertificatePolicyRow } from "../../store/entities";
import { recordAudit } from "../audit/record";
import { checkSlug } from "../common/refs";
import { isUniqueViolation } from "../common/unique-violation";
import { compileForRequest } from "./field-paths";
import { specForNewPolicy } from "./rules";
import type { NewPolicyInput, PolicyDeps } from "./types";

/**
 * Creates a policy: the request's rules over the preset's, compiled (every problem reported at
 * once, on the request's proto field paths), stored as the canonical spec compilePolicy returns.
 */
export async function createPolicy(
  deps: PolicyDeps,
  input: NewPolicyInput,
): Promise<CertificatePolicyRow> {
  checkSlug(input.slug, "certificate_policy.slug");
  const compiled = compileForRequest(
    specForNewPolicy(input.rules, input.preset),
    "certificate_policy",
  );
  const em = deps.orm.em.fork();
  await assertSlugFree(em, input.slug);
  const now = deps.now();
  try {
    // The audit record commits with the row (issue 6); created with tx, which flushes it.
    return await em.transactional(async (tx: EntityManager) => {
      const row = tx.create(CertificatePolicyEntity, {
        id: randomUUID(),
        slug: input.slug,
        description: input.description,
        spec: structuredClone(compiled.spec),
        version: 1,
        createdAt: now,
        updatedAt: now,
      });
      await tx.flush();
      await recordAudit(tx, { type: "certificate_policy", id: row.id }, now);
      return row;
    });
  } catch (err) {
    // Two creates racing for one slug: the unique index decides.
    if (isUniqueViolation(err, "certificate_policy_slug_key")) throw slugTaken(input.slug);
    throw err;
  }
}

async function assertSlugFree(em: EntityManager, slug: string): Promise<void> {
  if (await em.count(CertificatePolicyEntity, { slug })) throw slugTaken(slug);
}

const slugTaken = (slug: string) =>
  alreadyExists("CERTIFICATE_POLICY_SLUG_TAKEN", `a certificate policy "${slug}" already exists`);
