/**
 * A Block1 flooder in a process of its own, so the server's memory is measured without the
 * client's: `node coap-block1-flood.js PORT CERT KEY COUNT MS` opens one DTLS session, sends up
 * to COUNT confirmable Block1 pieces of `POST /v1/csr` (1,024 bytes each, NUM counting up, more
 * to come) for at most MS milliseconds, and prints `{"sent":N,"answers":A,"ms":T}`.
 */
import { readFileSync } from 'node:fs';
import { blockOption } from '../../src/gateway/coap-blocks.js';
import { CoapOption, CoapType, encodeCoapMessage } from '../../src/gateway/coap-message.js';
import { TestCoapClient } from './coap-session-client.js';

const [port, certFile, keyFile, count, maxMs] = process.argv.slice(2);
const client = new TestCoapClient(readFileSync(certFile as string, 'utf8'), readFileSync(keyFile as string, 'utf8'), Number(port));
if ((await client.connect()) !== 'established') throw new Error('no DTLS session');
let answers = 0;
client.dtls.onData = () => answers++;
const piece = Buffer.alloc(1024, 0x41);
const started = Date.now();
let sent = 0;
while (sent < Number(count) && Date.now() - started < Number(maxMs)) {
  for (let i = 0; i < 100; i++, sent++) {
    const options = [
      { number: CoapOption.URI_PATH, value: Buffer.from('v1') },
      { number: CoapOption.URI_PATH, value: Buffer.from('csr') },
      blockOption(CoapOption.BLOCK1, { num: sent % 1000, more: true, size: 1024 }),
    ];
    client.sendRaw(encodeCoapMessage({ type: CoapType.CON, code: 2, messageId: sent & 0xffff, token: Buffer.from([sent & 0xff]), options, payload: piece }));
  }
  await new Promise((resolve) => setTimeout(resolve, 1));
}
await new Promise((resolve) => setTimeout(resolve, 300));
process.stdout.write(JSON.stringify({ sent, answers, ms: Date.now() - started }));
client.close();
setTimeout(() => process.exit(0), 100);
