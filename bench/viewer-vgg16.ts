/**
 * The viewer on a 553 MB VGG16-like Keras h5 (fc1 kernel 25088 x 4096), in Chromium as a user sees it:
 * time from navigation to the layer list, from a click to the first layer's filter grid, to the widest
 * conv layer's first page, and to the picture of the 25088 x 4096 kernel. Target: each under 3 s.
 *
 *   npm run build && node --import tsx bench/viewer-vgg16.ts [model.h5]
 *
 * Without an argument the model is generated once into bench/.data/ (gitignored) as bench/large-h5.ts does.
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { generateLargeH5 } from './large-h5.js';

const TARGET_MS = 3000;
const file = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '.data', 'vgg16-like-keras2.h5');
if (!existsSync(file)) await generateLargeH5(file);
console.log(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
// The server runs as users run it (the built CLI, its own process), so its work never stalls the browser driver.
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
async function serve(): Promise<{ url: string; child: ReturnType<typeof spawn> }> {
  const child = spawn(process.execPath, [join(root, 'dist', 'cli', 'main.js'), 'serve', file, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const url = /convscope viewer: (\S+)/.exec(out)?.[1];
      if (url) resolve({ url, child });
    });
    child.once('exit', (code) => reject(new Error(`convscope serve exited with ${code}`)));
  });
}
const server = await serve();
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
const rows: [string, number][] = [];
if (process.env.TRACE) {
  const t0 = performance.now();
  page.on('request', (r) => console.log(`${(performance.now() - t0).toFixed(0)} start ${r.url().slice(-50)}`));
  page.on('requestfinished', (r) => console.log(`${(performance.now() - t0).toFixed(0)} end ${r.url().slice(-50)} (${r.timing().responseEnd.toFixed(0)} ms)`));
}
async function timed(what: string, work: () => Promise<unknown>): Promise<void> {
  const t = performance.now();
  await work();
  rows.push([what, performance.now() - t]);
  if (process.env.TRACE) console.log(`${what} done`);
}
await timed('layer list', async () => {
  await page.goto(server.url);
  await page.waitForSelector('[data-testid=layer-list] tr[data-layer="fc1"]');
});
await timed('first grid (block1_conv1)', async () => {
  await page.click('tr[data-layer="block1_conv1"]');
  await page.waitForSelector('[data-testid=filter-grid] .tile[data-filter="63"]');
});
await timed('block5_conv3 (3x3x512x512), first page', async () => {
  await page.click('tr[data-layer="block5_conv3"]');
  await page.waitForSelector('[data-testid=filter-grid] .tile[data-filter="63"]');
});
await timed('fc1 (25088 x 4096) picture', async () => {
  await page.click('tr[data-layer="fc1"]');
  await page.waitForSelector('[data-testid=server-grid]');
  await page.waitForFunction(() => ((document.querySelector('[data-testid=server-grid]') as HTMLImageElement | null)?.naturalWidth ?? 0) > 0);
});
await timed('fc1 histograms (after the picture)', async () => {
  await page.waitForSelector('[data-testid=histograms] svg');
});
await timed('fc1 filter 7 opened by URL', async () => {
  await page.goto(`${server.url}?layer=fc1&filter=7`);
  await page.waitForSelector('[data-testid=expression]');
});
server.child.kill();
// The same link on a server that has read nothing yet: the kernel is read for the filter first.
const fresh = await serve();
await timed('fc1 filter 7 by URL, fresh server', async () => {
  await page.goto(`${fresh.url}?layer=fc1&filter=7`);
  await page.waitForSelector('[data-testid=expression]');
});
await browser.close();
fresh.child.kill();
for (const [what, ms] of rows) console.log(`${what.padEnd(42)} ${ms.toFixed(0).padStart(6)} ms ${ms <= TARGET_MS ? 'ok' : `over the ${TARGET_MS} ms target`}`);
console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
