import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { after, describe, it } from 'node:test';
import { fleetpki } from './helpers/cli.js';
import { serveChild } from './helpers/serve-child.js';

/** Issue 18, 6: every `serve` flag has a FLEETPKI_* variable; the flag wins; --help lists them. */
describe('fleetpki serve from the environment', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetpki-serve-env-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--help names a variable for every option', () => {
    const help = fleetpki(['serve', '--help'], { cwd: dir }).stdout;
    const options = [...help.matchAll(/^\s+(--[a-z0-9-]+)/gm)].map((m) => m[1] as string).filter((flag) => flag !== '--help');
    assert.ok(options.length >= 17, options.join(' '));
    for (const flag of options) {
      const variable = `FLEETPKI_${flag.slice(2).toUpperCase().replaceAll('-', '_')}`;
      assert.match(help.replace(/\s+/g, ' '), new RegExp(`env: ${variable}\\)`), `${flag} lists ${variable}`);
    }
  });

  it('takes its settings from FLEETPKI_* variables, and a flag over its variable', async () => {
    // The variable says a 30 s drain; the flag says none, and wins.
    const served = await serveChild(['--drain-seconds', '0'], { FLEETPKI_DATA_DIR: join(dir, 'data'), FLEETPKI_DRAIN_SECONDS: '30', FLEETPKI_HOSTNAME: 'env-name.example,10.9.8.7' });
    try {
      assert.ok(readFileSync(join(dir, 'data', 'admin-api-key'), 'utf8').trim().length > 20, 'the data directory came from FLEETPKI_DATA_DIR');
      // The gateway's certificate names what FLEETPKI_HOSTNAME listed.
      const port = Number(new URL(served.gatewayUrl).port);
      const names = await new Promise<string>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
          resolve(socket.getPeerCertificate().subjectaltname ?? '');
          socket.destroy();
        });
        socket.on('error', reject);
      });
      assert.match(names, /DNS:env-name\.example/);
      assert.match(names, /IP Address:10\.9\.8\.7/);
    } finally {
      const signalled = Date.now();
      assert.equal(await served.stop(), 0);
      assert.ok(Date.now() - signalled < 5_000, `the flag's --drain-seconds 0 won over FLEETPKI_DRAIN_SECONDS=30 (${Date.now() - signalled} ms)`);
    }
  });
});
