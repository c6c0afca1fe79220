// e2e.mjs - drive Debian's chromium through mfud's web page.
//
//   node tests/web/e2e.mjs
//
// Environment: MFU_URL (the running mfud), MFU_MEDIA (a directory with
// t.png, t.mp3 and t.mp4), MFU_ARTIFACTS (where screenshots go).  Prints
// one line per check and exits non-zero at the first failure.  Nothing is
// downloaded: playwright-core drives /usr/bin/chromium.
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const BASE = process.env.MFU_URL;
const MEDIA = process.env.MFU_MEDIA;
const ART = process.env.MFU_ARTIFACTS;
if (!BASE || !MEDIA || !ART) {
  console.error('MFU_URL, MFU_MEDIA and MFU_ARTIFACTS are needed');
  process.exit(2);
}
mkdirSync(ART, { recursive: true });

const XSS = '<img src=x onerror=alert(1)>.png';
const TEXT = '最喜小儿无赖，溪头卧剥莲蓬。 <b>not bold</b>';
const USER = 'webuser' + process.pid;
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

const problems = [];     // CSP violations, page errors, dialogs
let checks = 0;

function ok(cond, what, extra) {
  if (!cond) {
    const more = extra === undefined ? '' : ': ' + JSON.stringify(extra);
    throw new Error(`FAILED ${what}${more}`);
  }
  checks++;
  console.log(`ok ${checks} ${what}`);
}

// Watch every page of a context: CSP reports (the DOM event and the
// console line chromium prints), script errors, alert() dialogs, and the
// values the progress bars take (they vanish when the page navigates).
async function watch(context, progressLog) {
  await context.exposeBinding('mfuTestReport', (_src, kind, detail) => {
    if (kind === 'progress') progressLog.push(detail);
    else problems.push(`${kind}: ${detail}`);
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.mfuTestReport('csp', `${e.violatedDirective} ${e.blockedURI}`);
    });
    new MutationObserver((records) => {
      for (const r of records) {
        const t = r.target;
        if (t.localName === 'progress') {
          window.mfuTestReport('progress', { id: t.id || t.getAttribute('aria-label'),
                                             value: Number(t.value) });
        }
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ['value'] });
  });
  context.on('page', (page) => hook(page));
  for (const page of context.pages()) hook(page);
}

function hook(page) {
  page.on('console', (m) => {
    if (/Content.Security.Policy/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('dialog', async (d) => {
    problems.push(`dialog: ${d.type()} ${d.message()}`);
    await d.dismiss();
  });
}

function mediaFile(name, mimeType) {
  return { name, mimeType, buffer: readFileSync(join(MEDIA, name)) };
}

async function shot(page, name) {
  await page.screenshot({ path: join(ART, name), fullPage: true });
  console.log(`# screenshot ${join(ART, name)}`);
}

// Tab from the username field; the three "Choose" buttons and Upload must
// all take keyboard focus, in page order, with a visible focus ring.
async function keyboard(page, choosers) {
  await page.focus('#username');
  const seen = [];
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    const info = await page.evaluate(() => {
      const a = document.activeElement;
      const cs = getComputedStyle(a);
      return { id: a.id, input: a.dataset.input || '', outline: cs.outlineStyle,
               width: parseFloat(cs.outlineWidth) };
    });
    seen.push(info);
    if (info.id === 'upload-btn') break;
  }
  const picks = seen.filter((s) => s.input).map((s) => s.input);
  ok(JSON.stringify(picks) ===
     JSON.stringify(['images-input', 'audios-input', 'videos-input']),
     'Tab reaches the three file buttons in order', seen);
  ok(seen.some((s) => s.id === 'upload-btn'), 'Tab reaches the Upload button');
  ok(seen.filter((s) => s.input).every((s) => s.outline !== 'none' && s.width >= 2),
     'focused file buttons show a focus ring', seen);
  // Enter on a focused button opens the picker of its real <input type=file>.
  await page.focus('.pick[data-input="audios-input"]');
  await page.keyboard.press('Enter');
  for (let i = 0; i < 100 && !choosers.length; i++) await page.waitForTimeout(50);
  ok(choosers.length === 1, 'a file picker opened');
  const chooser = choosers[0];
  ok(chooser.isMultiple() &&
     (await chooser.element().getAttribute('id')) === 'audios-input',
     'Enter on "Choose audio" opens the audio file picker');
  await chooser.setFiles([]);
}

async function uploadOk(page, progressLog) {
  // Listening early turns chromium's file chooser interception on before
  // any key is pressed.
  const choosers = [];
  page.on('filechooser', (c) => choosers.push(c));
  const resp = await page.goto(BASE + '/');
  ok(resp.status() === 200, 'GET / answers 200', resp.status());
  const csp = resp.headers()['content-security-policy'] || '';
  ok(/script-src 'self'/.test(csp) && /default-src 'none'/.test(csp),
     'the page comes with a strict Content-Security-Policy', csp);

  await keyboard(page, choosers);

  await page.fill('#username', USER);
  await page.fill('#text', TEXT);
  const png = mediaFile('t.png', 'image/png');
  await page.setInputFiles('#images-input', [png, { ...png, name: XSS }]);
  await page.setInputFiles('#audios-input', [mediaFile('t.mp3', 'audio/mpeg')]);
  await page.setInputFiles('#videos-input', [mediaFile('t.mp4', 'video/mp4')]);
  // A duration typed by hand becomes the "7_" filename prefix.
  await page.fill('.zone[data-group="images"] .file:first-child .dur input', '7');
  ok(await page.locator('.file').count() === 4, 'four files listed');
  ok(await page.locator('.zone[data-group="images"] .name').nth(1).textContent() === XSS,
     'a hostile filename is listed as text');

  // remove, then add back: the list follows
  await page.setInputFiles('#videos-input', [mediaFile('t.png', 'image/png')]);
  ok(await page.locator('.zone[data-group="videos"] .file').count() === 2,
     'a second video row appears');
  await page.click('.zone[data-group="videos"] .file:last-child .remove');
  ok(await page.locator('.zone[data-group="videos"] .file').count() === 1,
     'the remove button takes the row away');
  await page.waitForFunction(() =>
    /0:03/.test(document.querySelector('.zone[data-group="audios"] .meta').textContent));
  await shot(page, 'upload-desktop.png');

  const [post] = await Promise.all([
    page.waitForResponse((r) => r.url().includes('/v1/items') &&
                                r.request().method() === 'POST'),
    page.click('#upload-btn'),
  ]);
  ok(post.status() === 201, 'POST /v1/items answers 201', post.status());
  await page.waitForURL(/\/items\/[0-9a-f]{24}$/, { timeout: 15000 });
  const id = page.url().split('/').pop();
  const got = await page.request.get(`${BASE}/v1/items/${id}`);
  ok(got.status() === 200, 'the page moved to the new item\'s view', page.url());
  const rec = await got.json();
  ok(rec.id === id && rec.username === USER, 'the record is the upload', rec);
  const overall = progressLog.filter((p) => p.id === 'overall-bar').map((p) => p.value);
  ok(overall.length > 0 && Math.max(...overall) === 100,
     'the overall progress bar reached 100%', overall);
  const perFile = new Set(progressLog.filter((p) => p.id !== 'overall-bar' && p.value === 100)
    .map((p) => p.id));
  ok(perFile.size === 4, 'every file\'s progress bar reached 100%', [...perFile]);
  return rec;
}

async function itemView(page, rec) {
  await page.waitForSelector('#item:not([hidden])');
  ok(await page.textContent('#text') === TEXT, 'the text is shown as typed');
  ok(await page.locator('#text b').count() === 0, 'markup in the text stays text');
  ok(await page.locator('img[src="x"]').count() === 0, 'no element made from a filename');
  const names = await page.locator('#images .name').allTextContents();
  ok(names.includes(XSS) && names.includes('t.png'), 'image names shown as text', names);
  ok(rec.images.find((f) => f.name === 't.png').duration === 7,
     'the typed duration reached the record as the filename prefix', rec.images);

  await page.waitForFunction(() => [...document.querySelectorAll('#images img')]
    .every((i) => i.complete && i.naturalWidth > 0));
  ok(await page.locator('#images img').count() === 2, 'both pictures load');
  const dl = await page.locator('#audios a.download').getAttribute('href');
  ok(dl === rec.audios[0].url, 'the download link is the record\'s url', dl);
  const audioMeta = await page.textContent('#audios .meta');
  ok(/0:03/.test(audioMeta) && /KB/.test(audioMeta), 'audio size and duration shown', audioMeta);

  const played = await page.evaluate(async () => {
    const a = document.querySelector('#audios audio');
    a.muted = true;
    await a.play();
    const t0 = performance.now();
    while (a.currentTime <= 0.2 && performance.now() - t0 < 8000) {
      await new Promise((r) => setTimeout(r, 50));
    }
    a.pause();
    return a.currentTime;
  });
  ok(played > 0.2, 'the audio plays', played);
  const vw = await page.evaluate(async () => {
    const v = document.querySelector('#videos video');
    if (v.readyState < 1) await new Promise((r) => v.addEventListener('loadedmetadata', r, { once: true }));
    return [v.videoWidth, v.videoHeight];
  });
  ok(vw[0] === 320 && vw[1] === 240, 'the video loads at 320×240', vw);
  await shot(page, 'item-desktop.png');
}

async function listView(page, rec) {
  await page.goto(`${BASE}/users/${encodeURIComponent(USER)}`);
  await page.waitForSelector('.item-row');
  const href = await page.locator('.item-row a').first().getAttribute('href');
  ok(href === `/items/${rec.id}`, 'the user\'s list links to the item', href);
  await shot(page, 'list-desktop.png');
}

async function mismatch(page) {
  await page.goto(BASE + '/');
  await page.fill('#username', USER);
  await page.setInputFiles('#audios-input', [mediaFile('t.png', 'audio/mpeg')]);
  const [post] = await Promise.all([
    page.waitForResponse((r) => r.url().includes('/v1/items') &&
                                r.request().method() === 'POST'),
    page.click('#upload-btn'),
  ]);
  ok(post.status() === 422, 'a picture among the audio files answers 422', post.status());
  const prob = await post.json();
  const box = page.locator('#message');
  await box.waitFor({ state: 'visible' });
  const shown = await box.textContent();
  ok(shown.includes(prob.title) && shown.includes(prob.detail) && !shown.includes('{'),
     'the problem is shown as sentences', shown);
  ok(page.url() === BASE + '/', 'the page stays put on an error');
  ok(await page.isEnabled('#upload-btn'), 'the form is usable again');
  await shot(page, 'error-desktop.png');
}

async function phone(browser, rec) {
  const ctx = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 2,
                                         isMobile: true, hasTouch: true });
  await watch(ctx, []);
  const page = await ctx.newPage();
  await page.goto(BASE + '/');
  await page.setInputFiles('#images-input', [mediaFile('t.png', 'image/png')]);
  await page.setInputFiles('#audios-input', [mediaFile('t.mp3', 'audio/mpeg')]);
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  ok(wide <= PHONE.width, 'the upload page fits a phone\'s width', wide);
  await shot(page, 'upload-phone.png');
  await page.goto(`${BASE}/items/${rec.id}`);
  await page.waitForSelector('#item:not([hidden])');
  await page.waitForFunction(() => [...document.querySelectorAll('#images img')]
    .every((i) => i.complete && i.naturalWidth > 0));
  const wide2 = await page.evaluate(() => document.documentElement.scrollWidth);
  ok(wide2 <= PHONE.width, 'the item view fits a phone\'s width', wide2);
  await shot(page, 'item-phone.png');
  await ctx.close();
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run',
         '--autoplay-policy=no-user-gesture-required'],
});
let failed = false;
try {
  const ctx = await browser.newContext({ viewport: DESKTOP });
  const progressLog = [];
  await watch(ctx, progressLog);
  const page = await ctx.newPage();
  const rec = await uploadOk(page, progressLog);
  await itemView(page, rec);
  await listView(page, rec);
  await mismatch(page);
  await phone(browser, rec);
  ok(problems.length === 0, 'no CSP violation, script error or dialog', problems);
} catch (e) {
  failed = true;
  console.error(e.message);
  if (problems.length) console.error('also seen:', problems);
} finally {
  await browser.close();
}
console.log(failed ? 'FAIL' : `PASS ${checks} checks`);
process.exit(failed ? 1 : 0);
