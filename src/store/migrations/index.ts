import type { MigrationObject } from "@mikro-orm/core";
import { Migration20261126000000Initial } from "./Migration20261126000000Initial";
import { Migration20261126010000KekCheck } from "./Migration20261126010000KekCheck";
import { Migration20261126020000NameSearch } from "./Migration20261126020000NameSearch";
import { Migration20261127000000AccessAudit } from "./Migration20261127000000AccessAudit";
import { Migration20261202010000ClientCertificateBinding } from "./Migration20261202010000ClientCertificateBinding";
import { Migration20261202030000OwnershipAndRevocation } from "./Migration20261202030000OwnershipAndRevocation";
import { Migration20261202100000RenewalAndEvents } from "./Migration20261202100000RenewalAndEvents";
import { Migration20261202110000OcspResponder } from "./Migration20261202110000OcspResponder";
import { Migration20261202120000Acme } from "./Migration20261202120000Acme";
import { Migration20261202130000FlatReads } from "./Migration20261202130000FlatReads";
import { Migration20261202170000NameSearchGist } from "./Migration20261202170000NameSearchGist";
import { Migration20261202180000CrlEntries } from "./Migration20261202180000CrlEntries";
import { Migration20261203000000AcmeChallengeStarted } from "./Migration20261203000000AcmeChallengeStarted";
import { Migration20261203100000FingerprintIndex } from "./Migration20261203100000FingerprintIndex";
import { Migration20261203110000CertificateInline } from "./Migration20261203110000CertificateInline";
import { Migration20261204000000CertificateLineage } from "./Migration20261204000000CertificateLineage";
import { Migration20261204100000WatchAndSweepIndexes } from "./Migration20261204100000WatchAndSweepIndexes";
import { Migration20261204200000RenewAtStable } from "./Migration20261204200000RenewAtStable";
import { Migration20261204300000CrlThisUpdate } from "./Migration20261204300000CrlThisUpdate";
import { Migration20261205000000BlockedKeys } from "./Migration20261205000000BlockedKeys";
import { Migration20261205100000RequestQueue } from "./Migration20261205100000RequestQueue";
import { Migration20261205200000NameSearchWords } from "./Migration20261205200000NameSearchWords";
import { Migration20261205300000CaSigningGuard } from "./Migration20261205300000CaSigningGuard";
import { Migration20261205400000RenewalClaimByProfile } from "./Migration20261205400000RenewalClaimByProfile";
import { Migration20261205500000KeyCompromiseBackfill } from "./Migration20261205500000KeyCompromiseBackfill";
import { Migration20261206100000HoldRelease } from "./Migration20261206100000HoldRelease";
import { Migration20261206110000AuditChangesTokenRequests } from "./Migration20261206110000AuditChangesTokenRequests";
import { Migration20261206120000TokenSaltIndex } from "./Migration20261206120000TokenSaltIndex";
import { Migration20261206130000CaCertificateIndex } from "./Migration20261206130000CaCertificateIndex";
import { Migration20261206140000KekIdGuard } from "./Migration20261206140000KekIdGuard";
import { Migration20261206150000DisableBelowRevoked } from "./Migration20261206150000DisableBelowRevoked";
import { Migration20261206153000CertificateProfileGuard } from "./Migration20261206153000CertificateProfileGuard";
import { Migration20261206160000RequestClaimedBy } from "./Migration20261206160000RequestClaimedBy";
import { Migration20261206170000AccessTokenCreatorIndex } from "./Migration20261206170000AccessTokenCreatorIndex";
import { Migration20261206180000AcmeAdministration } from "./Migration20261206180000AcmeAdministration";
import { Migration20261206190000AcmeEabKeyCreatorIndex } from "./Migration20261206190000AcmeEabKeyCreatorIndex";
import { Migration20261207020000AcmeAccountKeyIndex } from "./Migration20261207020000AcmeAccountKeyIndex";
import { Migration20261207200000CredentialLifetime } from "./Migration20261207200000CredentialLifetime";
import { Migration20261207210000LegacyCredentialLifetime } from "./Migration20261207210000LegacyCredentialLifetime";
import { Migration20261207220000InvalidityDate } from "./Migration20261207220000InvalidityDate";
import { Migration20261207235900LineCut } from "./Migration20261207235900LineCut";

/**
 * Every migration, in order. Listed explicitly (not discovered on disk) so the same list
 * works under tsx, vitest and compiled JavaScript.
 */
export const MIGRATIONS: MigrationObject[] = [
  { name: "Migration20261126000000Initial", class: Migration20261126000000Initial },
  { name: "Migration20261126010000KekCheck", class: Migration20261126010000KekCheck },
  { name: "Migration20261126020000NameSearch", class: Migration20261126020000NameSearch },
  { name: "Migration20261127000000AccessAudit", class: Migration20261127000000AccessAudit },
  {
    name: "Migration20261202010000ClientCertificateBinding",
    class: Migration20261202010000ClientCertificateBinding,
  },
  {
    name: "Migration20261202030000OwnershipAndRevocation",
    class: Migration20261202030000OwnershipAndRevocation,
  },
  {
    name: "Migration20261202100000RenewalAndEvents",
    class: Migration20261202100000RenewalAndEvents,
  },
  { name: "Migration20261202110000OcspResponder", class: Migration20261202110000OcspResponder },
  { name: "Migration20261202120000Acme", class: Migration20261202120000Acme },
  { name: "Migration20261202130000FlatReads", class: Migration20261202130000FlatReads },
  { name: "Migration20261202170000NameSearchGist", class: Migration20261202170000NameSearchGist },
  { name: "Migration20261202180000CrlEntries", class: Migration20261202180000CrlEntries },
  {
    name: "Migration20261203000000AcmeChallengeStarted",
    class: Migration20261203000000AcmeChallengeStarted,
  },
  {
    name: "Migration20261203100000FingerprintIndex",
    class: Migration20261203100000FingerprintIndex,
  },
  {
    name: "Migration20261203110000CertificateInline",
    class: Migration20261203110000CertificateInline,
  },
  {
    name: "Migration20261204000000CertificateLineage",
    class: Migration20261204000000CertificateLineage,
  },
  {
    name: "Migration20261204100000WatchAndSweepIndexes",
    class: Migration20261204100000WatchAndSweepIndexes,
  },
  { name: "Migration20261204200000RenewAtStable", class: Migration20261204200000RenewAtStable },
  { name: "Migration20261204300000CrlThisUpdate", class: Migration20261204300000CrlThisUpdate },
  { name: "Migration20261205000000BlockedKeys", class: Migration20261205000000BlockedKeys },
  { name: "Migration20261205100000RequestQueue", class: Migration20261205100000RequestQueue },
  { name: "Migration20261205200000NameSearchWords", class: Migration20261205200000NameSearchWords },
  { name: "Migration20261205300000CaSigningGuard", class: Migration20261205300000CaSigningGuard },
  {
    name: "Migration20261205400000RenewalClaimByProfile",
    class: Migration20261205400000RenewalClaimByProfile,
  },
  {
    name: "Migration20261205500000KeyCompromiseBackfill",
    class: Migration20261205500000KeyCompromiseBackfill,
  },
  { name: "Migration20261206100000HoldRelease", class: Migration20261206100000HoldRelease },
  {
    name: "Migration20261206110000AuditChangesTokenRequests",
    class: Migration20261206110000AuditChangesTokenRequests,
  },
  { name: "Migration20261206120000TokenSaltIndex", class: Migration20261206120000TokenSaltIndex },
  {
    name: "Migration20261206130000CaCertificateIndex",
    class: Migration20261206130000CaCertificateIndex,
  },
  { name: "Migration20261206140000KekIdGuard", class: Migration20261206140000KekIdGuard },
  {
    name: "Migration20261206150000DisableBelowRevoked",
    class: Migration20261206150000DisableBelowRevoked,
  },
  {
    name: "Migration20261206153000CertificateProfileGuard",
    class: Migration20261206153000CertificateProfileGuard,
  },
  {
    name: "Migration20261206160000RequestClaimedBy",
    class: Migration20261206160000RequestClaimedBy,
  },
  {
    name: "Migration20261206170000AccessTokenCreatorIndex",
    class: Migration20261206170000AccessTokenCreatorIndex,
  },
  {
    name: "Migration20261206180000AcmeAdministration",
    class: Migration20261206180000AcmeAdministration,
  },
  {
    name: "Migration20261206190000AcmeEabKeyCreatorIndex",
    class: Migration20261206190000AcmeEabKeyCreatorIndex,
  },
  {
    name: "Migration20261207020000AcmeAccountKeyIndex",
    class: Migration20261207020000AcmeAccountKeyIndex,
  },
  {
    name: "Migration20261207200000CredentialLifetime",
    class: Migration20261207200000CredentialLifetime,
  },
  {
    name: "Migration20261207210000LegacyCredentialLifetime",
    class: Migration20261207210000LegacyCredentialLifetime,
  },
  {
    name: "Migration20261207220000InvalidityDate",
    class: Migration20261207220000InvalidityDate,
  },
  {
    name: "Migration20261207235900LineCut",
    class: Migration20261207235900LineCut,
  },
];
