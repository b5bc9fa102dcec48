import type { IncomingMessage } from 'node:http';
import { ServiceError } from '../service-error.js';

/**
 * Reads a device's request body up to `maxBytes`, refusing more as it arrives (BODY_TOO_LARGE)
 * rather than buffering whatever a peer sends.
 */
export async function readBoundedBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

function tooLarge(maxBytes: number): ServiceError {
  return new ServiceError('BODY_TOO_LARGE', `request bodies are limited to ${maxBytes} bytes here`, { maxBytes });
}
