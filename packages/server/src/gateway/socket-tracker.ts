import type { Server, Socket } from 'node:net';

/**
 * Every raw socket a server accepted, from the TCP connect on — including those still in their
 * TLS handshake, which `closeAllConnections()` does not reach — so shutdown can end them all.
 * One shared 'close' listener (`this` is the socket): no closure per connection.
 */
export function trackSockets(server: Server): { destroyAll(): void } {
  const sockets = new Set<Socket>();
  function forget(this: Socket): void {
    sockets.delete(this);
  }
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', forget);
  });
  return {
    destroyAll() {
      for (const socket of sockets) socket.destroy();
    },
  };
}
