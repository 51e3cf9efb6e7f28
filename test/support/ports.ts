// Free TCP ports for servers a test starts and must name before they run (a Prometheus config, a member's port).
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A port nothing listens on, on any address: asking the wildcard address for port 0 rules out a port some other
 * process holds on one loopback address only (members bind 127.x.y.z, and other test runs share the machine).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '0.0.0.0', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
