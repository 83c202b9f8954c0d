import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/**
 * A TCP port for a listener that starts later (a certmint server's extra listener, an ACME
 * client's challenge server): free now, and below the kernel's ephemeral range
 * (ip_local_port_range), from which every outgoing connection of the machine takes its local
 * port. A port the OS picked from that range (listen on port 0) could be taken meanwhile by any
 * connection, a database client's or another test file's: lego then failed with "bind: address
 * already in use" in a CI run.
 */
export async function unusedPort(): Promise<number> {
  const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
    .trim()
    .split(/\s+/)
    .map(Number);
  const top = Math.min(low ?? 32768, 32768) - 1;
  const bottom = 10000;
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = bottom + Math.floor(Math.random() * (top - bottom));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port between ${bottom} and ${top}`);
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}
