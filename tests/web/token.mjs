// token.mjs - the web page against a server with --auth token.
//
//   MFU_URL=… MFU_MEDIA=… MFU_TOKEN=… node tests/web/token.mjs
//
// Without a token the upload is refused and the page says so and opens the
// token box; with the token typed in, the same upload goes through as the
// token's user and the item view (which reads the record with the token)
// shows it.  Prints one line per check; exits non-zero on a failure.
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const { MFU_URL: BASE, MFU_MEDIA: MEDIA, MFU_TOKEN: TOKEN } = process.env;
// MFU_USER: the token's user, typed as a person would
let checks = 0;
function ok(cond, what) {
  if (!cond)
    throw new Error(`FAILED ${what}`);
  console.log(`ok ${++checks} ${what}`);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(BASE + '/');
  const png = { name: 'p.png', mimeType: 'image/png',
                buffer: readFileSync(join(MEDIA, 't.png')) };
  await page.setInputFiles('#images-input', [png]);
  await page.fill('#username', process.env.MFU_USER);
  await page.fill('#text', 'with a token');
  const refused = page.waitForResponse((r) => r.url().includes('/v1/items'));
  await page.click('#upload-btn');
  ok((await refused).status() === 401, 'no token: the server answers 401');
  await page.waitForSelector('#message:not([hidden])');
  const msg = await page.textContent('#message');
  ok(/token/i.test(msg), 'the page asks for a token');
  ok(await page.evaluate(() => document.getElementById('token-box').open),
     'the token box opens');

  await page.fill('#token', TOKEN);
  await Promise.all([page.waitForURL(/\/items\/[0-9a-f]{24}$/, { timeout: 60000 }),
                     page.click('#upload-btn')]);
  ok(true, 'with the token the upload lands on the item view');
  await page.waitForSelector('#item:not([hidden])');
  ok(await page.textContent('#text') === 'with a token',
     'the item view reads the record with the token');
  ok(errors.length === 0, 'no script errors: ' + errors.join('; '));
} finally {
  await browser.close();
}
