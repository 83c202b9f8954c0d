/**
 * Who is at the other end of this process's TCP connections to a local port, from Linux's
 * /proc/net/tcp and /proc/net/tcp6: the uid of each server-side socket whose peer is one of this
 * process's sockets (found by inode in /proc/self/fd).
 *
 * Why: the CLI sends the local data directory's admin token to a plaintext loopback server by
 * itself. A loopback port proves nothing about who listens on it: while certmint is down (a
 * restart, a crash, before `make run`), any local user may bind 127.0.0.1:50051 and would
 * receive the token (an outside probe, stop 40 of 2026-12-05, with `cert watch` reconnecting
 * into a stand-in listener). Another user cannot create a socket owned by the data directory's
 * owner, so the kernel's record of the listener's owner authenticates the server locally, as
 * the data directory's permissions authenticate the token file.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

interface TcpSocket {
  local: string;
  remote: string;
  /** TCP state: "01" is ESTABLISHED (include/net/tcp_states.h). */
  state: string;
  uid: number;
  inode: string;
}

const ESTABLISHED = "01";

/**
 * The uids owning the server side of this process's established connections to `port`;
 * undefined where the kernel does not say (no /proc/net/tcp: not Linux).
 */
export function loopbackPeerUids(port: number): number[] | undefined {
  const sockets = readTcpTables();
  if (sockets === undefined) return undefined;
  const own = ownSocketInodes();
  const portHex = port.toString(16).toUpperCase().padStart(4, "0");
  const ours = sockets.filter(
    (s) => s.state === ESTABLISHED && own.has(s.inode) && s.remote.endsWith(`:${portHex}`),
  );
  const uids = new Set<number>();
  for (const mine of ours) {
    for (const s of sockets) {
      // The server's side of this connection: its local end is our remote end, and back.
      if (s.state === ESTABLISHED && s.local === mine.remote && s.remote === mine.local) {
        uids.add(s.uid);
      }
    }
  }
  return [...uids];
}

function readTcpTables(): TcpSocket[] | undefined {
  const out: TcpSocket[] = [];
  let found = false;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    found = true;
    // "sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode"
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      out.push({
        local: ipv4Form(f[1]!),
        remote: ipv4Form(f[2]!),
        state: f[3]!,
        uid: Number(f[7]),
        inode: f[9]!,
      });
    }
  }
  return found ? out : undefined;
}

function ownSocketInodes(): Set<string> {
  const inodes = new Set<string>();
  let fds: string[] = [];
  try {
    fds = readdirSync("/proc/self/fd");
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // Closed meanwhile.
    }
  }
  return inodes;
}

/**
 * An address:port of /proc/net/tcp6 that is an IPv4-mapped IPv6 address (::ffff:a.b.c.d, a server
 * on [::] that accepted an IPv4 connection) in /proc/net/tcp's form: the kernel prints the
 * address as four 32-bit words, so its last word is the IPv4 address as tcp prints it. Without
 * this the server side of an IPv4 connection to a server on [::] matched nothing, and the CLI
 * refused the token to a legitimate server (found by the review of stop 40).
 */
export function ipv4Form(addressPort: string): string {
  const [address = "", port = ""] = addressPort.split(":");
  const mapped = /^0{16}FFFF0000([0-9A-F]{8})$/i.exec(address);
  return mapped ? `${mapped[1]!.toUpperCase()}:${port}` : addressPort;
}
