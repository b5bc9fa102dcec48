// Builds the DTLS addon from source with node-gyp (run by `npm install`/`npm ci`). It compiles
// against the headers of the Node that runs it, found next to its binary when the distribution
// ships them (Debian's nodejs does, in /usr/include/node), so no header download is needed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const prefix = resolve(dirname(process.execPath), '..');
const args = ['rebuild', `--directory=${here}`];
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
// npm tells its scripts where its own node-gyp is; outside npm, the one on PATH.
const gyp = process.env.npm_config_node_gyp;
const result = gyp ? spawnSync(process.execPath, [gyp, ...args], { stdio: 'inherit' }) : spawnSync('node-gyp', args, { stdio: 'inherit' });
process.exit(result.status ?? 1);
