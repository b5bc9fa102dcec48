import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { parseCmpMessage, PkiFailureInfo } from '@fleetpki/pki';
import { startTestApi, type TestApi } from './helpers/api.js';
import { seededRandom } from './helpers/seeded-random.js';

const run = promisify(execFile);

/**
 * Mutated CMP messages against the real server (issue 21): each answer is a PKIMessage with HTTP
 * 200 (an error message) or a problem with a 4xx code — never a 500, a hang or a crash — and
 * nothing is issued, since no mutation keeps the MAC valid. Seeded and replayable:
 * FLEETPKI_CMP_FUZZ_SEED=… FLEETPKI_CMP_FUZZ_SECONDS=600 FLEETPKI_CMP_FUZZ_ITERATIONS=1000000.
 */
const SEED = Number(process.env['FLEETPKI_CMP_FUZZ_SEED'] ?? Date.now() % 2 ** 31);
const SECONDS = Number(process.env['FLEETPKI_CMP_FUZZ_SECONDS'] ?? 8);
const ITERATIONS = Number(process.env['FLEETPKI_CMP_FUZZ_ITERATIONS'] ?? 3000);

describe('CMP fuzz: mutated PKIMessages', () => {
  let api: TestApi;
  let seedMessages: Buffer[];

  before(async () => {
    api = await startTestApi('sqlite');
    const dir = api.store.dataDir;
    assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'acme', slug: 'acme' } })).status, 201);
    assert.equal((await api.call('POST', '/v1/projects/acme/pki/cas', { json: { mode: 'generate' } })).status, 201);
    const made = await api.call('POST', '/v1/projects/acme/pki/enrollment-tokens', { json: { count: 2 } });
    const [ir, p10] = made.body['tokens'] as { id: string; token: string }[];
    await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'fuzz.key.pem'], { cwd: dir });
    await run('openssl', ['req', '-new', '-key', 'fuzz.key.pem', '-subj', '/O=acme/CN=fuzz-p10', '-out', 'fuzz.csr.pem'], { cwd: dir });
    const host = new URL(api.server.httpUrl).host;
    const common = ['-server', host, '-path', '.well-known/cmp/p/acme'];
    // Real exchanges first, so the seeds are what openssl sends: ir + certConf, p10cr + certConf, genm.
    await run('openssl', ['cmp', '-cmd', 'ir', ...common, '-ref', ir!.id, '-secret', `pass:${ir!.token}`, '-newkey', 'fuzz.key.pem', '-subject', '/O=acme/CN=fuzz-ir', '-certout', 'fuzz-ir.crt.pem', '-reqout', 'seed-ir.der,seed-ir-conf.der'], { cwd: dir });
    await run('openssl', ['cmp', '-cmd', 'p10cr', ...common, '-ref', p10!.id, '-secret', `pass:${p10!.token}`, '-csr', 'fuzz.csr.pem', '-certout', 'fuzz-p10.crt.pem', '-reqout', 'seed-p10.der,seed-p10-conf.der'], { cwd: dir });
    await run('openssl', ['cmp', '-cmd', 'genm', ...common, '-ref', p10!.id, '-secret', `pass:${p10!.token}`, '-infotype', 'caCerts', '-reqout', 'seed-genm.der'], { cwd: dir });
    seedMessages = ['seed-ir.der', 'seed-ir-conf.der', 'seed-p10.der', 'seed-p10-conf.der', 'seed-genm.der'].map((file) => readFileSync(join(dir, file)));
  });
  after(() => api.close());

  it('bad input to the transfer itself: each refusal with its code, nothing issued', async () => {
    const before = (await api.server.store.db.selectFrom('issued_certificates').select('id').execute()).length;
    const post = (body: Uint8Array, contentType: string) => fetch(`${api.server.httpUrl}/.well-known/cmp/p/acme`, { method: 'POST', headers: { 'content-type': contentType }, body });
    const cases: { name: string; send: () => Promise<Response>; status: number; code?: string; failInfo?: number }[] = [
      { name: 'not application/pkixcmp', send: () => post(new Uint8Array(seedMessages[0] as Buffer), 'application/octet-stream'), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { name: 'over 64 KiB', send: () => post(new Uint8Array(65 * 1024 + 1), 'application/pkixcmp'), status: 413, code: 'BODY_TOO_LARGE' },
      { name: 'an empty body', send: () => post(new Uint8Array(0), 'application/pkixcmp'), status: 200, failInfo: PkiFailureInfo.badDataFormat },
      { name: 'not DER at all', send: () => post(new TextEncoder().encode('hello'), 'application/pkixcmp'), status: 200, failInfo: PkiFailureInfo.badDataFormat },
      { name: 'a project that is not the token’s', send: () => fetch(`${api.server.httpUrl}/.well-known/cmp/p/other`, { method: 'POST', headers: { 'content-type': 'application/pkixcmp' }, body: new Uint8Array(seedMessages[4] as Buffer) }), status: 200, failInfo: PkiFailureInfo.notAuthorized },
    ];
    for (const c of cases) {
      const answer = await c.send();
      assert.equal(answer.status, c.status, c.name);
      const bytes = Buffer.from(await answer.arrayBuffer());
      if (c.code) assert.equal(JSON.parse(bytes.toString('utf8')).code, c.code, c.name);
      if (c.failInfo !== undefined) {
        const message = parseCmpMessage(bytes);
        assert.deepEqual(message.body.type === 'error' && message.body.failInfo, [c.failInfo], c.name);
      }
    }
    assert.equal((await api.server.store.db.selectFrom('issued_certificates').select('id').execute()).length, before);
  });

  it(`answers every mutation with a CMP error or a 4xx, never a 500, and issues nothing (seed ${SEED})`, async (t) => {
    t.diagnostic(`seed ${SEED}`);
    const random = seededRandom(SEED);
    const pick = (n: number): number => Math.floor(random() * n);
    const issuedBefore = (await api.server.store.db.selectFrom('issued_certificates').select('id').execute()).length;
    const deadline = Date.now() + SECONDS * 1000;
    const failInfoSeen = new Set<number>();
    let iterations = 0;
    while (iterations < ITERATIONS && Date.now() < deadline) {
      const original = seedMessages[pick(seedMessages.length)] as Buffer;
      let mutated: Buffer = Buffer.from(original);
      const kind = pick(5);
      if (kind === 0) for (let i = 0, n = 1 + pick(4); i < n; i++) mutated[pick(mutated.length)] = pick(256); // bytes
      else if (kind === 1) {
        const at = pick(mutated.length);
        mutated[at] = (mutated[at] as number) ^ (1 << pick(8)); // one bit
      }
      else if (kind === 2) mutated = mutated.subarray(0, pick(mutated.length)); // truncated
      else if (kind === 3) {
        // A length octet set to something else: the classic DER parser trap.
        const at = pick(Math.min(mutated.length, 64));
        mutated[at] = [0x80, 0x81, 0x84, 0xff, 0x00][pick(5)] as number;
      } else mutated = Buffer.concat([mutated, Buffer.from([pick(256), pick(256)])]); // trailing bytes
      const answer = await fetch(`${api.server.httpUrl}/.well-known/cmp/p/acme`, { method: 'POST', headers: { 'content-type': 'application/pkixcmp' }, body: new Uint8Array(mutated), signal: AbortSignal.timeout(5000) });
      const bytes = Buffer.from(await answer.arrayBuffer());
      assert.ok(answer.status < 500, `seed ${SEED}, iteration ${iterations}: HTTP ${answer.status} for ${mutated.toString('hex')}`);
      // A mutation that happened to change nothing is a replay (a genm is answered again): not a finding.
      if (answer.status === 200 && !mutated.equals(original)) {
        const message = parseCmpMessage(bytes);
        // Every mutation changes the protected part, the protection, or the framing: none may succeed.
        assert.equal(message.body.type, 'error', `seed ${SEED}, iteration ${iterations}: ${message.body.type} for ${mutated.toString('hex')}`);
        if (message.body.type === 'error') for (const bit of message.body.failInfo) failInfoSeen.add(bit);
      }
      iterations++;
    }
    t.diagnostic(`${iterations} mutations, failInfo bits seen: ${[...failInfoSeen].sort((a, b) => a - b).join(', ')}`);
    assert.ok(iterations >= 200, `only ${iterations} mutations ran`);
    assert.ok(failInfoSeen.has(PkiFailureInfo.badDataFormat) && failInfoSeen.has(PkiFailureInfo.badMessageCheck), 'malformed and MAC failures both seen');
    assert.equal((await api.server.store.db.selectFrom('issued_certificates').select('id').execute()).length, issuedBefore);
    // The server still enrolls afterwards.
    assert.equal((await api.call('GET', '/healthz', { key: null })).status, 200);
  });
});
