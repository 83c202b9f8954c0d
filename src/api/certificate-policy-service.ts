import {
  type CertificatePolicyServiceServer,
  CertificatePolicyServiceService,
} from "../../gen/ts/certmint/v1/certificate_policy_service";
import { updateTarget } from "../issuance/common/refs";
import type { IssuanceDeps } from "../issuance/deps";
import { createPolicy } from "../issuance/policies/create";
import { deletePolicy } from "../issuance/policies/delete";
import { getPolicy, listPolicies } from "../issuance/policies/queries";
import { updatePolicy } from "../issuance/policies/update";
import { policyRulesFromProto, policyToProto, presetCodec } from "./convert/policy";
import { type HandlerDeps, unary } from "./unary";

/** Thin handlers: map the request, call one use case, map the result. */
export function certificatePolicyHandlers(
  deps: HandlerDeps,
  issuance: () => IssuanceDeps,
): Partial<CertificatePolicyServiceServer> {
  return {
    createCertificatePolicy: unary(
      CertificatePolicyServiceService.createCertificatePolicy.path,
      async (req, ctx) => {
        const given = req.certificatePolicy;
        const row = await createPolicy(issuance(), ctx.call, {
          slug: given?.slug ?? "",
          description: given?.description ?? "",
          rules: policyRulesFromProto(given),
          preset: presetCodec.fromProto(req.preset, "preset"),
        });
        return { certificatePolicy: policyToProto(row) };
      },
      deps,
    ),

    getCertificatePolicy: unary(
      CertificatePolicyServiceService.getCertificatePolicy.path,
      async (req) => ({
        certificatePolicy: policyToProto(await getPolicy(issuance(), req.certificatePolicy)),
      }),
      deps,
    ),

    listCertificatePolicies: unary(
      CertificatePolicyServiceService.listCertificatePolicies.path,
      async (req, ctx) => {
        const page = await listPolicies(issuance(), {
          pageSize: req.pageSize,
          pageToken: req.pageToken,
          caller: ctx.actor.id,
        });
        return {
          certificatePolicies: page.items.map(policyToProto),
          nextPageToken: page.nextPageToken,
        };
      },
      deps,
    ),

    updateCertificatePolicy: unary(
      CertificatePolicyServiceService.updateCertificatePolicy.path,
      async (req, ctx) => {
        const given = req.certificatePolicy;
        const row = await updatePolicy(issuance(), ctx.call, {
          ...updateTarget(given),
          etag: given?.etag ?? "",
          mask: req.updateMask ?? [],
          description: given?.description ?? "",
          rules: policyRulesFromProto(given),
        });
        return { certificatePolicy: policyToProto(row) };
      },
      deps,
    ),

    deleteCertificatePolicy: unary(
      CertificatePolicyServiceService.deleteCertificatePolicy.path,
      async (req, ctx) => {
        await deletePolicy(issuance(), ctx.call, { ref: req.certificatePolicy, etag: req.etag });
        return {};
      },
      deps,
    ),
  };
}
