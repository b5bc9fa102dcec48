import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';

/**
 * A relying party in a process of its own, as a customer's backend would be: it knows only the
 * JWKS URL, the issuer and its audience, verifies device tokens with jose and checks each is
 * bound (RFC 8705 §3) to the certificate the device used. The test runs this file as a script.
 */
export interface VerificationRequest {
  readonly jwksUrl: string;
  readonly issuer: string;
  readonly audience: string;
  /** The verifier's clock (ISO 8601): the server under test runs on a moved clock. */
  readonly currentDate: string;
  readonly tokens: readonly { readonly token: string; readonly certificatePem: string }[];
}

export type Verification =
  | { readonly ok: true; readonly kid: string | undefined; readonly typ: string | undefined; readonly payload: JWTPayload; readonly boundToCertificate: boolean }
  | { readonly ok: false; readonly kid: string | undefined; readonly error: string };

/** Runs the verifier as a separate node process and returns what it printed. */
export function verifyInSeparateProcess(request: VerificationRequest): Promise<Verification[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [fileURLToPath(import.meta.url)], { timeout: 20_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`the verifier failed: ${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as Verification[]);
    });
    child.stdin?.end(JSON.stringify(request));
  });
}

async function verifyAll(request: VerificationRequest): Promise<Verification[]> {
  const jwks = createRemoteJWKSet(new URL(request.jwksUrl));
  const results: Verification[] = [];
  for (const { token, certificatePem } of request.tokens) {
    const kid = decodeProtectedHeader(token).kid;
    try {
      const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: request.issuer, audience: request.audience, algorithms: ['ES256'], currentDate: new Date(request.currentDate) });
      const thumbprint = createHash('sha256').update(new X509Certificate(certificatePem).raw).digest('base64url');
      const cnf = payload['cnf'] as Record<string, unknown> | undefined;
      results.push({ ok: true, kid, typ: protectedHeader.typ, payload, boundToCertificate: cnf?.['x5t#S256'] === thumbprint });
    } catch (error) {
      results.push({ ok: false, kid, error: (error as { code?: string }).code ?? String(error) });
    }
  }
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const chunks: Buffer[] = [];
  process.stdin.on('data', (chunk: Buffer) => chunks.push(chunk));
  process.stdin.on('end', () => {
    verifyAll(JSON.parse(Buffer.concat(chunks).toString('utf8')) as VerificationRequest).then(
      (results) => process.stdout.write(JSON.stringify(results)),
      (error: unknown) => {
        process.stderr.write(String(error));
        process.exitCode = 1;
      },
    );
  });
}
