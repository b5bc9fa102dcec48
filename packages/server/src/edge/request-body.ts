import type { IncomingMessage } from 'node:http';
import { ServiceError } from '../service-error.js';

/**
 * Reads a device's request body up to `maxBytes`, refusing more as it arrives (BODY_TOO_LARGE)
 * rather than buffering whatever a peer sends.
 */
export function readBoundedBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  try {
    refuseDeclaredOversize(req, maxBytes);
  } catch (error) {
    return Promise.reject(error);
  }
  if (req.destroyed) return Promise.reject(new Error('the request was aborted before its body was read'));
  // Listeners rather than `for await`: the async iterator costs more than reading a CSR's body.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > maxBytes) {
        // Stop reading (nothing more is buffered) but keep the socket: the 413 goes out with
        // `Connection: close`, and the connection ends after it.
        finish();
        req.pause();
        reject(bodyTooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      finish();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total));
    };
    const onError = (error: Error): void => {
      finish();
      reject(error);
    };
    const onClose = (): void => {
      finish();
      reject(new Error('the request was aborted before its body ended'));
    };
    const finish = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** Refuses a request whose declared Content-Length is over `maxBytes` before any of it is read (BODY_TOO_LARGE). */
export function refuseDeclaredOversize(req: IncomingMessage, maxBytes: number): void {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw bodyTooLarge(maxBytes);
}

/** BODY_TOO_LARGE, said the same way by every listener. */
export function bodyTooLarge(maxBytes: number): ServiceError {
  return new ServiceError('BODY_TOO_LARGE', `request bodies are limited to ${maxBytes} bytes here`, { maxBytes });
}
