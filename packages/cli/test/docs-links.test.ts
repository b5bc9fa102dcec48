import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/** The repository root, from packages/cli/dist/test. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
/** README stays an entry page: what fleetpki is, the two commands, the seed's flow, links. */
const README_MAX_BYTES = 10 * 1024;
/** Backticked text that names a file of the repository (globs and elisions are not checked). */
const REPO_PATH = /^(?:packages|bench|conformance|docs|\.ci)\/[\w./-]+$/;
/** Backticked text that names a source file of the server by its folder under packages/server/src. */
const SERVER_PATH = /^(?:gateway|http|domain|edge|platform|store)\/[\w./-]+\.ts$/;

function markdownFiles(): string[] {
  const files = ['README.md', 'CONTRIBUTING.md'].map((f) => join(ROOT, f));
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry.endsWith('.md')) files.push(path);
    }
  };
  walk(join(ROOT, 'docs'));
  return files;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const line of markdown.split('\n')) {
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) out.add((heading[1] as string).toLowerCase().replace(/[^\p{L}\p{N}\s-]/gu, '').trim().replace(/\s/g, '-'));
  }
  return out;
}

describe('the documentation', () => {
  const files = markdownFiles();

  it(`README.md is under ${README_MAX_BYTES} bytes`, () => {
    assert.ok(statSync(join(ROOT, 'README.md')).size < README_MAX_BYTES, `README.md is ${statSync(join(ROOT, 'README.md')).size} bytes`);
  });

  it('has the pages the README links to', () => {
    assert.ok(files.length >= 10, `${files.length} Markdown files`);
  });

  for (const file of files) {
    const name = relative(ROOT, file);
    it(`${name}: every relative link and every repository path it names exists`, () => {
      const text = readFileSync(file, 'utf8');
      const broken: string[] = [];
      for (const match of text.matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)) {
        const target = match[1] as string;
        if (/^(https?:|mailto:)/.test(target)) continue;
        const [path, anchor] = target.split('#') as [string, string | undefined];
        const resolved = path === '' ? file : resolve(dirname(file), path);
        if (!existsSync(resolved)) {
          broken.push(`link ${target}`);
          continue;
        }
        if (anchor && resolved.endsWith('.md') && !anchors(readFileSync(resolved, 'utf8')).has(anchor)) broken.push(`anchor ${target}`);
      }
      for (const match of text.matchAll(/`([^`\n]+)`/g)) {
        const path = (match[1] as string).replace(/:\d+$/, '');
        if (REPO_PATH.test(path) && !existsSync(join(ROOT, path))) broken.push(`path ${path}`);
        if (SERVER_PATH.test(path) && !existsSync(join(ROOT, 'packages/server/src', path))) broken.push(`server path ${path}`);
      }
      assert.deepEqual(broken, []);
    });
  }
});
