// Who may post uplinks: the holder of the gateway's token, as `Authorization: Bearer T` (ChirpStack's
// HTTP integration headers, a TTS webhook's "Authorization" header) or as a webhook secret header
// `X-Webhook-Secret: T` (TTS webhooks' additional headers). Compared in constant time.
import { timingSafeEqual, createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

export const SECRET_HEADER = "x-webhook-secret";

const digest = (s: string) => createHash("sha256").update(s).digest();

/** null when the request may pass, else why not (for the 401 answer). */
export function checkToken(headers: IncomingHttpHeaders, token: string | null): string | null {
  if (token === null) return null;
  const auth = headers.authorization,
    secret = headers[SECRET_HEADER];
  const offered = typeof auth === "string" && /^Bearer\s+/i.test(auth) ? auth.replace(/^Bearer\s+/i, "") : typeof secret === "string" ? secret : null;
  if (offered === null) return `no credentials: send "Authorization: Bearer <token>" or "${SECRET_HEADER}: <token>"`;
  return timingSafeEqual(digest(offered), digest(token)) ? null : "wrong token";
}
