/**
 * The certificate policy engine: a pure domain module (no database, gRPC or crypto).
 * compilePolicy checks a spec once; evaluate lists every violation of a request.
 * The semantics are documented in types.ts.
 */

export { type CompiledPolicy, compilePolicy, isCompiledPolicy, RSA_FLOOR_BITS } from "./compile";
export { evaluate } from "./evaluate";
export {
  MAX_NON_ASCII_PER_REQUEST,
  nameNormalisationBudget,
  normalisedCharacters,
} from "./idna-budget";
export { forbidKind, nameConstraintsFor } from "./name-constraints";
export {
  type NormalizeResult,
  normalizeDnsName,
  normalizeEmail,
  normalizeIp,
  normalizeUri,
} from "./normalize";
export {
  CA_KEY_USAGES,
  defaultUsagesFor,
  PRESET_NAMES,
  type PresetName,
  presetSpec,
} from "./presets";
export {
  normalizedSubject,
  readSubjectName,
  type SubjectNameReading,
  subjectNamesToCopy,
} from "./subject-names";
export {
  CA_RULES,
  type CaRule,
  type NameRule,
  POLICY_SPEC_REASONS,
  type PolicyRequest,
  type PolicySpec,
  type PolicySpecReason,
  SAN_TYPES,
  type SanType,
  SUBJECT_NAMES_IN_SANS,
  type SubjectNamesInSans,
  type UsageRule,
  type ValueRule,
  VIOLATION_REASONS,
  type ViolationReason,
} from "./types";
