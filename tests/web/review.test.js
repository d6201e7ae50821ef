// tests/web/review.test.js - the review page in a real headless browser.
//
// Playwright's core library drives Debian's chromium (/usr/bin/chromium).  Run by
// tests/review/run.sh, which starts the private Postfix, the milter and
// apology-review, holds two replies and passes:
//   REVIEW_URL     base URL of apology-review
//   REVIEW_PASS    the password of the accounts "alice" (reviewer) and "root" (admin)
//   HELD_ID        a held reply to open and release, its blame-third-party finding marked wrong
//   XSS_ID         a held reply whose text carries <script> and an onerror attribute
//   WRONG_BEFORE   how often reviewers had marked blame-third-party wrong before this test
// Prints "ok NAME" or "FAIL NAME: why" per test; exits 1 when any failed.
'use strict';
const { chromium } = require('playwright-core');

const base = process.env.REVIEW_URL;
const pass = process.env.REVIEW_PASS;
const heldId = process.env.HELD_ID;
const xssId = process.env.XSS_ID;
let failed = 0;

async function test(name, fn) {
  try {
    await fn();
    console.log(`ok   web: ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL web: ${name}: ${String(e.message || e).split('\n')[0]}`);
  }
}

function expect(cond, why) {
  if (!cond) throw new Error(why);
}

async function logIn(page, user, password) {
  await page.goto(`${base}/login`);
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForLoadState('load'), page.click('button:has-text("Log in")')]);
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu'],
  });
  const reviewer = await browser.newContext();
  const page = await reviewer.newPage();
  const dialogs = [];
  page.on('dialog', async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });

  await test('a wrong password is refused', async () => {
    await logIn(page, 'alice', 'not-the-password');
    expect(new URL(page.url()).pathname === '/login', `went to ${page.url()}`);
    expect(await page.isVisible('#login-error'), 'no error shown');
    const cookies = await reviewer.cookies();
    expect(!cookies.some((c) => c.name === 'apology_session'), 'a session cookie was set');
  });

  await test('a reviewer logs in and sees the queue with its count', async () => {
    await logIn(page, 'alice', pass);
    expect(new URL(page.url()).pathname === '/', `went to ${page.url()}`);
    const count = await page.textContent('#count');
    expect(/\d+ waiting for review/.test(count), `count: ${count}`);
    expect(await page.isVisible(`#queue a[href="/reply/${heldId}"]`), 'held reply not listed');
    const session = (await reviewer.cookies()).find((c) => c.name === 'apology_session');
    expect(session && session.httpOnly && session.sameSite === 'Strict', 'cookie flags');
  });

  await test('a held reply shows its highlighted, explained finding', async () => {
    await page.click(`#queue a[href="/reply/${heldId}"]`);
    const mark = page.locator('#new-text mark[data-rule="blame-third-party"]');
    expect(await mark.count() >= 1, 'no blame-third-party mark');
    expect((await mark.first().textContent()).includes('courier'), 'mark is not on "courier"');
    const findings = await page.textContent('.finding.hold');
    expect(/Why:.*Instead:/s.test(findings), 'finding not explained');
    expect((await page.textContent('#complaint')).includes('client.example'), 'no complaint');
  });

  await test('a POST without the CSRF token is refused', async () => {
    const r = await page.request.post(`${base}/reply/${heldId}/decide`, {
      form: { action: 'discard' },
      maxRedirects: 0,
    });
    expect(r.status() === 403, `status ${r.status()}`);
    await page.reload();
    expect((await page.textContent('#state')) === 'held', 'the reply changed state');
  });

  await test('a reviewer is refused the admin pages', async () => {
    for (const path of ['/audit', '/stats']) {
      const r = await page.goto(`${base}${path}`);
      expect(r.status() === 403, `${path}: status ${r.status()}`);
    }
  });

  await test('a reply containing <script> is shown as harmless text', async () => {
    const r = await page.goto(`${base}/reply/${xssId}`);
    expect(r.status() === 200, `status ${r.status()}`);
    await page.waitForTimeout(300);
    expect(dialogs.length === 0, `a dialog opened: ${dialogs.join(', ')}`);
    const text = await page.textContent('#new-text');
    expect(text.includes('<script>alert("owned")</script>'), 'script text not shown literally');
    expect(text.includes('<img src=x onerror='), 'img text not shown literally');
    expect((await page.locator('main script, main img').count()) === 0, 'markup from mail was rendered');
    expect((await page.evaluate(() => window.owned)) === undefined, 'the script ran');
  });

  await test('a reviewer releases a held reply, marking one finding wrong and the thread no complaint', async () => {
    await page.goto(`${base}/reply/${heldId}`);
    await page.check('input[name="wrong-blame-third-party"] >> nth=0');
    await page.check('#complaint-side input[name="wrong-complaint"]');
    await Promise.all([page.waitForURL(/done=release/), page.click('button[value=release]')]);
    expect((await page.textContent('#notice')).includes('release'), 'no notice');
    expect((await page.textContent('#state')) === 'released', 'state not released');
    expect((await page.textContent('#trail')).includes('release by alice'), 'not in the trail');
  });

  const admin = await browser.newContext();
  const apage = await admin.newPage();
  await test('an admin sees the audit trail and the charts', async () => {
    await logIn(apage, 'root', pass);
    await apage.goto(`${base}/audit`);
    expect((await apage.textContent('#audit')).includes('alice'), 'decision missing from the audit');
    await apage.goto(`${base}/stats`);
    expect((await apage.locator('svg#per-rule rect').count()) >= 1, 'no bars per rule');
    expect((await apage.locator('svg#per-week rect').count()) >= 1, 'no bars per week');
    const wrong = await apage.textContent('#precision tr:has(td.rule:text-is("blame-third-party")) td.wrong');
    const want = Number(process.env.WRONG_BEFORE) + 1; // the release above marked it once more
    expect(Number(wrong) === want, `blame-third-party marked wrong ${wrong} time(s), not ${want}`);
    expect(await apage.isVisible('#most-wrong li[data-rule="blame-third-party"]'), 'not among the most often wrong');
    const gate = await apage.textContent('#precision tr:has(td.rule:text-is("complaint")) td.wrong');
    expect(Number(gate) >= 1, `the thread marked as no complaint is not counted: ${gate}`);
  });

  await browser.close();
  process.exit(failed ? 1 : 0);
})().catch((e) => {
  console.log(`FAIL web: ${e.message}`);
  process.exit(1);
});
