import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cliReferenceMarkdown, exitStatusesMarkdown, failureCodesMarkdown, managementApiMarkdown } from '../src/reference-docs.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

describe('docs/reference is generated from the code’s tables', () => {
  const cases = [
    { file: 'docs/reference/exit-statuses.md', render: exitStatusesMarkdown },
    { file: 'docs/reference/failure-codes.md', render: failureCodesMarkdown },
    { file: 'docs/reference/cli.md', render: cliReferenceMarkdown },
    { file: 'docs/reference/management-api.md', render: managementApiMarkdown },
  ];
  for (const c of cases) {
    it(`${c.file} is what the tables say now (else: npm run docs:reference)`, async () => {
      assert.equal(readFileSync(join(ROOT, c.file), 'utf8'), await c.render());
    });
  }
});
