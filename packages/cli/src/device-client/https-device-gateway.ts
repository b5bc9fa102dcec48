import { request as httpsRequest } from 'node:https';
import { ApiClientError } from '../api-error.js';
import { refusal, type DeviceCredentials, type DeviceGateway, type IdentityAnswer } from './device-gateway.js';

const TIMEOUT_MS = 30_000;
const MAX_ANSWER_BYTES = 64 * 1024;

/** The gateway over HTTPS with the device's certificate (mutual TLS, DESIGN §5). */
export class HttpsDeviceGateway implements DeviceGateway {
  constructor(
    private readonly base: URL,
    private readonly credentials: DeviceCredentials,
  ) {}

  async identity(): Promise<IdentityAnswer> {
    const { status, body } = await this.send('GET', '/v1/device/identity');
    if (status !== 200) throw refusal(status, body, 'GET /v1/device/identity');
    return JSON.parse(body.toString('utf8')) as IdentityAnswer;
  }

  async rotate(csrDer: Buffer): Promise<Buffer> {
    const { status, body } = await this.send('POST', '/v1/csr', csrDer);
    if (status !== 200) throw refusal(status, body, 'POST /v1/csr');
    return body;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private send(method: 'GET' | 'POST', path: string, payload?: Buffer): Promise<{ status: number; body: Buffer }> {
    const url = new URL(path, this.base);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method,
          cert: this.credentials.certPem,
          key: this.credentials.keyPem,
          ...(this.credentials.serverCaPem ? { ca: this.credentials.serverCaPem } : {}),
          headers: payload ? { 'content-type': 'application/pkcs10', 'content-length': payload.length } : {},
          timeout: TIMEOUT_MS,
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_ANSWER_BYTES) res.destroy(new ApiClientError('SERVER_RESPONSE_INVALID', `${method} ${url.href} answered more than ${MAX_ANSWER_BYTES} bytes`));
            else chunks.push(chunk);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new ApiClientError('SERVER_TIMEOUT', `${method} ${url.href}: no answer within ${TIMEOUT_MS / 1000} s`)));
      req.on('error', (error) => reject(error instanceof ApiClientError ? error : new ApiClientError('SERVER_UNREACHABLE', `${method} ${url.href}: ${error.message}`)));
      req.end(payload);
    });
  }
}
