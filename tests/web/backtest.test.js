// tests/web/backtest.test.js - the HTML report of `apologyctl backtest` in a real headless browser.
//
// Playwright's core library drives Debian's chromium (/usr/bin/chromium).  Run by
// tests/backtest.py, which generates an archive, runs the backtest with --report and passes:
//   REPORT   the path of index.html
//   EXPECT   JSON: {"per-week": bars, "per-rule": bars, "per-sender": bars, "rows": table rows,
//            "script": a text the page must show as text, not run}
// Prints "ok NAME" or "FAIL NAME: why" per test; exits 1 when any failed.
'use strict';
const { chromium } = require('playwright-core');
const url = require('url');
const { test, expect, failed } = require('./harness');

const want = JSON.parse(process.env.EXPECT);

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu'],
  });
  const page = await browser.newPage();
  const dialogs = [];
  const requests = [];
  page.on('dialog', async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  page.on('request', (r) => requests.push(r.url()));
  const file = url.pathToFileURL(process.env.REPORT).href;
  await page.goto(file);

  await test('the report renders', async () => {
    expect(await page.isVisible('h1'), 'no heading');
    expect(await page.isVisible('svg#per-week'), 'no weekly chart');
    const box = await page.locator('svg#per-week').boundingBox();
    expect(box && box.height > 20, 'the weekly chart has no height');
  });

  await test('each chart has one bar per key', async () => {
    for (const id of ['per-week', 'per-rule', 'per-sender']) {
      const n = await page.locator(`svg#${id} g.bar`).count();
      expect(n === want[id], `${id}: ${n} bars, expected ${want[id]}`);
      const rects = await page.locator(`svg#${id} rect`).count();
      expect(rects >= n, `${id}: ${rects} rects for ${n} bars`);
    }
  });

  await test('one row per held or advised reply', async () => {
    const n = await page.locator('table#messages tr.hold, table#messages tr.advise').count();
    expect(n === want.rows, `${n} rows, expected ${want.rows}`);
    expect((await page.locator('table#messages mark').count()) > 0, 'no marked findings');
  });

  await test('<script> in a message is shown, not run', async () => {
    const text = await page.locator('table#messages').innerText();
    expect(text.includes(want.script), 'the script text is not shown as text');
    expect(dialogs.length === 0, `a dialog opened: ${dialogs[0]}`);
    expect((await page.evaluate(() => window.owned)) === undefined, 'an onerror handler ran');
    expect((await page.locator('table#messages script, table#messages img').count()) === 0,
           'mail became markup');
  });

  await test('nothing is fetched', async () => {
    const other = requests.filter((r) => r !== file);
    expect(other.length === 0, `fetched ${other[0]}`);
  });

  await browser.close();
  process.exit(failed() ? 1 : 0);
})().catch((e) => {
  console.log(`FAIL web: ${e.message}`);
  process.exit(1);
});
