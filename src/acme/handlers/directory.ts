import type { AcmeProfile, AcmeUrls } from "../context";
import type { AcmeResponse } from "../http/exchange";

/** The directory (RFC 8555 7.1.1), with renewalInfo (RFC 9773 4) and the EAB requirement (7.3.4). */
export function directory(urls: AcmeUrls, profile: AcmeProfile): AcmeResponse {
  return {
    status: 200,
    body: {
      newNonce: urls.newNonce(),
      newAccount: urls.newAccount(),
      newOrder: urls.newOrder(),
      revokeCert: urls.revokeCert(),
      keyChange: urls.keyChange(),
      renewalInfo: urls.renewalInfo(),
      meta: {
        externalAccountRequired: profile.requireExternalAccountBinding,
      },
    },
  };
}
