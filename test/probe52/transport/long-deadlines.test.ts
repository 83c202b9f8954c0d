/**
 * Probe 52 (TRANSPORT): deadlines a client may legitimately set far ahead. gRPC's grpc-timeout
 * carries up to 8 digits and a unit (PROTOCOL-HTTP2.md), so 99,999,999 hours; grpc-js clients
 * send a deadline 30 days ahead as "2592000S". A watch (a stream meant to stay open for
 * weeks) or a unary call with such a deadline must run, not end DEADLINE_EXCEEDED at once.
 */
import { Metadata, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ListCertificateAuthoritiesRequest } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificateEventType,
  WatchCertificatesRequest,
  type WatchCertificatesResponse,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { callWith, type LiveCertmint, Role, startLive, token } from "../../probe49/api/live";
import type { CertmintClients } from "../../support/harness";
import { waitFor } from "../../support/wait";

const DAY_MS = 86_400_000;

describe("probe52 transport: deadlines weeks ahead", () => {
  let live: LiveCertmint;
  let auditor: CertmintClients;

  beforeAll(async () => {
    // A watch's KEEPALIVE every 200 ms: the state a test waits for to know the watch is running.
    live = await startLive({ CERTMINT_WATCH_KEEPALIVE_MS: "200" });
    auditor = (await token(live, "auditor", Role.ROLE_AUDITOR)).clients;
  }, 240_000);
  afterAll(() => live?.stop());

  it.each([1, 24, 25, 30, 45])(
    "a unary call with a deadline %i days ahead is answered",
    async (days) => {
      const r = await callWith(
        auditor.authorities,
        "listCertificateAuthorities",
        ListCertificateAuthoritiesRequest.fromPartial({}),
        new Metadata(),
        days * DAY_MS,
      );
      expect(r.err ? `${r.err.code} ${r.err.details}` : "answered").toBe("answered");
    },
  );

  it.each([1, 30])(
    "a watch with a deadline %i days ahead stays open past its first keepalives",
    async (days) => {
      const events: WatchCertificatesResponse[] = [];
      let error: ServiceError | undefined;
      const stream = auditor.certificates.watchCertificates(
        WatchCertificatesRequest.fromPartial({}),
        new Metadata(),
        { deadline: Date.now() + days * DAY_MS },
      );
      stream.on("data", (e: WatchCertificatesResponse) => events.push(e));
      stream.on("error", (err: ServiceError) => {
        error = err;
      });
      const keepalives = () =>
        events.filter((e) => e.type === CertificateEventType.CERTIFICATE_EVENT_TYPE_KEEPALIVE)
          .length;
      await waitFor("two keepalives or the end of the watch", () => keepalives() >= 2 || !!error);
      stream.cancel();
      expect(error ? `${error.code} ${error.details}` : "open").toBe("open");
    },
  );
});
