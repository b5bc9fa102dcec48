// What the benchmarks share: free ports, medians and percentiles, and readings of a process
// (or a process and its node:cluster workers) from /proc.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Linux USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s. */
export const CLK_TCK = 100;

/** The middle value; of an even count, the mean of the two middle ones. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The value below which `fraction` of the values lie (nearest rank). */
export function percentile(values, fraction) {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))];
}

/** A TCP port nothing listens on now, for a server that needs an explicit one. */
export function freePort() {
  return new Promise((done, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

/** The process and, recursively, its children (a cluster primary and its workers). */
export function processTree(pid) {
  let children = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    /* gone */
  }
  return [pid, ...children.flatMap(processTree)];
}

/** CPU ticks (user + system) of a process, all its threads. */
export function cpuTicks(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

export const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

/** Sums of a reading over a process tree. */
export const treeCpuTicks = (pid) => processTree(pid).reduce((sum, p) => sum + cpuTicks(p), 0);
export const treeRssKiB = (pid) => processTree(pid).reduce((sum, p) => sum + rssKiB(p), 0);
