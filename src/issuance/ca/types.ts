import type {
  KeyAlgorithm,
  NameConstraints,
  SignatureAlgorithm,
  SubjectName,
} from "../../model/pki";

import type { CaStatus } from "../repositories";

export type { CaStatus, CaType } from "../repositories";

export interface NewCaInput {
  slug: string;
  description: string;
  subject: SubjectName;
  keyAlgorithm?: KeyAlgorithm;
  signatureAlgorithm?: SignatureAlgorithm;
  ttlSeconds?: number;
  maxPathLength?: number;
}

export interface NewIntermediateInput extends NewCaInput {
  /** The parent CA, by id or slug. */
  parent: string;
  /** Written (critical) into the intermediate's certificate; RFC 5280 4.2.1.10. */
  nameConstraints?: NameConstraints;
}

export interface ImportCaCertificateInput {
  ca: string;
  certificatePem: string;
  chainPem: string[];
}

export interface UpdateCaInput {
  ca: string;
  /** The slug the request gave beside an id: must be that CA's (refs.ts updateTarget). */
  namedSlug?: string;
  /** Only the fields present change. */
  status?: CaStatus;
  description?: string;
  etag: string;
}

/** Lifetimes of CA certificates (RFC 5280 does not bound them; these are sane defaults). */
export const ROOT_DEFAULT_TTL = 10 * 365 * 86_400;
export const INTERMEDIATE_DEFAULT_TTL = 5 * 365 * 86_400;
export const CA_MAX_TTL = 30 * 365 * 86_400;
export const CA_MIN_TTL = 3_600;
