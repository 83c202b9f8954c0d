import type {
  EnrollmentMethod,
  PrivateKeyRetention,
  ProfileDefaults,
  RenewalSettings,
  ValidityOverflow,
} from "../profiles/types";
import type { PageQuery, RowKey } from "./paging";

/** A profile: policy + issuer (a CA, or self-signed) + enrollment method + defaults. */
export interface CertificateProfile {
  id: string;
  slug: string;
  description: string;
  policyId: string;
  /** The issuing CA; null when self-signed. */
  caId: string | null;
  selfSigned: boolean;
  enrollmentMethod: EnrollmentMethod;
  /** As profiles/validate.ts stores them: set fields only. */
  defaults: ProfileDefaults;
  /** As stored; read it with profiles/load.ts storedRenewal (older rows lack new settings). */
  renewal: RenewalSettings;
  requireApproval: boolean;
  allowSelfApproval: boolean;
  validityOverflow: ValidityOverflow;
  privateKeyRetention: PrivateKeyRetention;
  /** ACME profiles: new accounts need an External Account Binding key (RFC 8555 7.3.4). */
  acmeRequireEab: boolean;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** The columns a profile check decides (identity, version and timestamps aside). */
export type ProfileSettings = Omit<
  CertificateProfile,
  "id" | "slug" | "version" | "createdAt" | "updatedAt"
>;

export interface ProfileRepository {
  find(key: RowKey): Promise<CertificateProfile | null>;
  slugTaken(slug: string): Promise<boolean>;
  /** UniqueConflict("slug") when a racing create took the slug. */
  insert(profile: CertificateProfile): Promise<void>;
  /** Re-reads the row locked until the transaction ends (FOR UPDATE); null when it is gone. */
  lockForUpdate(id: string): Promise<CertificateProfile | null>;
  /**
   * Re-reads the row locked against other edits and its deletion until the transaction ends,
   * but not against the requests that wait for approval, which hold it FOR KEY SHARE (FOR NO
   * KEY UPDATE); null when it is gone.
   */
  lockForEdit(id: string): Promise<CertificateProfile | null>;
  /** Changes the row if it still has `version`; false otherwise. */
  update(
    id: string,
    version: number,
    changes: ProfileSettings & Pick<CertificateProfile, "version" | "updatedAt">,
  ): Promise<boolean>;
  /** False when the version moved on. */
  delete(id: string, version: number): Promise<boolean>;
  /** The profiles that use a policy, oldest first. */
  usingPolicy(policyId: string): Promise<CertificateProfile[]>;
  /** Slugs of the profiles that issue with a CA, by slug. */
  slugsUsingCa(caId: string): Promise<string[]>;
  listOldestFirst(page: PageQuery): Promise<CertificateProfile[]>;
}
