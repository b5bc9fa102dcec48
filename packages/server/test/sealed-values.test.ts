import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { SEALED_COLUMN_NAMES } from '../src/platform/sealed-values.js';

const schemaSource = join(dirname(fileURLToPath(import.meta.url)), '../../src/store/schema.ts');

/**
 * A master-key rotation re-seals the columns sealed-values.ts lists, and no other: a sealed column
 * added to the schema but not to the list would keep its values under a retired key. Every
 * column whose name says sealed must be listed (and the master-key check setting is).
 */
describe('the sealed columns a master-key rotation re-seals', () => {
  it('lists every column of the schema whose name says it is sealed', () => {
    const source = readFileSync(schemaSource, 'utf8');
    const tables = [...source.matchAll(/^export interface (\w+)Table \{([^}]*)\}/gm)];
    const tableNames = new Map([...source.matchAll(/^\s+(\w+): (\w+)Table;$/gm)].map((m) => [m[2] as string, m[1] as string]));
    const sealed = tables.flatMap(([, type, body]) => [...(body as string).matchAll(/^\s+(\w*sealed\w*)\??:/gm)].map((m) => `${tableNames.get(type as string)}.${m[1]}`));
    assert.ok(sealed.length >= 2, `found ${sealed.join(', ')}`);
    for (const column of sealed) assert.ok(SEALED_COLUMN_NAMES.includes(column), `${column} is re-sealed by a rotation`);
    assert.ok(SEALED_COLUMN_NAMES.includes('platform_settings.value'));
  });
});
