import type { Server } from 'node:net';
import type { Socket } from 'node:net';

/**
 * Every raw socket a server accepted, from the TCP connect on — including those still in their
 * TLS handshake, which `closeAllConnections()` does not reach — so shutdown can end them all.
 */
export function trackSockets(server: Server): { destroyAll(): void } {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    destroyAll() {
      for (const socket of sockets) socket.destroy();
    },
  };
}
