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
export function closeWithoutLoss(session: Http2Session): GoAway {
  const close = session.close.bind(session);
  let highestSeen = 0;
  let wanted = false;
  let debugData: Buffer | undefined;
  const tryClose = () => {
    if (!wanted || session.closed || session.destroyed) return;
    // A stream nghttp2 took whose headers JavaScript has not had yet: its "stream" event
    // (below) tries again.
    if ((session.state.lastProcStreamID ?? 0) > highestSeen) return;
    // Last stream 0: Node names nghttp2's last processed stream, as close() does next.
    if (debugData) session.goaway(constants.NGHTTP2_NO_ERROR, 0, debugData);
    close();
  };
  session.on("stream", (stream: ServerHttp2Stream) => {
    highestSeen = Math.max(highestSeen, stream.id ?? 0);
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
