// What the tests of every package share. Package-specific helpers (the server's API client, the
// CLI runner, the pki's DER surgery) stay beside the tests that use them.
export { epochSeconds, openssl, opensslAsync, opensslStatus, type OpensslResult } from './openssl/run.js';
export { opensslFingerprint, opensslNotAfter } from './openssl/certificate-fields.js';
export { opensslCrl } from './openssl/crl.js';
export { tempDir, type TempDir } from './temp-dir.js';
export { DAY_MS, T0, type ValidityWindow } from './fixtures/validity-window.js';
export { KEY_SPECS, newKey } from './fixtures/keys.js';
export type { Issued } from './fixtures/issued.js';
export { makeDevice, makeForbiddenIntermediate, makeIntermediate, makeIssued, makeRoot } from './fixtures/certificates.js';
export { csrFor } from './fixtures/csr.js';
