import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { isPkiErrorCode, PkiError, privateKeyDer, type PreparedIssuer } from '@fleetpki/pki';
import { CliError, isCliErrorCode } from './cli-error.js';
import { generateDevices, type DeviceBatch, type ManifestRow } from './device-batch.js';
import type { DeviceBatchWorkerInput, DeviceBatchWorkerMessage } from './device-batch-worker.js';

/** Below this many devices a worker's start-up (~30 ms) costs more than it saves. */
export const MIN_DEVICES_FOR_WORKERS = 256;
/** Key generation and signing are CPU-bound: one worker per core, and never an army. */
export const MAX_WORKERS = 8;

/**
 * Runs a batch on every core: contiguous slices of the certificate IDs go to worker threads,
 * each writing its own files into the shared directory, and the rows come back in ID order.
 */
export async function generateDevicesInParallel(
  issuer: PreparedIssuer,
  batch: DeviceBatch,
  onProgress: (done: number) => void,
  requestedWorkers: number = availableParallelism(),
): Promise<ManifestRow[]> {
  const ids = batch.certificateIds;
  const workers = Math.min(requestedWorkers, MAX_WORKERS, Math.ceil(ids.length / (MIN_DEVICES_FOR_WORKERS / 2)));
  if (workers < 2 || ids.length < MIN_DEVICES_FOR_WORKERS) return generateDevices(issuer, batch, onProgress);

  const caPrivateKeyPkcs8Der = privateKeyDer(issuer.privateKey, 'pkcs8').der;
  const sliceSize = Math.ceil(ids.length / workers);
  const progress = new Array<number>(workers).fill(0);
  const running: Worker[] = [];
  const slices = Array.from({ length: workers }, (_, i) => ids.slice(i * sliceSize, (i + 1) * sliceSize));
  try {
    const results = await Promise.all(
      slices.map(
        (certificateIds, index) =>
          new Promise<ManifestRow[]>((resolvePromise, reject) => {
            const input: DeviceBatchWorkerInput = {
              caCertificateDer: issuer.certificate.der,
              caPrivateKeyPkcs8Der,
              project: batch.project,
              certificateIds,
              keySpec: batch.keySpec,
              format: batch.format,
              notBefore: batch.validity.notBefore.getTime(),
              notAfter: batch.validity.notAfter.getTime(),
              directory: batch.directory,
            };
            const worker = new Worker(new URL('./device-batch-worker.js', import.meta.url), { workerData: input });
            running.push(worker);
            let rows: ManifestRow[] | undefined;
            let failure: Error | undefined;
            worker.on('message', (message: DeviceBatchWorkerMessage) => {
              if (message.type === 'progress') {
                progress[index] = message.done;
                onProgress(progress.reduce((a, b) => a + b, 0));
              } else if (message.type === 'done') {
                rows = message.rows;
              } else {
                // Codes survive the thread boundary; the classes are rebuilt here.
                if (isPkiErrorCode(message.code)) failure = new PkiError(message.code, message.message);
                else if (isCliErrorCode(message.code)) failure = new CliError(message.code, message.message);
                else failure = new Error(message.message);
              }
            });
            worker.once('error', reject);
            worker.once('exit', (code) => {
              if (rows) resolvePromise(rows);
              else if (failure) reject(failure);
              else reject(new Error(`device worker ${index} exited with code ${code} before finishing`));
            });
          }),
      ),
    );
    return results.flat();
  } finally {
    await Promise.all(running.map((w) => w.terminate()));
  }
}
