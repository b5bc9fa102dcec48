import type { Server, Socket } from 'node:net';

/** TLS handshakes a transport runs at once (per process) before it refuses new connections outright. */
export const DEFAULT_MAX_PENDING_HANDSHAKES = 512;

/**
 * Admission for a reconnect storm (issue 19, 3): a TCP connection beyond `limit` handshakes in
 * progress is closed as it is accepted — a refusal the device sees in one round trip and retries
 * after its backoff — instead of queueing behind work the server cannot do in time and timing
 * out there. Established connections do not count: a million idle devices are not a storm.
 *
 * Node's own `maxConnections` does the refusing, before any socket or TLS state is made (and
 * says so with 'drop'); it counts every open connection, so it is kept at the established
 * connections plus `limit`.
 */
export function admitHandshakes(server: Server, limit: number, refused: () => void): void {
  let established = 0;
  const update = (): void => void (server.maxConnections = established + limit);
  function establishedClosed(): void {
    established -= 1;
    update();
  }
  update();
  server.on('secureConnection', (socket: Socket) => {
    established += 1;
    update();
    socket.once('close', establishedClosed);
  });
  server.on('drop', () => refused());
}
