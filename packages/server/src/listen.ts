import type { AddressInfo, Server } from 'node:net';

/** Starts `server` on host:port (0 picks a free port) and resolves with its URL, e.g. `https://127.0.0.1:8443`. */
export async function listen(server: Server, port: number, host: string, scheme: 'http' | 'https' | 'mqtts'): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return `${scheme}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
}
