// tests/web/tls.test.js - the review page over its own HTTPS in a real headless browser.
//
// Run by tests/review/tls.py (test "browser"), which makes a self-signed certificate,
// starts apology-review with tls-cert and tls-key and passes:
//   REVIEW_URL   https://127.0.0.1:PORT
//   REVIEW_PASS  the password of the account "alice"
//   CERT_SPKI    base64 SHA-256 of the certificate's public key: the one certificate
//                chromium is told to trust (--ignore-certificate-errors-spki-list)
// Prints "ok NAME" or "FAIL NAME: why" per test; exits 1 when any failed.
'use strict';
const { chromium } = require('playwright-core');

const base = process.env.REVIEW_URL;
const pass = process.env.REVIEW_PASS;
const spki = process.env.CERT_SPKI;
let failed = 0;

async function test(name, fn) {
  try {
    await fn();
    console.log(`ok   web-tls: ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL web-tls: ${name}: ${String(e.message || e).split('\n')[0]}`);
  }
}

function expect(cond, why) {
  if (!cond) throw new Error(why);
}

function launch(args) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu'].concat(args),
  });
}

(async () => {
  const browser = await launch([`--ignore-certificate-errors-spki-list=${spki}`]);
  const context = await browser.newContext();
  const page = await context.newPage();

  await test('the log-in page comes over HTTPS with HSTS', async () => {
    const r = await page.goto(`${base}/login`);
    expect(r.status() === 200, `status ${r.status()}`);
    expect(new URL(page.url()).protocol === 'https:', `at ${page.url()}`);
    const hsts = r.headers()['strict-transport-security'];
    expect(hsts === 'max-age=31536000', `Strict-Transport-Security: ${hsts}`);
  });

  await test('a log-in over HTTPS reaches the queue with a Secure session cookie', async () => {
    await page.fill('input[name=user]', 'alice');
    await page.fill('input[name=password]', pass);
    await Promise.all([page.waitForLoadState('load'), page.click('button:has-text("Log in")')]);
    expect(new URL(page.url()).pathname === '/', `went to ${page.url()}`);
    expect(await page.isVisible('text=Log out'), 'no log-out button');
    const session = (await context.cookies()).find((c) => c.name === 'apology_session');
    expect(session && session.secure && session.httpOnly, `cookie ${JSON.stringify(session)}`);
  });
  await browser.close();

  await test('a browser that does not trust the certificate refuses the page', async () => {
    const wary = await launch([]);
    const p = await (await wary.newContext()).newPage();
    let error = '';
    try {
      await p.goto(`${base}/login`);
    } catch (e) {
      error = String(e.message || e);
    }
    await wary.close();
    expect(/ERR_CERT/.test(error), `loaded, or another error: ${error.split('\n')[0]}`);
  });

  process.exit(failed ? 1 : 0);
})();
