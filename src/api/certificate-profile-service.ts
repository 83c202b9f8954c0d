import type { CertificateProfileServiceServer } from "../../gen/ts/certmint/v1/certificate_profile_service";
import { createExternalAccountKey } from "../acme/eab";
import type { IssuanceDeps } from "../issuance/deps";
import { createProfile } from "../issuance/profiles/create";
import { deleteProfile } from "../issuance/profiles/delete";
import { getProfile, listProfiles } from "../issuance/profiles/queries";
import { updateProfile } from "../issuance/profiles/update";
import { profileDraftFromProto, profileToProto } from "./convert/profile";
import { type HandlerDeps, unary } from "./unary";

const SERVICE = "/certmint.v1.CertificateProfileService/";

/** Thin handlers: map the request, call one use case, map the result. */
export function certificateProfileHandlers(
  deps: HandlerDeps,
  issuance: () => IssuanceDeps,
): Partial<CertificateProfileServiceServer> {
  return {
    createCertificateProfile: unary(
      `${SERVICE}CreateCertificateProfile`,
      async (req) => {
        const given = req.certificateProfile;
        const row = await createProfile(issuance(), {
          slug: given?.slug ?? "",
          ...profileDraftFromProto(given),
        });
        return { certificateProfile: profileToProto(row) };
      },
      deps,
    ),

    getCertificateProfile: unary(
      `${SERVICE}GetCertificateProfile`,
      async (req) => ({
        certificateProfile: profileToProto(await getProfile(issuance(), req.certificateProfile)),
      }),
      deps,
    ),

    listCertificateProfiles: unary(
      `${SERVICE}ListCertificateProfiles`,
      async (req) => {
        const page = await listProfiles(issuance(), {
          pageSize: req.pageSize,
          pageToken: req.pageToken,
        });
        return {
          certificateProfiles: page.items.map(profileToProto),
          nextPageToken: page.nextPageToken,
        };
      },
      deps,
    ),

    updateCertificateProfile: unary(
      `${SERVICE}UpdateCertificateProfile`,
      async (req) => {
        const given = req.certificateProfile;
        const row = await updateProfile(issuance(), {
          ref: given?.id || given?.slug || "",
          etag: given?.etag ?? "",
          mask: req.updateMask ?? [],
          draft: profileDraftFromProto(given),
        });
        return { certificateProfile: profileToProto(row) };
      },
      deps,
    ),

    deleteCertificateProfile: unary(
      `${SERVICE}DeleteCertificateProfile`,
      async (req) => {
        await deleteProfile(issuance(), { ref: req.certificateProfile, etag: req.etag });
        return {};
      },
      deps,
    ),

    createAcmeExternalAccountKey: unary(
      `${SERVICE}CreateAcmeExternalAccountKey`,
      async (req) => {
        const key = await createExternalAccountKey(issuance(), req.certificateProfile);
        return { keyId: key.keyId, hmacKey: key.hmacKey, certificateProfileId: key.profileId };
      },
      deps,
    ),
  };
}
