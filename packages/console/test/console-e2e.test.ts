import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openssl } from '@fleetpki/test-support';
import { chromium, type Browser, type Page } from 'playwright-core';
import { curlIdentity, type DeviceFiles } from '../../server/dist/test/helpers/device-clients.js';
import { spawnServe, type ServeProcess } from '../../server/dist/test/helpers/serve-process.js';
import { WebhookReceiver } from '../../server/dist/test/helpers/webhook-receiver.js';

/**
 * The web console end to end, as a person uses it: the real `fleetpki serve`, Debian's chromium
 * driven by playwright-core, openssl-made certificates chosen through the real file chooser, and
 * a device connecting with curl. The screenshots it takes are the README's: every run takes them
 * all, into a temporary directory; with FLEETPKI_UPDATE_SCREENSHOTS=1 into docs/screenshots.
 */

const here = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(here, '../../..');
const UPDATE_SCREENSHOTS = process.env['FLEETPKI_UPDATE_SCREENSHOTS'] === '1';
const CHROMIUM = process.env['FLEETPKI_TEST_CHROMIUM'] ?? '/usr/bin/chromium';
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47]);

/** Takes a screenshot into `dir` and checks that it is a non-empty PNG. */
async function screenshot(page: Page, dir: string, name: string): Promise<void> {
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path });
  const png = readFileSync(path);
  assert.ok(png.length > PNG_MAGIC.length && png.subarray(0, PNG_MAGIC.length).equals(PNG_MAGIC), `${path} is a non-empty PNG`);
}

/** Chooses a file the way a person does: the click opens the browser's file chooser. */
async function chooseFile(page: Page, label: string, file: string): Promise<void> {
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByLabel(label).click()]);
  await chooser.setFiles(file);
}

describe('web console in chromium', { timeout: 180_000 }, () => {
  let dir: string;
  let served: ServeProcess;
  let device: DeviceFiles;
  let browser: Browser;
  let page: Page;
  let adminKey: string;
  let screenshots: string;

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `the console tests drive Debian's chromium at ${CHROMIUM}: apt-get install chromium (.ci/run does)`);
    dir = mkdtempSync(join(tmpdir(), 'fleetpki-console-'));
    // The seed's openssl flow: a root CA, and a device certificate under it for project acme.
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key.pem'], dir);
    openssl(['req', '-x509', '-new', '-nodes', '-key', 'ca.key.pem', '-sha256', '-subj', '/CN=Root CA', '-days', '10', '-out', 'ca.crt.pem'], dir);
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'device.key.pem'], dir);
    openssl(['req', '-new', '-key', 'device.key.pem', '-subj', '/O=acme/CN=sensor-1', '-out', 'device.csr.pem'], dir);
    openssl(['x509', '-req', '-in', 'device.csr.pem', '-CA', 'ca.crt.pem', '-CAkey', 'ca.key.pem', '-CAcreateserial', '-out', 'device.crt.pem', '-days', '7', '-sha256'], dir);
    device = { cert: join(dir, 'device.crt.pem'), key: join(dir, 'device.key.pem') };
    // The webhooks flow delivers to a receiver on loopback.
    served = await spawnServe(['--data-dir', join(dir, 'data'), '--allow-private-webhooks']);
    adminKey = readFileSync(join(dir, 'data', 'admin-api-key'), 'utf8').trim();
    const serverCa = await fetch(`${served.url}/v1/server-ca`);
    writeFileSync(join(dir, 'server-ca.pem'), Buffer.from(await serverCa.arrayBuffer()));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    screenshots = UPDATE_SCREENSHOTS ? join(REPO, 'docs/screenshots') : join(dir, 'screenshots');
    mkdirSync(screenshots, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await served?.stop('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a wrong key in words, then signs in with the admin key', async () => {
    await page.goto(served.url);
    await page.getByLabel('API key').fill('fpk_not-a-real-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'does not accept this API key' }).waitFor();
    await page.getByLabel('API key').fill(adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
    assert.equal(await page.getByText('Admin key').count(), 1);
  });

  it('creates project acme: the slug is suggested from the name and checked live', async () => {
    await page.getByRole('button', { name: 'Create project' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create project' });
    await dialog.getByLabel('Name').fill('Acme');
    assert.equal(await dialog.getByLabel('Slug (project ID)').inputValue(), 'acme');
    await dialog.getByText('“acme” is available.').waitFor();
    await dialog.getByLabel('Slug (project ID)').fill('Not A Slug');
    await dialog.getByText('A slug is 2 to 63 characters').waitFor();
    await dialog.getByLabel('Slug (project ID)').fill('acme');
    await dialog.getByText('“acme” is available.').waitFor();
    await dialog.getByRole('button', { name: 'Create project' }).click();
    await page.waitForURL('**/projects/acme/devices');
    await page.getByRole('heading', { name: 'Devices', level: 1 }).waitFor();
  });

  it('Credentials → Certificates: adds the openssl-made root through the file chooser and lists it with subject and expiry', async () => {
    const nav = page.getByRole('navigation', { name: 'Project acme' });
    await nav.getByRole('link', { name: 'Certificates' }).click();
    await page.waitForURL('**/projects/acme/credentials/certificates');
    await page.getByRole('button', { name: 'Add CA Certificate' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add CA Certificate' });
    await dialog.getByRole('radio', { name: 'Root' }).check();
    await chooseFile(page, 'Certificate file', join(dir, 'ca.crt.pem'));
    await dialog.getByRole('button', { name: 'Upload' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const row = page.getByRole('row').filter({ hasText: 'CN=Root CA' });
    await row.waitFor();
    const text = await row.innerText();
    assert.match(text, /Root/);
    // -days 10: it expires in 9 whole days, under 30, so the badge is amber.
    const badge = row.getByText(/expires in \d+ days/);
    assert.match(await badge.innerText(), /expires in (9|10) days/);
    assert.match((await badge.getAttribute('class')) ?? '', /badge-amber/);
    const fingerprint = openssl(['x509', '-in', 'ca.crt.pem', '-noout', '-fingerprint', '-sha256'], dir).toString('utf8').split('=')[1]?.trim();
    assert.ok(text.includes(fingerprint as string), `the row shows the SHA-256 fingerprint ${fingerprint}`);
    assert.equal(await row.getByRole('switch').getAttribute('aria-checked'), 'true');
    await page.getByRole('status').filter({ hasText: 'It expires in' }).waitFor();
  });

  it('Credentials → Issuing CA: creates a generated CA, then one signed offline by the openssl root through its CSR, which takes over issuing', async () => {
    const nav = page.getByRole('navigation', { name: 'Project acme' });
    await nav.getByRole('link', { name: 'Issuing CA' }).click();
    await page.waitForURL('**/projects/acme/credentials/pki');
    await page.getByText('This project has no issuing CA').waitFor();

    // (a) The server makes a root and an issuing CA.
    await page.getByRole('button', { name: 'Create issuing CA' }).click();
    let dialog = page.getByRole('dialog', { name: 'Create issuing CA' });
    await dialog.getByRole('radio', { name: 'Root and issuing CA made here' }).check();
    await dialog.getByLabel('Maximum validity (days)').fill('30');
    await dialog.getByLabel('Default validity (days)').fill('60');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'cannot be longer than the maximum' }).waitFor();
    await dialog.getByLabel('Default validity (days)').fill('7');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const generated = page.getByRole('article', { name: /^Root and issuing CA made here: .*fleetpki acme Issuing CA/ });
    await generated.getByText('Issuing', { exact: true }).waitFor();
    assert.match(await generated.innerText(), /Sealed under the master key[\s\S]*7 days by default, at most 30/);

    // (b) Only the issuing key here: its CSR is signed offline with the customer's own openssl root.
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'factory-root.key.pem'], dir);
    openssl(['req', '-x509', '-new', '-nodes', '-key', 'factory-root.key.pem', '-sha256', '-subj', '/CN=Factory Root', '-days', '30', '-out', 'factory-root.crt.pem'], dir);
    await page.getByRole('button', { name: 'Create issuing CA' }).click();
    dialog = page.getByRole('dialog', { name: 'Create issuing CA' });
    await dialog.getByRole('radio', { name: 'Issuing CA signed by your own root' }).check();
    await dialog.getByLabel('Default validity (days)').fill('1');
    await dialog.getByLabel('Maximum validity (days)').fill('3');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const pending = page.getByRole('article', { name: 'Issuing CA signed by your own root: waiting for its certificate' });
    await pending.getByText('Pending', { exact: true }).waitFor();
    const csrPem = await pending.getByLabel('Issuing CA CSR, PEM').innerText();
    assert.match(csrPem, /^-----BEGIN CERTIFICATE REQUEST-----/);
    writeFileSync(join(dir, 'issuing.csr.pem'), csrPem);
    writeFileSync(join(dir, 'issuing.ext'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
    openssl(['x509', '-req', '-in', 'issuing.csr.pem', '-CA', 'factory-root.crt.pem', '-CAkey', 'factory-root.key.pem', '-CAcreateserial', '-days', '5', '-sha256', '-extfile', 'issuing.ext', '-out', 'issuing.crt.pem'], dir);
    // The wrong file first: the device certificate does not certify the issuing key.
    await pending.getByRole('button', { name: 'Upload signed certificate' }).click();
    dialog = page.getByRole('dialog', { name: 'Upload signed certificate' });
    await chooseFile(page, 'Signed certificate file', join(dir, 'device.crt.pem'));
    await dialog.getByRole('button', { name: 'Upload' }).click();
    await dialog.getByRole('alert').waitFor();
    await chooseFile(page, 'Signed certificate file', join(dir, 'issuing.crt.pem'));
    await dialog.getByRole('button', { name: 'Upload' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const offline = page.getByRole('article', { name: /^Issuing CA signed by your own root: .*fleetpki acme Issuing CA/ });
    await offline.getByText('Issuing', { exact: true }).waitFor();
    assert.match(await offline.innerText(), /CN=Factory Root/);
    await generated.getByText('Active, superseded').waitFor();
    await screenshot(page, screenshots, 'issuing-ca');

    // The newest CA is the one that issues, and both are trust anchors of the project.
    const cas = (await (await fetch(`${served.url}/v1/projects/acme/pki/cas`, { headers: { 'x-api-key': adminKey } })).json()) as { list: { id: string; status: string; mode: string }[] };
    const offlineCa = cas.list.find((ca) => ca.mode === 'csr');
    assert.equal(offlineCa?.status, 'active');
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'factory.key.pem'], dir);
    openssl(['req', '-new', '-key', 'factory.key.pem', '-subj', '/O=acme/CN=factory-1', '-out', 'factory.csr.pem'], dir);
    const issued = await fetch(`${served.url}/v1/projects/acme/pki/issue`, {
      method: 'POST',
      headers: { 'x-api-key': adminKey, 'content-type': 'application/json' },
      body: JSON.stringify({ csr: readFileSync(join(dir, 'factory.csr.pem')).toString('base64') }),
    });
    assert.equal(issued.status, 201);
    assert.equal(((await issued.json()) as { caId: string }).caId, offlineCa?.id);
    await nav.getByRole('link', { name: 'Certificates' }).click();
    await page.getByRole('row').filter({ hasText: 'fleetpki acme Issuing CA' }).first().waitFor();
    assert.equal(await page.getByRole('row').filter({ hasText: 'fleetpki acme Issuing CA' }).count(), 2);
  });

  it('a device certificate uploaded as a CA is refused in words a person understands', async () => {
    await page.getByRole('button', { name: 'Add CA Certificate' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add CA Certificate' });
    await chooseFile(page, 'Certificate file', join(dir, 'device.crt.pem'));
    await dialog.getByRole('button', { name: 'Upload' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'This is a device certificate, not a CA.' }).waitFor();
    // Escape closes the dialog, as every dialog here.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await page.getByRole('row').filter({ hasText: 'CN=Root CA' }).count(), 1);
    await screenshot(page, screenshots, 'certificates');
  });

  it('a device that connects with curl appears on the Devices page without a reload, as created', async () => {
    await page.getByRole('navigation', { name: 'Project acme' }).getByRole('link', { name: 'Devices' }).click();
    await page.getByText('No devices yet.').waitFor();
    const first = await curlIdentity(served.gatewayUrl, join(dir, 'server-ca.pem'), device);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body['provisioning'], 'created');
    const row = page.getByRole('row').filter({ hasText: 'sensor-1' });
    await row.waitFor({ timeout: 15_000 });
    await row.getByText('Created', { exact: true }).waitFor();
    assert.equal(await row.getByRole('switch').getAttribute('aria-checked'), 'true');
    await row.getByText('just now').waitFor();
    await screenshot(page, screenshots, 'devices');
  });

  it('disabling the device in the UI makes its next curl fail', async () => {
    const row = page.getByRole('row').filter({ hasText: 'sensor-1' });
    await row.getByRole('switch', { name: 'Enabled: sensor-1' }).click();
    await row.getByRole('switch', { name: 'Enabled: sensor-1', checked: false }).waitFor();
    const refused = await curlIdentity(served.gatewayUrl, join(dir, 'server-ca.pem'), device);
    assert.equal(refused.status, 403);
    assert.equal(refused.body['code'], 'DEVICE_DISABLED');
  });

  it('the device page shows its certificate and recent authentication events', async () => {
    await page.getByRole('link', { name: 'sensor-1' }).click();
    await page.getByRole('heading', { name: 'sensor-1', level: 1 }).waitFor();
    await page.getByText('CN=Root CA').first().waitFor();
    const events = page.getByRole('table', { name: 'Recent authentication events' });
    await events.getByText('Refused: DEVICE_DISABLED').waitFor();
    await events.getByText('Accepted (created)').waitFor();
    await events.getByText('The device is disabled in this project').waitFor();
    await screenshot(page, screenshots, 'device');
  });

  it('revokes the device’s certificate from its page with a reason: the certificate shows revoked and its next curl is refused (CERT_REVOKED)', async () => {
    const table = page.getByRole('table', { name: 'Certificates' });
    await table.getByText('Active', { exact: true }).waitFor();
    await table.getByRole('button', { name: /^Revoke certificate [0-9A-F]+$/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke certificate' });
    await dialog.getByLabel('Reason').selectOption('superseded');
    await dialog.getByRole('button', { name: 'Revoke', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    await table.getByText('Revoked (superseded)').waitFor();
    const revocations = (await (await fetch(`${served.url}/v1/projects/acme/revocations`, { headers: { 'x-api-key': adminKey } })).json()) as { total: number; list: { reason: string }[] };
    assert.equal(revocations.total, 1);
    assert.equal(revocations.list[0]?.reason, 'superseded');
    // Enabled again, the device is still refused: its certificate is revoked.
    await page.getByRole('switch', { name: 'Enabled: sensor-1' }).click();
    await page.getByRole('switch', { name: 'Enabled: sensor-1', checked: true }).waitFor();
    const refused = await curlIdentity(served.gatewayUrl, join(dir, 'server-ca.pem'), device);
    assert.equal(refused.status, 403);
    assert.equal(refused.body['code'], 'CERT_REVOKED');
    assert.equal(refused.body['reason'], 'superseded');
  });

  it('the audit log explains the refusal and filters to refusals or changes', async () => {
    await page.getByRole('navigation', { name: 'Project acme' }).getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('heading', { name: 'Audit', level: 1 }).waitFor();
    await page.getByLabel('Show').selectOption({ label: 'Authentication refusals' });
    await page.getByText('The device is disabled in this project, so its connections are refused.').waitFor();
    const refusalRows = page.locator('tbody tr');
    await page.waitForFunction(() => [...document.querySelectorAll('tbody tr')].every((tr) => tr.textContent?.includes('Device refused')));
    assert.ok((await refusalRows.count()) >= 1);
    await screenshot(page, screenshots, 'audit-refusals');
    await page.getByLabel('Show').selectOption({ label: 'Changes' });
    await page.getByText('CA certificate added').waitFor();
    await page.waitForFunction(() => ![...document.querySelectorAll('tbody tr')].some((tr) => tr.textContent?.includes('Device refused')));
  });

  it('uploads an openssl ca CRL for the root: the dry run names the two devices it would cut, the operator confirms, they are refused; a stale CRL shows its badge', async () => {
    // Two more devices under the root, seen by the server (the inventory) before the CRL lists them.
    for (const name of ['sensor-2', 'sensor-3']) {
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key.pem`], dir);
      openssl(['req', '-new', '-key', `${name}.key.pem`, '-subj', `/O=acme/CN=${name}`, '-out', `${name}.csr.pem`], dir);
      openssl(['x509', '-req', '-in', `${name}.csr.pem`, '-CA', 'ca.crt.pem', '-CAkey', 'ca.key.pem', '-CAcreateserial', '-out', `${name}.crt.pem`, '-days', '7', '-sha256'], dir);
      const admitted = await curlIdentity(served.gatewayUrl, join(dir, 'server-ca.pem'), { cert: join(dir, `${name}.crt.pem`), key: join(dir, `${name}.key.pem`) });
      assert.equal(admitted.status, 200, JSON.stringify(admitted.body));
    }
    const seen = async () => {
      const page = (await (await fetch(`${served.url}/v1/projects/acme/device-certificates?status=active&perPage=100`, { headers: { 'x-api-key': adminKey } })).json()) as { list: { subject: string; firstSeenAt: string | null }[] };
      return page.list.filter((c) => c.firstSeenAt !== null && /CN=sensor-[23]$/.test(c.subject)).length;
    };
    for (let tries = 0; (await seen()) < 2 && tries < 50; tries += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(await seen(), 2);
    // The seed's offline PKI: openssl ca's index, -revoke, -gencrl.
    writeFileSync(join(dir, 'crl-ca.cnf'), '[ca]\ndefault_ca=c\n[c]\ndatabase=crl-index.txt\ncrlnumber=crl-number.txt\ndefault_md=sha256\n');
    writeFileSync(join(dir, 'crl-index.txt'), '');
    writeFileSync(join(dir, 'crl-number.txt'), '01\n');
    const ca = ['ca', '-config', 'crl-ca.cnf', '-cert', 'ca.crt.pem', '-keyfile', 'ca.key.pem'];
    for (const name of ['sensor-2', 'sensor-3']) openssl([...ca, '-revoke', `${name}.crt.pem`, '-crl_reason', 'keyCompromise'], dir);
    openssl([...ca, '-gencrl', '-crldays', '7', '-out', 'root-1.crl.pem'], dir);

    await page.getByRole('navigation', { name: 'Project acme' }).getByRole('link', { name: 'Certificates' }).click();
    const row = page.getByRole('row').filter({ hasText: 'CN=Root CA' });
    await row.getByText('none', { exact: true }).waitFor();
    await row.getByRole('button', { name: 'Upload CRL for /CN=Root CA' }).click();
    const dialog = page.getByRole('dialog', { name: 'Upload CRL' });
    await chooseFile(page, 'CRL file', join(dir, 'root-1.crl.pem'));
    await dialog.getByRole('button', { name: 'Upload', exact: true }).click();
    // Checked, not stored: who it would cut, and a button that says so.
    await dialog.getByRole('status').filter({ hasText: 'It would cut 2 devices whose certificate it newly lists: sensor-2, sensor-3.' }).waitFor();
    const beforeConfirm = await (await fetch(`${served.url}/v1/projects/acme/certificates`, { headers: { 'x-api-key': adminKey } })).json() as { list: { crl: unknown }[] };
    assert.equal(beforeConfirm.list[0]?.crl, null);
    assert.equal((await curlIdentity(served.gatewayUrl, join(dir, 'server-ca.pem'), { cert: join(dir, 'sensor-2.crt.pem'), key: join(dir, 'sensor-2.key.pem') })).status, 200);
    await screenshot(page, screenshots, 'crl-upload-confirm');
    await dialog.getByRole('button', { name: 'Put in force and cut 2 devices' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('status').filter({ hasText: 'CRL 1 is in force for /CN=Root CA, with 2 revoked serials.' }).waitFor();
    await row.getByText('No. 1 · 2 revoked').waitFor();
    for (const name of ['sensor-2', 'sensor-3']) {
      const refused = await curlIdentity(served.gatewayUrl, join(dir, 'server-ca.pem'), { cert: join(dir, `${name}.crt.pem`), key: join(dir, `${name}.key.pem`) });
      assert.equal(refused.status, 403, name);
      assert.equal(refused.body['code'], 'CERT_REVOKED', name);
      assert.equal(refused.body['reason'], 'keyCompromise', name);
    }

    // A newer CRL, valid for one second: nothing new to cut, so no question; once past its
    // nextUpdate, the CA certificate's row says it is stale.
    openssl([...ca, '-gencrl', '-crlsec', '1', '-out', 'root-2.crl.pem'], dir);
    await row.getByRole('button', { name: 'Upload CRL for /CN=Root CA' }).click();
    await chooseFile(page, 'CRL file', join(dir, 'root-2.crl.pem'));
    await dialog.getByRole('button', { name: 'Upload', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('status').filter({ hasText: 'It newly lists no certificate a device has connected with.' }).waitFor();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await page.reload();
    const stale = page.getByRole('row').filter({ hasText: 'CN=Root CA' }).getByText('stale', { exact: true });
    await stale.waitFor();
    assert.match((await stale.getAttribute('class')) ?? '', /badge-amber/);
    assert.match((await stale.getAttribute('title')) ?? '', /its entries still apply/);
  });

  it('Expiring: a devices-generate fleet of mixed lifetimes shows 3 / 5 / 7 within 7 / 30 / 90 days, the list, a CSV that parses, and a badge on the projects list', async () => {
    const cli = (args: readonly string[]) => execFileSync(process.execPath, [join(REPO, 'packages/cli/bin/fleetpki.js'), ...args], { cwd: dir, stdio: 'pipe' });
    const admin = { 'x-api-key': adminKey, 'content-type': 'application/json' };
    assert.equal((await fetch(`${served.url}/v1/projects`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'Fleet', slug: 'fleet' }) })).status, 201);
    cli(['key', 'create', '--out', 'fleet-ca.key.pem']);
    cli(['ca', 'create', '--key', 'fleet-ca.key.pem', '--subject', '/CN=Fleet Factory CA', '--days', '400', '--out', 'fleet-ca.crt.pem']);
    const uploaded = await fetch(`${served.url}/v1/projects/fleet/certificates`, { method: 'POST', headers: admin, body: JSON.stringify({ certFile: readFileSync(join(dir, 'fleet-ca.crt.pem')).toString('base64') }) });
    assert.equal(uploaded.status, 201);
    const batches = [
      { prefix: 'soon-', count: 3, days: 5 },
      { prefix: 'mid-', count: 2, days: 20 },
      { prefix: 'late-', count: 2, days: 60 },
    ];
    for (const batch of batches) {
      cli(['devices', 'generate', '--project', 'fleet', '--count', String(batch.count), '--days', String(batch.days), '--id-prefix', batch.prefix, '--workers', '1', '--ca-cert', 'fleet-ca.crt.pem', '--ca-key', 'fleet-ca.key.pem', '--out-dir', `fleet-${batch.prefix}`]);
      const [, ...rows] = readFileSync(join(dir, `fleet-${batch.prefix}`, 'manifest.csv'), 'utf8').trim().split('\n');
      for (const row of rows) {
        const [, , , , keyFile, certFile] = row.split(',');
        const admitted = await curlIdentity(served.gatewayUrl, join(dir, 'server-ca.pem'), { cert: join(dir, `fleet-${batch.prefix}`, certFile as string), key: join(dir, `fleet-${batch.prefix}`, keyFile as string) });
        assert.equal(admitted.status, 200, JSON.stringify(admitted.body));
      }
    }
    const within = async (days: number) => {
      const query = new URLSearchParams({ status: 'active', expiresAfter: new Date().toISOString(), expiresBefore: new Date(Date.now() + days * 86_400_000).toISOString(), perPage: '1' });
      return ((await (await fetch(`${served.url}/v1/projects/fleet/device-certificates?${query}`, { headers: admin })).json()) as { total: number }).total;
    };
    for (let tries = 0; (await within(90)) < 7 && tries < 50; tries++) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual([await within(7), await within(30), await within(90)], [3, 5, 7]);

    await page.goto(`${served.url}/projects`);
    const badge = page.getByRole('row').filter({ hasText: 'Fleet' }).getByRole('link', { name: '3 expiring within 7 days' });
    await badge.waitFor();
    await badge.click();
    await page.getByRole('heading', { name: 'Expiring', level: 1 }).waitFor();
    await page.getByTestId('expiring-90').filter({ hasText: '7' }).waitFor();
    assert.deepEqual([await page.getByTestId('expiring-7').innerText(), await page.getByTestId('expiring-30').innerText(), await page.getByTestId('expiring-90').innerText()], ['3', '5', '7']);
    // The default window is 30 days: the five soonest, soonest first.
    const table = page.getByRole('table', { name: 'Certificates expiring within 30 days' });
    await table.waitFor();
    const subjects = await table.locator('tbody tr td:first-child').allInnerTexts();
    assert.deepEqual(subjects.map((text) => text.replace(/^.*CN=/, '').replace(/\d+$/, '')), ['soon-', 'soon-', 'soon-', 'mid-', 'mid-']);
    await page.getByRole('button', { name: /within 90 days/ }).click();
    await page.getByRole('table', { name: 'Certificates expiring within 90 days' }).locator('tbody tr').nth(6).waitFor();
    await screenshot(page, screenshots, 'expiring');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
    assert.equal(download.suggestedFilename(), 'fleet-expiring-90-days.csv');
    const csv = readFileSync((await download.path()) as string, 'utf8').trim().split('\r\n');
    assert.equal(csv[0], 'fingerprintSha256,serialNumber,subject,issuer,notBefore,notAfter,deviceId,caId,source,status');
    const records = csv.slice(1).map((line) => line.split(','));
    assert.equal(records.length, 7);
    assert.ok(records.every((r) => r.length === 10 && /^[0-9a-f]{64}$/.test(r[0] as string) && r[9] === 'active' && r[8] === 'seen'));
    const notAfters = records.map((r) => Date.parse(r[5] as string));
    assert.deepEqual(notAfters, [...notAfters].sort((a, b) => a - b));
    await page.goto(`${served.url}/projects/acme/devices`); // where the next test starts
    await page.getByRole('heading', { name: 'Devices', level: 1 }).waitFor();
  });

  it('Project Settings: the slug with a copy button, and the server CA to download', async () => {
    await page.getByRole('navigation', { name: 'Project acme' }).getByRole('link', { name: 'Project Settings' }).click();
    await page.getByRole('heading', { name: 'Project Settings', level: 1 }).waitFor();
    assert.equal(await page.getByTestId('project-slug').innerText(), 'acme');
    await screenshot(page, screenshots, 'settings');
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await page.getByRole('button', { name: 'Copy the project ID' }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), 'acme');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download DER' }).click()]);
    assert.equal(download.suggestedFilename(), 'fleetpki-root.der');
    const der = readFileSync((await download.path()) as string);
    const expected = Buffer.from(await (await fetch(`${served.url}/v1/server-ca?format=der`)).arrayBuffer());
    assert.ok(der.equals(expected));
  });

  it('Project Settings › Webhooks: adds an endpoint (its secret shown once), sends a test event the receiver verifies, shows the delivery, deletes it', async () => {
    const receiver = new WebhookReceiver();
    await receiver.start();
    try {
      await page.getByRole('button', { name: 'Add webhook' }).click();
      const dialog = page.getByRole('dialog', { name: 'Add webhook' });
      await dialog.getByLabel('Endpoint URL').fill(receiver.url);
      await dialog.getByRole('button', { name: 'Add webhook' }).click();
      const secretDialog = page.getByRole('dialog', { name: 'Webhook secret' });
      const secret = await secretDialog.getByTestId('webhook-secret').innerText();
      assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
      receiver.useSecret(secret);
      await secretDialog.getByRole('button', { name: 'Done' }).click();
      const row = page.getByRole('row').filter({ hasText: receiver.url });
      await row.waitFor();
      assert.equal(await page.getByText(secret).count(), 0, 'the secret is not shown again');
      await row.getByRole('button', { name: `Send a test event to ${receiver.url}` }).click();
      await page.getByRole('status').filter({ hasText: 'Test event' }).waitFor();
      const deadline = Date.now() + 10_000;
      while (receiver.ofType('webhook.test').length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal(receiver.ofType('webhook.test').length, 1, `the receiver verified the test event (unverified: ${receiver.unverified.join('; ')})`);
      await row.getByRole('button', { name: `Deliveries of ${receiver.url}` }).click();
      const deliveries = page.getByRole('dialog', { name: 'Deliveries' });
      await deliveries.locator('[data-delivery="webhook.test"][data-status="delivered"]').waitFor();
      assert.match(await deliveries.getByRole('list', { name: /^Attempts of msg_/ }).innerText(), /HTTP 204/);
      await screenshot(page, screenshots, 'webhooks');
      await page.keyboard.press('Escape');
      await deliveries.waitFor({ state: 'hidden' });
      await row.getByRole('button', { name: `Delete webhook ${receiver.url}` }).click();
      await page.getByRole('dialog', { name: 'Delete webhook' }).getByRole('button', { name: 'Delete webhook' }).click();
      await row.waitFor({ state: 'detached' });
      await page.getByText('No webhooks yet.').waitFor();
    } finally {
      await receiver.stop();
    }
  });

  it('is usable by keyboard and readable at phone width', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${served.url}/projects/acme/credentials/certificates`);
    await page.getByRole('row').filter({ hasText: 'CN=Root CA' }).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `no sideways scrolling at 390 px (overflow ${overflow} px)`);
    await screenshot(page, screenshots, 'certificates-phone');
    // Keyboard only: Tab to "Add CA Certificate", open it with Enter, Escape closes it.
    await page.locator('body').focus();
    let reached = false;
    for (let i = 0; i < 20 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.textContent === 'Add CA Certificate');
    }
    assert.ok(reached, 'Tab reaches Add CA Certificate');
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: 'Add CA Certificate' }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog', { name: 'Add CA Certificate' }).waitFor({ state: 'hidden' });
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('deletes a project only after its slug is typed', async () => {
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Projects' }).click();
    await page.getByRole('button', { name: 'Create project' }).click();
    const create = page.getByRole('dialog', { name: 'Create project' });
    await create.getByLabel('Name').fill('Doomed Lab');
    await create.getByText('“doomed-lab” is available.').waitFor();
    await create.getByRole('button', { name: 'Create project' }).click();
    await page.waitForURL('**/projects/doomed-lab/devices');
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Projects' }).click();
    await page.getByRole('button', { name: 'Delete project Doomed Lab' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete project Doomed Lab' });
    const button = confirm.getByRole('button', { name: 'Delete project' });
    assert.equal(await button.isDisabled(), true);
    await confirm.getByLabel('Type doomed-lab to confirm').fill('doomed-lab');
    await button.click();
    await confirm.waitFor({ state: 'hidden' });
    await page.getByRole('row').filter({ hasText: 'doomed-lab' }).waitFor({ state: 'detached' });
    assert.equal(await page.getByRole('row').filter({ hasText: 'acme' }).count(), 1);
  });

  it('signs out, and the key is gone from the browser session', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    await page.reload();
    await page.getByLabel('API key').waitFor();
  });

  it('a project key sees its one project and cannot create one; revoking it signs the console out', async () => {
    const made = await fetch(`${served.url}/v1/projects/acme/api-keys`, {
      method: 'POST',
      headers: { 'x-api-key': adminKey, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'console test' }),
    });
    const projectKey = (await made.json()) as { id: string; key: string };
    await page.getByLabel('API key').fill(projectKey.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Project key', { exact: true }).waitFor();
    await page.getByRole('row').filter({ hasText: 'acme' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Create project' }).count(), 0);
    assert.equal(await page.getByRole('link', { name: 'Platform audit' }).count(), 0);
    await fetch(`${served.url}/v1/projects/acme/api-keys/${projectKey.id}`, { method: 'DELETE', headers: { 'x-api-key': adminKey } });
    await page.getByRole('link', { name: 'acme' }).first().click();
    await page.getByRole('status').filter({ hasText: 'You were signed out' }).waitFor();
    await page.getByLabel('API key').waitFor();
  });
});
