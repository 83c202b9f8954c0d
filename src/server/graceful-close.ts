/**
 * Closing a gRPC connection without losing a call it took: for the connection's maximum age
 * (connection-limits.ts, limitAge) and for every other Http2Session.close (grpc-js's tryShutdown
 * at a graceful stop, its idle timeout).
 *
 * Http2Session.close sends one GOAWAY naming the last stream nghttp2 took ("processed", RFC 9113
 * 6.8), refuses streams from then on, and destroys the session as soon as no JavaScript stream is
 * open. But nghttp2 takes a stream when the head of its HEADERS frame arrives, and Node hands it
 * to JavaScript only once the whole header block has: a close in between counted that call as
 * taken in the GOAWAY (so the client did not send it again) and dropped it (the client failed it
 * UNAVAILABLE: "Connection closed after GOAWAY", "Stream removed", "error reading from server:
 * EOF"). With grpc-js's keepalive destroying closed sessions (connection-limits.ts, keepAlive),
 * this made the failures an outside probe of stop 53 of 2026-12-07 saw across connection-age
 * rollovers: 1-15 in 1,000-1,500 calls every 3 s on a busy machine, in every client library, and
 * a CI run failed on them; test/server/graceful-close.test.ts shows this one alone.
 *
 * Here the close waits until JavaScript has every stream nghttp2 took (its last processed stream
 * is at most the highest stream seen), so that the GOAWAY names only streams the server answers;
 * a stream taken later than the GOAWAY is refused by Node (RST_STREAM REFUSED_STREAM) or dropped
 * above the GOAWAY's last stream, both of which tell the client to send it again. (The other
 * loss at a close, grpc-js's keepalive destroying a closed session, is connection-limits.ts's
 * keepAlive.)
 *
 * The wait is bounded: a peer that sends the head of a HEADERS frame and then nothing (nor the
 * CONTINUATION that must follow, RFC 9113 6.10) would otherwise hold a closing connection open
 * until its maximum age's grace (30 minutes and more) instead of its idle timeout. Once a close is
 * wanted, the headers being received get `headersWaitMs` (CERTMINT_HANDSHAKE_TIMEOUT_MS, the time
 * a new connection has for its preface) and then the session is closed anyway: a call whose
 * headers took that long is the stalled peer's, and is lost with it.
 *
 * Not gRPC's double GOAWAY (2^31-1, a PING, then the last stream, gRFC A9): nghttp2 takes no new
 * stream once any GOAWAY is sent and Node then stops reading a session with no stream left, so
 * the calls a client sent after a GOAWAY of 2^31-1 were neither taken nor refused, and the PING's
 * answer went unread (measured: errors remained).
 */
import { constants, type Http2Session, type ServerHttp2Stream } from "node:http2";

/** Closes `session` once every stream it took is known (the GOAWAY carries `debug`). */
export type GoAway = (debug?: string) => void;

/**
 * Makes `session.close` wait for the streams nghttp2 took (see above), and returns the same
 * close with GOAWAY debug data, for the maximum age ("max_age", as gRPC servers send).
 * Http2Session.close is replaced on this one object: grpc-js calls it at shutdown and idle.
 */
export function closeWithoutLoss(session: Http2Session, headersWaitMs: number): GoAway {
  const close = session.close.bind(session);
  let highestSeen = 0;
  let wanted = false;
  let debugData: Buffer | undefined;
  let stalled: NodeJS.Timeout | undefined;
  /** Streams JavaScript has and that have not closed. */
  const open = new Set<ServerHttp2Stream>();
  /** The wait for headers ran out: the session ends once the streams JavaScript has are done. */
  let abandoned = false;
  const closeNow = () => {
    clearTimeout(stalled);
    if (session.closed || session.destroyed) return;
    // Last stream 0: Node names nghttp2's last processed stream, as close() does next.
    if (debugData) session.goaway(constants.NGHTTP2_NO_ERROR, 0, debugData);
    close();
  };
  // Node's close never ends a session whose nghttp2 still has a stream open (the stalled one):
  // it is destroyed once the streams JavaScript has are done.
  const endAbandoned = () => {
    if (abandoned && open.size === 0 && !session.destroyed) session.destroy();
  };
  const giveUp = () => {
    abandoned = true;
    closeNow();
    endAbandoned();
  };
  const tryClose = () => {
    if (!wanted || session.closed || session.destroyed) return;
    // A stream nghttp2 took whose headers JavaScript has not had yet: its "stream" event
    // (below) tries again, or the wait for it runs out (giveUp).
    if ((session.state.lastProcStreamID ?? 0) > highestSeen) {
      if (!stalled) {
        stalled = setTimeout(giveUp, headersWaitMs);
        stalled.unref();
      }
      return;
    }
    closeNow();
  };
  session.once("close", () => clearTimeout(stalled));
  session.on("stream", (stream: ServerHttp2Stream) => {
    highestSeen = Math.max(highestSeen, stream.id ?? 0);
    open.add(stream);
    stream.once("close", () => {
      open.delete(stream);
      endAbandoned();
    });
    tryClose();
  });
  const goAway: GoAway = (debug) => {
    if (debug !== undefined && !wanted) debugData = Buffer.from(debug);
    wanted = true;
    tryClose();
  };
  session.close = (callback?: () => void) => {
    if (callback) session.once("close", callback);
    goAway();
  };
  return goAway;
}
