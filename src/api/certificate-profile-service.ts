import {
  type CertificateProfileServiceServer,
  CertificateProfileServiceService,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import { listAcmeAccounts, revokeAcmeAccount } from "../acme/admin/accounts";
import { listExternalAccountKeys, revokeExternalAccountKey } from "../acme/admin/keys";
import { createExternalAccountKey } from "../acme/eab";
import { updateTarget } from "../issuance/common/refs";
import type { IssuanceDeps } from "../issuance/deps";
import { createProfile } from "../issuance/profiles/create";
import { deleteProfile } from "../issuance/profiles/delete";
import { getProfile, listProfiles } from "../issuance/profiles/queries";
import { updateProfile } from "../issuance/profiles/update";
import { acmeAccountToProto, externalAccountKeyToProto } from "./convert/acme";
import { profileDraftFromProto, profileToProto } from "./convert/profile";
import { type HandlerDeps, unary } from "./unary";

/** Thin handlers: map the request, call one use case, map the result. */
export function certificateProfileHandlers(
  deps: HandlerDeps,
  issuance: () => IssuanceDeps,
): Partial<CertificateProfileServiceServer> {
  return {
    createCertificateProfile: unary(
      CertificateProfileServiceService.createCertificateProfile.path,
      async (req, ctx) => {
        const given = req.certificateProfile;
        const row = await createProfile(issuance(), ctx.call, {
          slug: given?.slug ?? "",
          ...profileDraftFromProto(given),
        });
        return { certificateProfile: profileToProto(row) };
      },
      deps,
    ),

    getCertificateProfile: unary(
      CertificateProfileServiceService.getCertificateProfile.path,
      async (req) => ({
        certificateProfile: profileToProto(await getProfile(issuance(), req.certificateProfile)),
      }),
      deps,
    ),

    listCertificateProfiles: unary(
      CertificateProfileServiceService.listCertificateProfiles.path,
      async (req, ctx) => {
        const page = await listProfiles(issuance(), {
          pageSize: req.pageSize,
          pageToken: req.pageToken,
          caller: ctx.actor.id,
        });
        return {
          certificateProfiles: page.items.map(profileToProto),
          nextPageToken: page.nextPageToken,
        };
      },
      deps,
    ),

    updateCertificateProfile: unary(
      CertificateProfileServiceService.updateCertificateProfile.path,
      async (req, ctx) => {
        const given = req.certificateProfile;
        const row = await updateProfile(issuance(), ctx.call, {
          ...updateTarget(given),
          etag: given?.etag ?? "",
          mask: req.updateMask ?? [],
          draft: profileDraftFromProto(given),
        });
        return { certificateProfile: profileToProto(row) };
      },
      deps,
    ),

    deleteCertificateProfile: unary(
      CertificateProfileServiceService.deleteCertificateProfile.path,
      async (req, ctx) => {
        const { tokensListingIt } = await deleteProfile(issuance(), ctx.call, {
          ref: req.certificateProfile,
          etag: req.etag,
          force: req.force,
        });
        // Their cached credentials still list it: read again here and on every replica, so an
        // open watch of one stops getting its events at once (RENEWAL F4, stop 51).
        for (const id of tokensListingIt) deps.security().forgetCredential(id);
        return {};
      },
      deps,
    ),

    createAcmeExternalAccountKey: unary(
      CertificateProfileServiceService.createAcmeExternalAccountKey.path,
      async (req, ctx) => {
        const key = await createExternalAccountKey(issuance(), ctx.call, req.certificateProfile);
        return { keyId: key.keyId, hmacKey: key.hmacKey, certificateProfileId: key.profileId };
      },
      deps,
    ),

    listAcmeExternalAccountKeys: unary(
      CertificateProfileServiceService.listAcmeExternalAccountKeys.path,
      async (req, ctx) => {
        const page = await listExternalAccountKeys(issuance(), {
          profile: req.certificateProfile,
          pageSize: req.pageSize,
          pageToken: req.pageToken,
          caller: ctx.actor.id,
        });
        return {
          acmeExternalAccountKeys: page.items.map(externalAccountKeyToProto),
          nextPageToken: page.nextPageToken,
        };
      },
      deps,
    ),

    revokeAcmeExternalAccountKey: unary(
      CertificateProfileServiceService.revokeAcmeExternalAccountKey.path,
      async (req, ctx) => {
        const revoked = await revokeExternalAccountKey(issuance(), ctx.call, req.keyId);
        return {
          acmeExternalAccountKey: externalAccountKeyToProto(revoked.key),
          revokedAcmeAccount: revoked.revokedAccount
            ? acmeAccountToProto(revoked.revokedAccount)
            : undefined,
        };
      },
      deps,
    ),

    listAcmeAccounts: unary(
      CertificateProfileServiceService.listAcmeAccounts.path,
      async (req, ctx) => {
        const page = await listAcmeAccounts(issuance(), {
          profile: req.certificateProfile,
          pageSize: req.pageSize,
          pageToken: req.pageToken,
          caller: ctx.actor.id,
        });
        return {
          acmeAccounts: page.items.map(acmeAccountToProto),
          nextPageToken: page.nextPageToken,
        };
      },
      deps,
    ),

    revokeAcmeAccount: unary(
      CertificateProfileServiceService.revokeAcmeAccount.path,
      async (req, ctx) => ({
        acmeAccount: acmeAccountToProto(
          await revokeAcmeAccount(issuance(), ctx.call, req.acmeAccount),
        ),
      }),
      deps,
    ),
  };
}
