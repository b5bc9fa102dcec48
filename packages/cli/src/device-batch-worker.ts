import { createPrivateKey } from 'node:crypto';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { parseCertificate, prepareIssuer, type KeySpec } from '@fleetpki/pki';
import { generateDevices } from './device-batch.js';
import type { OutputFormat } from './options.js';

/** What the parent hands a worker: plain data, since KeyObjects stay in their thread. */
export interface DeviceBatchWorkerInput {
  readonly caCertificateDer: Uint8Array;
  readonly caPrivateKeyPkcs8Der: Uint8Array;
  readonly project: string;
  readonly certificateIds: readonly string[];
  readonly keySpec: KeySpec;
  readonly format: OutputFormat;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly directory: string;
}

export type DeviceBatchWorkerMessage =
  | { readonly type: 'progress'; readonly done: number }
  | { readonly type: 'done'; readonly rows: ReturnType<typeof generateDevices> }
  | { readonly type: 'failed'; readonly code: string | undefined; readonly message: string };

const input = workerData as DeviceBatchWorkerInput;
const port = parentPort;
if (port) {
  try {
    run(port);
  } catch (err) {
    // Errors cross the thread boundary as plain data so the parent can keep their code.
    const code = (err as { code?: unknown }).code;
    port.postMessage({ type: 'failed', code: typeof code === 'string' ? code : undefined, message: (err as Error).message } satisfies DeviceBatchWorkerMessage);
  }
}

function run(port: MessagePort): void {
  const issuer = prepareIssuer(
    parseCertificate(Buffer.from(input.caCertificateDer)),
    createPrivateKey({ key: Buffer.from(input.caPrivateKeyPkcs8Der), format: 'der', type: 'pkcs8' }),
  );
  let reported = 0;
  const rows = generateDevices(
    issuer,
    {
      project: input.project,
      certificateIds: input.certificateIds,
      keySpec: input.keySpec,
      format: input.format,
      validity: { notBefore: new Date(input.notBefore), notAfter: new Date(input.notAfter) },
      directory: input.directory,
    },
    (done) => {
      // Progress in steps of 64 keeps messaging off the hot path.
      if (done - reported >= 64) {
        port.postMessage({ type: 'progress', done } satisfies DeviceBatchWorkerMessage);
        reported = done;
      }
    },
  );
  port.postMessage({ type: 'progress', done: rows.length } satisfies DeviceBatchWorkerMessage);
  port.postMessage({ type: 'done', rows } satisfies DeviceBatchWorkerMessage);
}
