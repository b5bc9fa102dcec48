import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The CLI's and the console's API types are generated from the server's OpenAPI document and
 * committed; this regenerates them in memory from the built server, as `npm run api:types` does,
 * and fails when a committed copy is not what the routes declare today.
 */

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

interface Generator {
  readonly API_TYPES_FILES: readonly string[];
  renderApiTypes(): Promise<string>;
}

const generator = (await import(pathToFileURL(resolve(REPO, 'scripts/generate-api-types.mjs')).href)) as Generator;

/** Where two texts part, as a line number and the two lines, for the failure message. */
function firstDifference(committed: string, generated: string): string {
  const a = committed.split('\n');
  const b = generated.split('\n');
  const line = a.findIndex((text, i) => text !== b[i]);
  const at = line === -1 ? a.length : line;
  return `line ${at + 1}: committed ${JSON.stringify(a[at] ?? '(end of file)')}, generated ${JSON.stringify(b[at] ?? '(end of file)')}`;
}

describe('generated API types', () => {
  it('are one copy for the CLI and one for the console', () => {
    assert.deepEqual(
      generator.API_TYPES_FILES.map((file) => relative(REPO, file)),
      ['packages/cli/src/openapi.generated.ts', 'packages/console/src/openapi.generated.ts'],
    );
  });

  it('are what the server’s OpenAPI document generates today (else run npm run api:types)', async () => {
    const generated = await generator.renderApiTypes();
    for (const file of generator.API_TYPES_FILES) {
      const committed = readFileSync(file, 'utf8');
      assert.ok(committed === generated, `${relative(REPO, file)} is stale: run \`npm run api:types\` and commit the result (${firstDifference(committed, generated)})`);
    }
  });

  it('describe the API the clients call, nullable references as null', async () => {
    const generated = await generator.renderApiTypes();
    for (const path of ['/v1/projects', '/v1/projects/{projectId}/devices/{deviceId}', '/v1/projects/{projectId}/pki/cas', '/v1/audit']) {
      assert.ok(generated.includes(`readonly "${path}": {`), path);
    }
    // A pending managed CA has no certificate yet: the server sends null, and the type says so.
    assert.match(generated, /readonly certificateContent: components\["schemas"\]\["CertificateContent"\] \| null;/);
    assert.doesNotMatch(generated, /& unknown;/);
  });
});
