import { invalidField, isCertmintError } from "../../errors";
import { type Actor, type Call, PROFILE_SCOPED_ROLES, requireProfileAccess } from "../call";
import { listReadBound, readWithinBound } from "../common/list-bound";
import { throughListGate } from "../common/list-gate";
import { listPage, type Page, type PageRequest } from "../common/list-page";
import { resolveRef } from "../common/refs";
import type { IssuanceDeps } from "../deps";
import {
  type CertificateRequest,
  type CertificateRequestView,
  type RequestFilter,
  type RequestStatus,
  requestView,
} from "../repositories";

export interface ListRequestsInput extends PageRequest {
  /** One status; every status but ISSUED when undefined. */
  status?: RequestStatus;
  /** A profile, by id or slug. */
  profile?: string;
}

/**
 * ListCertificateRequests: the requests that did not end in a certificate, oldest first, a
 * keyset page at a time (with status PENDING_APPROVAL, an approver's queue, which until
 * 2026-12-05 no RPC listed: an approver had to be handed each request's id). What a caller
 * sees is what it may act on: admins and auditors every profile's requests, approvers those of
 * the profiles on their token, issuers their own requests on those profiles. A profile the
 * caller names but may not see is PERMISSION_DENIED (it named it), as in IssueCertificate.
 */
export async function listRequests(
  deps: Pick<IssuanceDeps, "store" | "keyring" | "listGate" | "listQueryTimeoutMs">,
  call: Pick<Call, "actor" | "deadlineAt" | "signal" | "whileOutside">,
  input: ListRequestsInput,
): Promise<Page<CertificateRequestView>> {
  if (input.status === "ISSUED") {
    throw invalidField(
      "REQUEST_STATUS_ISSUED",
      "issued requests are listed as their certificates: use ListCertificates",
      "status",
      "PENDING_APPROVAL, PENDING, FAILED or REJECTED, or unset for all of them",
    );
  }
  const filter: RequestFilter = { status: input.status };
  const { actor } = call;
  const scoped = PROFILE_SCOPED_ROLES.includes(actor.role);
  if (input.profile) {
    // For an issuer or approver, a profile that does not exist is refused as one not on its
    // token (PERMISSION_DENIED), as IssueCertificate refuses it: NOT_FOUND would tell which
    // profiles exist (found by an outside probe, 2026-12-05).
    const profile = scoped
      ? await resolveRef(input.profile, "certificate profile", "certificate_profile", (k) =>
          deps.store.profiles.find(k),
        ).catch((err: unknown) => {
          if (isCertmintError(err) && err.kind === "not_found") return { id: null };
          throw err;
        })
      : await resolveRef(input.profile, "certificate profile", "certificate_profile", (k) =>
          deps.store.profiles.find(k),
        );
    requireProfileAccess(call as Call, profile, input.profile);
    filter.profileIds = [profile.id!];
  } else if (scoped) {
    filter.profileIds = actor.profileIds;
  }
  const own = ownRequestsOnly(actor);
  if (own !== undefined) filter.caller = own;
  const page = await listPage(
    deps.keyring,
    input,
    // The filters the caller sent, and the caller (AIP-158: a token another access token
    // returned is refused, since stop 42 of 2026-12-06); what its token lets it see is applied
    // on every page anew.
    {
      list: "ListCertificateRequests",
      filter: { caller: actor.id, status: input.status, profile: input.profile },
    },
    (query) =>
      // One place of the caller's token at a time, and a bounded read, as every list
      // (common/list-gate.ts, common/list-bound.ts).
      throughListGate(deps.listGate, call, () => {
        const { bound, byDeadline } = listReadBound(deps.listQueryTimeoutMs ?? 0, call);
        return readWithinBound(
          deps.store.requests.listUnissued(filter, { ...query, bound }),
          bound,
          byDeadline,
          () => ({
            subject: "certificate request",
            why: " Requests are read oldest first until a page is full, through every request not issued when few match.",
            narrow: "Narrow it: a certificate_profile, or a status.",
          }),
        );
      }),
  );
  return { items: page.items.map(requestView), nextPageToken: page.nextPageToken };
}

/**
 * The one rule of which requests a caller sees, on the profiles it may act on (the profile
 * check is profiles/access.ts): an issuer its own requests only, everyone else every request
 * there. ListCertificateRequests filters by it, GetRequestStatus and RejectCertificateRequest
 * answer another issuer's request NOT_FOUND by it, exactly as a missing id (mayReadRequest).
 * Until stop 44 of 2026-12-06 GetRequestStatus showed a co-issuer of the profile any request
 * by id (its subject, names, requester and error) that the list hid (an outside probe).
 * Returns the requester the caller is limited to, or undefined for no limit.
 */
export function ownRequestsOnly(actor: Pick<Actor, "id" | "role">): string | undefined {
  return actor.role === "ISSUER" ? actor.id : undefined;
}

/** Whether the caller sees this request (ownRequestsOnly), its profile granted already. */
export function mayReadRequest(
  actor: Pick<Actor, "id" | "role">,
  request: Pick<CertificateRequest, "caller">,
): boolean {
  const own = ownRequestsOnly(actor);
  return own === undefined || request.caller === own;
}
