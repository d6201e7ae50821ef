// tests/web/harness.js - the few helpers a browser test needs: named tests that print
// "ok   web: NAME" or "FAIL web: NAME: why", and expect().  failed() says how many failed.
'use strict';

let failures = 0;

async function test(name, fn) {
  try {
    await fn();
    console.log(`ok   web: ${name}`);
  } catch (e) {
    failures++;
    console.log(`FAIL web: ${name}: ${String(e.message || e).split('\n')[0]}`);
  }
}

function expect(cond, why) {
  if (!cond) throw new Error(why);
}

module.exports = { test, expect, failed: () => failures };
