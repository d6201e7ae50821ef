// tests/web/review_page.test.js - what a reviewer reads on the review page, in a real
// headless browser: the complaint beside the reply, earlier apologies, findings about the
// whole reply, and the queue's order and pages.
//
// Playwright's core library drives Debian's chromium (/usr/bin/chromium).  Run by
// tests/review/review_page.py (make review-page-test), which starts apology-review with a
// store it filled and passes:
//   REVIEW_URL   base URL of apology-review
//   REVIEW_PASS  the password of the account "alice" (reviewer)
//   EXPECT       JSON: reply (its id), before/after (ids of the same sender's held replies
//                to the same client before and after it), earlier/own/later (times of
//                apologies before it, its own, after it), complaintDate, severity, script
//                (text in the complaint that must not run), whole/pinned (its rules about
//                the whole reply and about words), oldest/score/sender (all held ids in
//                each order), pageSize, findings/rules (of the reply), precision/mostWrong/
//                examples/monitorSenders/advisedRules/advisedSenders (what the statistics page shows)
// Prints "ok   web: NAME" or "FAIL web: NAME: why" per test; exits 1 when any failed.
'use strict';
const { chromium } = require('playwright-core');
const { test, expect, failed } = require('./harness');

const base = process.env.REVIEW_URL;
const want = JSON.parse(process.env.EXPECT);

async function rowIds(page) {
  return page.$$eval('#queue tr td:first-child a', (as) => as.map((a) => Number(a.textContent)));
}

function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu'],
  });
  const page = await (await browser.newContext()).newPage();
  const dialogs = [];
  page.on('dialog', async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  await page.goto(`${base}/login`);
  await page.fill('input[name=user]', 'alice');
  await page.fill('input[name=password]', process.env.REVIEW_PASS);
  await Promise.all([page.waitForURL(`${base}/`), page.click('button:has-text("Log in")')]);

  await test('the queue is oldest first, a page at a time, with the complaint severity', async () => {
    const ids = await rowIds(page);
    expect(same(ids, want.oldest.slice(0, want.pageSize)), `first page: ${ids.slice(0, 5)}...`);
    expect(await page.locator('#prev').count() === 0, 'a previous link on the first page');
    const sev = await page.$$eval('#queue td.severity', (tds) => tds.map((t) => t.textContent));
    expect(sev.length === ids.length && sev.every((s) => s === 'none'), `other rows' severity: ${sev[0]}`);
    await page.goto(`${base}/?page=${Math.floor(want.oldest.indexOf(want.reply) / want.pageSize) + 1}`);
    const mine = await page.textContent(`#queue tr:has(a[href="/reply/${want.reply}"]) td.severity`);
    expect(mine === want.severity, `the reply's severity column: ${mine}`);
    await page.goto(`${base}/`);
  });

  await test('next and previous show the right rows; a page past the end shows the last', async () => {
    await Promise.all([page.waitForURL(/page=2/), page.click('#next')]);
    let ids = await rowIds(page);
    expect(same(ids, want.oldest.slice(want.pageSize, 2 * want.pageSize)), `page 2: ${ids.slice(0, 5)}...`);
    await Promise.all([page.waitForURL(`${base}/`), page.click('#prev')]);
    ids = await rowIds(page);
    expect(same(ids, want.oldest.slice(0, want.pageSize)), 'previous did not go back to page 1');
    await page.goto(`${base}/?page=9999`);
    ids = await rowIds(page);
    const last = Math.floor((want.oldest.length - 1) / want.pageSize) * want.pageSize;
    expect(same(ids, want.oldest.slice(last)), `page 9999: ${ids.slice(0, 5)}...`);
    expect(await page.locator('#next').count() === 0, 'a next link on the last page');
  });

  await test('sort links reorder the rows', async () => {
    await page.goto(`${base}/?sort=nonsense`);
    expect(same(await rowIds(page), want.oldest.slice(0, want.pageSize)), 'an unknown sort is not oldest first');
    await Promise.all([page.waitForURL(/sort=score/), page.click('#sort-score')]);
    let ids = await rowIds(page);
    expect(same(ids, want.score.slice(0, want.pageSize)), `by score: ${ids.slice(0, 5)}...`);
    const scores = await page.$$eval('#queue td.score', (tds) => tds.map((t) => Number(t.textContent)));
    expect(scores.every((s, i) => i === 0 || scores[i - 1] >= s), 'scores not in decreasing order');
    await Promise.all([page.waitForURL(/sort=score&page=2/), page.click('#next')]);
    ids = await rowIds(page);
    expect(same(ids, want.score.slice(want.pageSize, 2 * want.pageSize)), 'page 2 by score');
    await Promise.all([page.waitForURL(/sort=sender/), page.click('#sort-sender')]);
    ids = await rowIds(page);
    expect(same(ids, want.sender.slice(0, want.pageSize)), `by sender: ${ids.slice(0, 5)}...`);
    await Promise.all([page.waitForURL(`${base}/`), page.click('#sort-oldest')]);
    expect(same(await rowIds(page), want.oldest.slice(0, want.pageSize)), 'back to oldest first');
  });

  await test('a reply held before the store kept its complaint says so, and its copy is not split', async () => {
    await page.goto(`${base}/reply/${want.after}`);
    const note = await page.innerText('#complaint-text-none');
    expect(note.includes('not recorded for replies held before store schema 12'), `complaint note: ${note}`);
    expect((await page.locator('#complaint-text').count()) === 0, 'the copy was split for the complaint');
    expect(!(await page.innerText('main')).includes('Order 4471 was supposed'), 'the quoted complaint shown');
    const text = await page.innerText('#new-text-none');
    expect(text.includes('not recorded for replies held before store schema 10'), `text note: ${text}`);
  });

  await page.goto(`${base}/reply/${want.reply}`);

  await test('the complaint is shown beside the reply, escaped, and its script does not run', async () => {
    await page.waitForTimeout(300);
    const text = await page.innerText('#complaint-text');
    expect(text.includes(want.script), 'the complaint text with <script> is not shown as text');
    expect(text.includes('Order 4471 was supposed to arrive last Friday'), 'complaint text missing');
    expect(!/^>/m.test(text), 'quote markers left in');
    expect(dialogs.length === 0, `a dialog opened: ${dialogs[0]}`);
    expect((await page.evaluate(() => window.owned)) === undefined, 'an onerror handler ran');
    expect((await page.locator('main script, main img').count()) === 0, 'mail became markup');
    expect((await page.textContent('#complaint-severity')) === want.severity, 'severity');
    expect((await page.textContent('#complaint-date')) === want.complaintDate, 'date of the complaint');
    const reply = await page.locator('#reply-side').boundingBox();
    const complaint = await page.locator('#complaint-side').boundingBox();
    expect(reply && complaint && complaint.x > reply.x + reply.width - 1, 'the complaint is not beside the reply');
  });

  await test('earlier apologies are only those before this reply', async () => {
    const earlier = await page.innerText('#earlier');
    expect(earlier.includes(want.earlier), `the apology before it is missing: ${earlier}`);
    expect(!earlier.includes(want.own), 'the reply\'s own apology is listed');
    expect(!earlier.includes(want.later), 'a later apology is listed');
    const links = await page.$$eval('#earlier a', (as) => as.map((a) => a.getAttribute('href')));
    expect(same(links, [`/reply/${want.before}`]), `held replies listed: ${links}`);
  });

  await test('findings about the whole reply are notes, not marks on its first sentence', async () => {
    expect(want.whole.length > 0, 'the reply has no finding about the whole reply to show');
    const marked = await page.$$eval('#new-text mark', (ms) => ms.map((m) => m.dataset.rule));
    for (const rule of want.whole) {
      expect(!marked.includes(rule), `${rule} is marked in the text`);
      expect(await page.isVisible(`#whole-reply li[data-rule="${rule}"]`), `${rule} is not a note`);
    }
    for (const rule of want.pinned)
      expect(marked.includes(rule), `${rule} (about words) is not marked`);
    // The first sentence's own words, outside the marked words, are plain text.
    const plain = await page.$$eval('#new-text', (d) => Array.from(d[0].childNodes)
      .filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join('|'));
    expect(plain.includes(' lost the parcel, so this was '), `first sentence is highlighted: ${plain}`);
    const bg = await page.$eval('#new-text', (d) => getComputedStyle(d).backgroundColor);
    expect(bg === 'rgb(255, 255, 255)', `text background ${bg}`);
  });

  await test('each finding has a "this finding is wrong" box that the decision sends', async () => {
    const boxes = await page.$$eval('.finding input[type=checkbox]', (bs) =>
      bs.map((b) => ({ name: b.name, form: b.form && b.form.id })));
    expect(boxes.length === want.findings, `${boxes.length} boxes for ${want.findings} findings`);
    expect(boxes.every((b) => b.form === 'decide'), 'a box outside the decide form');
    const names = [...new Set(boxes.map((b) => b.name))].sort();
    expect(same(names, want.rules.map((r) => `wrong-${r}`)), `box names: ${names}`);
    await page.check(`input[name="wrong-${want.rules[0]}"] >> nth=0`);
    const sent = await page.$eval('#decide', (f) => [...new FormData(f).keys()]);
    expect(sent.includes(`wrong-${want.rules[0]}`) && sent.includes('csrf'), `the form sends ${sent}`);
    expect(!sent.includes(`wrong-${want.rules[1]}`), 'an unticked box is sent');
    expect((await page.textContent(`#finding-1`)).includes('this finding is wrong'), 'the box has no label');
  });

  await test('the complaint has a "this thread is no complaint" box that the decision sends', async () => {
    const boxes = await page.$$eval('#complaint-side input[type=checkbox]', (bs) =>
      bs.map((b) => ({ name: b.name, form: b.form && b.form.id })));
    expect(boxes.length === 1 && boxes[0].name === 'wrong-complaint' && boxes[0].form === 'decide',
      `complaint boxes: ${JSON.stringify(boxes)}`);
    let sent = await page.$eval('#decide', (f) => [...new FormData(f).keys()]);
    expect(!sent.includes('wrong-complaint'), 'sent unticked');
    await page.check('input[name="wrong-complaint"]');
    sent = await page.$eval('#decide', (f) => [...new FormData(f).keys()]);
    expect(sent.includes('wrong-complaint'), `the form sends ${sent}`);
    expect((await page.textContent('#complaint-side')).includes('this thread is no complaint'), 'the box has no label');
  });

  const admin = await (await browser.newContext()).newPage();
  await admin.goto(`${base}/login`);
  await admin.fill('input[name=user]', 'root');
  await admin.fill('input[name=password]', process.env.REVIEW_PASS);
  await Promise.all([admin.waitForURL(`${base}/`), admin.click('button:has-text("Log in")')]);

  await test('the statistics page shows each rule\'s precision as reviewers judged it', async () => {
    await admin.goto(`${base}/stats`);
    const rows = await admin.$$eval('#precision tr:has(td.rule)', (trs) => trs.map((tr) =>
      [tr.querySelector('.rule').textContent, tr.querySelector('.right').textContent,
        tr.querySelector('.wrong').textContent, tr.querySelector('.prec').textContent]));
    const got = Object.fromEntries(rows.map((r) => [r[0], r.slice(1)]));
    expect(same(got, want.precision), `precision table: ${JSON.stringify(got)}`);
    const most = await admin.$$eval('#most-wrong li', (lis) => lis.map((li) => li.dataset.rule));
    expect(same(most, want.mostWrong), `most often wrong: ${most}`);
    for (const [rule, example] of Object.entries(want.examples)) {
      const text = await admin.textContent(`#most-wrong li[data-rule="${rule}"] q.example`);
      expect(text === example, `example of ${rule}: ${text}`);
    }
    expect((await admin.locator('main script, main img').count()) === 0, 'an excerpt became markup');
    expect((await admin.evaluate(() => window.owned)) === undefined, 'an excerpt ran');
    expect(dialogs.length === 0, `a dialog opened: ${dialogs[0]}`);
  });

  await test('the statistics page shows what monitor mode would have held', async () => {
    const bars = await admin.locator('svg#monitor-per-sender rect').count();
    expect(bars === want.monitorSenders, `${bars} monitor senders`);
    const held = await admin.textContent('svg#per-sender');
    expect(!held.includes('mon@acme.example'), 'monitor records counted as held');
  });

  await test('the statistics page shows what was advised', async () => {
    const labels = await admin.$$eval('svg#advised-per-rule text', (ts) => ts.map((t) => t.textContent));
    const got = {};
    for (let i = 0; i + 1 < labels.length; i += 2) got[labels[i]] = labels[i + 1];
    const sorted = (o) => Object.entries(o).sort();
    expect(same(sorted(got), sorted(want.advisedRules)), `advised per rule: ${JSON.stringify(got)}`);
    expect(labels[0] === 'no-call-offer', `the most advised rule is not first: ${labels[0]}`);
    const bars = await admin.locator('svg#advised-per-sender rect').count();
    expect(bars === want.advisedSenders, `${bars} advised senders (a held reply or a sender's case counted)`);
  });

  await test('a near miss kept for review is judged from its own list, and not counted as held', async () => {
    await admin.goto(`${base}/stats`);
    expect(!(await admin.textContent('svg#per-sender')).includes('near@acme.example'), 'a near miss counted as held');
    await page.goto(`${base}/`);
    await Promise.all([page.waitForURL(/state=sampled/), page.click('#other-list a')]);
    const rows = await page.$$eval('#queue tr td:first-child a', (as) => as.map((a) => a.textContent));
    expect(same(rows, [String(want.near)]), `near misses listed: ${rows}`);
    await Promise.all([page.waitForURL(/\/reply\//), page.click('#queue tr td:first-child a')]);
    expect(await page.isVisible('#near-miss'), 'the page does not say it is a near miss');
    expect((await page.locator('button[value=release]').count()) === 0, 'a near miss offers a release');
    expect((await page.textContent('#complaint-side')).includes('February invoice'), 'no quoted text');
    await Promise.all([page.waitForURL(/done=judge-complaint/), page.click('button[value=judge-complaint]')]);
    expect((await page.textContent('#notice')).includes('judge-complaint'), 'no notice');
    expect((await page.textContent('#state')) === 'judged', 'state not judged');
    expect((await page.locator('button[value=judge-none]').count()) === 0, 'judged twice');
    await admin.goto(`${base}/stats`);
    const wrong = await admin.textContent('#precision tr:has(td.rule:text-is("near-miss")) td.wrong');
    expect(wrong === '1', `the missed complaint is not counted: ${wrong}`);
  });

  await browser.close();
  process.exit(failed() ? 1 : 0);
})().catch((e) => {
  console.log(`FAIL web: ${e.message}`);
  process.exit(1);
});
