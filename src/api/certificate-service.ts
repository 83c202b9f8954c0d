import {
  type CertificateServiceServer,
  CertificateServiceService,
} from "../../gen/ts/certmint/v1/certificate_service";
import { fieldViolation, invalidArgument } from "../errors";
import { renewalStatuses } from "../issuance/auto-renewal/status";
import { approve, reject } from "../issuance/certificates/approval";
import { issue } from "../issuance/certificates/issue";
import { getCertificate, listCertificates } from "../issuance/certificates/queries";
import { releaseHold } from "../issuance/certificates/release-hold";
import { renew } from "../issuance/certificates/renew";
import { listRequests } from "../issuance/certificates/request-list";
import { revoke } from "../issuance/certificates/revoke";
import { requestStatus } from "../issuance/certificates/status";
import type { IssueOutcome } from "../issuance/certificates/types";
import type { IssuanceDeps } from "../issuance/deps";
import { currentCertificate } from "../issuance/events/lineage";
import type { CertificateWatch } from "../issuance/events/watch";
import type { CertificateView } from "../issuance/repositories";
import {
  certificateStatusCodec,
  certificateToProto,
  certificateViewCodec,
  issuedToProto,
  renewalKeySourceCodec,
  requestStatusCodec,
  requestToProto,
} from "./convert/certificate";
import {
  extendedKeyUsageCodec,
  keyAlgorithmCodec,
  keyUsageCodec,
  listFromProto,
  revocationReasonCodec,
  signatureAlgorithmCodec,
} from "./convert/enums";
import { requestIdOf } from "./convert/request-id";
import { sansFromProto, subjectFromProto } from "./convert/subject";
import { durationToSeconds, timestampFilter } from "./convert/time";
import { type CallContext, type HandlerDeps, unary } from "./unary";
import { watchCertificatesHandler } from "./watch-certificates";

/** request_id is an idempotency key per caller: the access token that makes the call. */
const callerOf = (ctx: CallContext) => ctx.actor.id;

const outcomeToProto = (o: IssueOutcome) => ({
  certificateRequestId: o.certificateRequestId,
  // validate_only stores nothing, so there is no request and no status to report.
  status: o.validated ? 0 : requestStatusCodec.toProto(o.status),
  certificate: o.certificate ? issuedToProto(o.certificate) : undefined,
  privateKeyPem: o.privateKeyPem ?? "",
});

/**
 * A certificate as the API shows it, with where its server-driven renewal stands, and its
 * status against the CAs revoked now (ISSUER_REVOKED below one; a self-signed one has none).
 */
async function withRenewal(d: IssuanceDeps, cert: CertificateView) {
  const renewal = await renewalStatuses(d, [cert]);
  const revokedIssuers = cert.caId ? await d.store.certificates.revokedIssuers() : undefined;
  return certificateToProto(cert, d.now(), renewal.get(cert.id), revokedIssuers);
}

/**
 * IssueCertificate without csr_pem or attributes, and, when it names no profile either (and no
 * request_id, whose replay needs none), that too: one refusal naming both fields, the first
 * violation's reason as the ErrorInfo's (README "Errors"). Until stop 50 of 2026-12-06 an empty
 * request named `source` alone, and its fix then met certificate_profile (an outside probe).
 */
function sourceMissing(profile: string, requestId: string) {
  const source = fieldViolation("source", "SOURCE_MISSING", "csr_pem or attributes is required");
  if (profile.trim() !== "" || requestId.trim() !== "") {
    return invalidArgument("SOURCE_MISSING", "give either csr_pem or attributes", {
      violations: [source],
    });
  }
  return invalidArgument(
    "REFERENCE_MISSING",
    "certificate_profile is required (an id or a slug), and either csr_pem or attributes",
    {
      violations: [
        fieldViolation(
          "certificate_profile",
          "REFERENCE_MISSING",
          "name the certificate profile by id or slug",
        ),
        source,
      ],
    },
  );
}

/** Thin handlers: map the request, call one use case, map the result. */
export function certificateHandlers(
  deps: HandlerDeps,
  issuance: () => IssuanceDeps,
  watch: () => CertificateWatch,
): Partial<CertificateServiceServer> {
  return {
    issueCertificate: unary(
      CertificateServiceService.issueCertificate.path,
      async (req, ctx) => {
        const source = req.source;
        if (!source) throw sourceMissing(req.certificateProfile, req.requestId);
        const outcome = await issue(issuance(), ctx.call, {
          caller: callerOf(ctx),
          profile: req.certificateProfile,
          idempotencyKey: requestIdOf(req.requestId),
          source:
            source.$case === "csrPem"
              ? { kind: "CSR", csrPem: source.value }
              : {
                  kind: "ATTRIBUTES",
                  subject: subjectFromProto(source.value.subject),
                  sans: sansFromProto(source.value.subjectAlternativeNames),
                  keyAlgorithm: keyAlgorithmCodec.fromProto(
                    source.value.keyAlgorithm,
                    "attributes.key_algorithm",
                  ),
                },
          signatureAlgorithm: signatureAlgorithmCodec.fromProto(
            req.signatureAlgorithm,
            "signature_algorithm",
          ),
          ...(req.caCertificate ? { ca: { pathLength: req.caCertificate.maxPathLength } } : {}),
          keyUsages: listFromProto(keyUsageCodec, req.keyUsages, "key_usages"),
          extendedKeyUsages: listFromProto(
            extendedKeyUsageCodec,
            req.extendedKeyUsages,
            "extended_key_usages",
          ),
          ttlSeconds: durationToSeconds(req.ttl, "ttl"),
          validateOnly: req.validateOnly,
        });
        return outcomeToProto(outcome);
      },
      deps,
    ),

    renewCertificate: unary(
      CertificateServiceService.renewCertificate.path,
      async (req, ctx) => {
        const outcome = await renew(issuance(), ctx.call, {
          caller: callerOf(ctx),
          certificateId: req.certificateId,
          idempotencyKey: requestIdOf(req.requestId),
          keySource: renewalKeySourceCodec.fromProto(req.keySource, "key_source"),
          csrPem: req.csrPem || undefined,
          keyAlgorithm: keyAlgorithmCodec.fromProto(req.keyAlgorithm, "key_algorithm"),
          ttlSeconds: durationToSeconds(req.ttl, "ttl"),
          validateOnly: req.validateOnly,
        });
        return outcomeToProto(outcome);
      },
      deps,
    ),

    getRequestStatus: unary(
      CertificateServiceService.getRequestStatus.path,
      async (req, ctx) => {
        const view = await requestStatus(issuance(), ctx.call, req.certificateRequestId);
        return {
          certificateRequest: requestToProto(view.request),
          certificate: view.certificate ? issuedToProto(view.certificate) : undefined,
          privateKeyPem: view.privateKeyPem ?? "",
        };
      },
      deps,
    ),

    getCertificate: unary(
      CertificateServiceService.getCertificate.path,
      async (req) => {
        const d = issuance();
        return { certificate: await withRenewal(d, await getCertificate(d, req.certificate)) };
      },
      deps,
    ),

    getCurrentCertificate: unary(
      CertificateServiceService.getCurrentCertificate.path,
      async (req, ctx) => {
        const d = issuance();
        return {
          certificate: await withRenewal(d, await currentCertificate(d, ctx.call, req.certificate)),
        };
      },
      deps,
    ),

    watchCertificates: watchCertificatesHandler(deps, issuance, watch),

    listCertificates: unary(
      CertificateServiceService.listCertificates.path,
      async (req, ctx) => {
        const d = issuance();
        const page = await listCertificates(d, ctx.call, {
          pageSize: req.pageSize,
          pageToken: req.pageToken,
          profile: req.certificateProfile || undefined,
          ca: req.certificateAuthority || undefined,
          status: certificateStatusCodec.fromProto(req.status, "status"),
          expiresBefore: timestampFilter(req.expiresBefore, "expires_before"),
          nameContains: req.nameContains || undefined,
          view: certificateViewCodec.fromProto(req.view, "view"),
        });
        const now = d.now();
        return {
          certificates: page.items.map((c) =>
            certificateToProto(c, now, page.renewal.get(c.id), page.revokedIssuers),
          ),
          nextPageToken: page.nextPageToken,
        };
      },
      deps,
    ),

    listCertificateRequests: unary(
      CertificateServiceService.listCertificateRequests.path,
      async (req, ctx) => {
        const page = await listRequests(issuance(), ctx.call, {
          pageSize: req.pageSize,
          pageToken: req.pageToken,
          status: requestStatusCodec.fromProto(req.status, "status"),
          profile: req.certificateProfile || undefined,
        });
        return {
          certificateRequests: page.items.map(requestToProto),
          nextPageToken: page.nextPageToken,
        };
      },
      deps,
    ),

    revokeCertificate: unary(
      CertificateServiceService.revokeCertificate.path,
      async (req, ctx) => {
        const d = issuance();
        const cert = await revoke(d, ctx.call, {
          certificate: req.certificate,
          reason: revocationReasonCodec.fromProto(req.reason, "reason"),
          invalidityDate: timestampFilter(req.invalidityTime, "invalidity_time"),
        });
        return { certificate: await withRenewal(d, cert) };
      },
      deps,
    ),

    releaseCertificateHold: unary(
      CertificateServiceService.releaseCertificateHold.path,
      async (req, ctx) => {
        const d = issuance();
        const cert = await releaseHold(d, ctx.call, req.certificate);
        return { certificate: await withRenewal(d, cert) };
      },
      deps,
    ),

    approveCertificateRequest: unary(
      CertificateServiceService.approveCertificateRequest.path,
      async (req, ctx) => {
        return {
          certificateRequest: requestToProto(
            await approve(issuance(), ctx.call, req.certificateRequestId),
          ),
        };
      },
      deps,
    ),

    rejectCertificateRequest: unary(
      CertificateServiceService.rejectCertificateRequest.path,
      async (req, ctx) => {
        return {
          certificateRequest: requestToProto(
            await reject(issuance(), ctx.call, req.certificateRequestId, req.reason),
          ),
        };
      },
      deps,
    ),
  };
}
