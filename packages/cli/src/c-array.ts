/** Bytes per line of the array, as `xxd -i` prints them. */
const BYTES_PER_LINE = 12;

/** A comment line that cannot end the comment early or carry anything but printable ASCII. */
function commentText(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').replace(/\*\//g, '*\\/');
}

/**
 * DER bytes as C source, the way firmware SDKs embed a CA certificate:
 * `static const unsigned char NAME[] = { 0x30, … };` and `static const unsigned int NAME_len = N;`.
 */
export function renderCArray(der: Uint8Array, name: string, comment: readonly string[] = []): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a C identifier: ${name}`);
  const lines: string[] = [];
  if (comment.length > 0) lines.push('/*', ...comment.map((line) => ` * ${commentText(line)}`.trimEnd()), ' */');
  lines.push(`static const unsigned char ${name}[] = {`);
  for (let i = 0; i < der.length; i += BYTES_PER_LINE) {
    const bytes = Array.from(der.subarray(i, i + BYTES_PER_LINE), (b) => `0x${b.toString(16).padStart(2, '0')}`);
    lines.push(`    ${bytes.join(', ')}${i + BYTES_PER_LINE < der.length ? ',' : ''}`);
  }
  lines.push('};', `static const unsigned int ${name}_len = ${der.length};`);
  return lines.join('\n') + '\n';
}
