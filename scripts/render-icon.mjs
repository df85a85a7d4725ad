// Renders media/icon.svg to media/icon.png (the marketplace wants a PNG) with headless chromium.
// usage: node scripts/render-icon.mjs   (CHROMIUM=/usr/bin/chromium by default)
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const media = join(dirname(fileURLToPath(import.meta.url)), '..', 'media');
const svg = readFileSync(join(media, 'icon.svg'), 'utf8');
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 128, height: 128 } });
await page.setContent(`<html><body style="margin:0;background:transparent">${svg}</body></html>`);
await page.locator('svg').screenshot({ path: join(media, 'icon.png'), omitBackground: true });
await browser.close();
console.log('wrote media/icon.png');
