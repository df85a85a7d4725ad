// End-to-end test of the extension in a real VS Code: code-server serves the workbench, Debian's
// chromium (driven by playwright-core) opens it headless, and each check reads what a user sees.
// See shared/guides/vscode-e2e.md for the recipe this follows.
//
// usage: node test/e2e/run.mjs [code-server bin] [extension .vsix]
//   defaults: $CODE_SERVER or .e2e-tools/code-server/node_modules/.bin/code-server, iommu-scenarios.vsix
// env:   SHOTS_DIR (artifacts, default ./e2e-artifacts), CHROMIUM (default /usr/bin/chromium),
//        E2E_TIMEOUT_MS (per wait, default 30000; the first language-server wait gets 3x),
//        E2E_TOTAL_TIMEOUT_MS (the whole run, default 15 min),
//        E2E_ONLY=name,name (run only these checks and what they need), KEEP=1 (keep temp dirs)
// exit:  0 when every check passed; 1 otherwise (results.json lists each check).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const csBin = path.resolve(process.argv[2] ?? process.env.CODE_SERVER ?? path.join(repo, '.e2e-tools/code-server/node_modules/.bin/code-server'));
const vsix = path.resolve(process.argv[3] ?? path.join(repo, 'iommu-scenarios.vsix'));
for (const [what, p] of [['code-server', csBin], ['.vsix', vsix]]) {
    if (!fs.existsSync(p)) {
        console.error(`e2e: no ${what} at ${p} (see the usage at the top of test/e2e/run.mjs)`);
        process.exit(2);
    }
}
const artifacts = path.resolve(process.env.SHOTS_DIR ?? path.join(repo, 'e2e-artifacts'));
fs.rmSync(artifacts, { recursive: true, force: true });
fs.mkdirSync(artifacts, { recursive: true });
const TIMEOUT = Number(process.env.E2E_TIMEOUT_MS ?? 30_000);
/** A watchdog for the whole run, so a hang cannot eat CI's time budget. */
const TOTAL_TIMEOUT = Number(process.env.E2E_TOTAL_TIMEOUT_MS ?? 15 * 60_000);
const only = process.env.E2E_ONLY ? new Set(process.env.E2E_ONLY.split(',')) : undefined;

// ---- timings and results -------------------------------------------------------------------
const T0 = Date.now();
const times = {};
const mark = (name, since = T0) => {
    times[name] = +((Date.now() - since) / 1000).toFixed(2);
    console.log(`[t] ${name}: ${times[name]} s`);
};
/** @type {Array<{name: string, status: 'passed'|'failed'|'skipped', seconds: number, detail?: string}>} */
const results = [];
const outcome = new Map();

// ---- 1. throwaway dirs: user data, extensions, workspace, browser profile -------------------
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'iommu-e2e-'));
const userData = path.join(root, 'user-data');
const extDir = path.join(root, 'extensions');
const ws = path.join(root, 'workspace');
const profile = path.join(root, 'chromium-profile');
const csConfig = path.join(root, 'config.yaml');
for (const d of [path.join(userData, 'User'), extDir, ws, profile]) {
    fs.mkdirSync(d, { recursive: true });
}
fs.writeFileSync(csConfig, 'auth: none\n');
fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify({
    'security.workspace.trust.enabled': false,
    'workbench.startupEditor': 'none',
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'chat.disableAIFeatures': true,
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true,
    'debug.openDebug': 'openOnSessionStart',
    'editor.minimap.enabled': false,
    'editor.hover.delay': 150,
    'editor.quickSuggestions': { other: false, comments: false, strings: false },
    'workbench.colorTheme': 'Default Dark Modern',
    'files.autoSave': 'off',
    'editor.stickyScroll.enabled': false, // it covers the code lens above a scenario
    'testing.automaticallyOpenTestResults': 'neverOpen',
}, null, 2));

// the workspace: the examples, and the fixture with a call that fails without `expect`
fs.cpSync(path.join(repo, 'examples'), ws, { recursive: true });
fs.copyFileSync(path.join(repo, 'test/e2e/fixtures/not-viable.iommu'), path.join(ws, 'not-viable.iommu'));
const FIXTURE = fs.readFileSync(path.join(ws, 'not-viable.iommu'), 'utf8').split('\n');
const lineOf = (lines, needle) => lines.findIndex((l) => l.includes(needle)) + 1; // 1-based
const DEBUG_EXAMPLE = '02-legacy-vfio.iommu';
const DEBUG_LINES = fs.readFileSync(path.join(ws, DEBUG_EXAMPLE), 'utf8').split('\n');

// ---- 2. install the extension from the .vsix, as a user does --------------------------------
let t = Date.now();
execFileSync(csBin, ['--config', csConfig, '--user-data-dir', userData, '--extensions-dir', extDir,
    '--install-extension', vsix, '--force'], { stdio: 'inherit' });
mark('install_extension', t);

// ---- 3. code-server on a free port ----------------------------------------------------------
t = Date.now();
const cs = spawn(csBin, ['--auth', 'none', '--bind-addr', '127.0.0.1:0', '--config', csConfig,
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override',
    '--user-data-dir', userData, '--extensions-dir', extDir, ws], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, EXTENSIONS_GALLERY: process.env.EXTENSIONS_GALLERY ?? '{}' },
});
const csLog = fs.createWriteStream(path.join(artifacts, 'code-server.log'));
cs.stdout.pipe(csLog);
cs.stderr.pipe(csLog);
const baseUrl = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('code-server did not listen within 60 s')), 60_000);
    const onData = (d) => {
        buf += d;
        const m = /HTTP server listening on (http:\/\/\S+)/.exec(buf);
        if (m) {
            clearTimeout(timer);
            resolve(m[1].replace(/\/?$/, '/'));
        }
    };
    cs.stdout.on('data', onData);
    cs.stderr.on('data', onData);
    cs.on('exit', (code) => reject(new Error(`code-server exited early with ${code}`)));
});
mark('code_server_listening', t);

let ctx;
/** @type {import('playwright-core').Page} */
let page;
setTimeout(() => {
    console.error(`e2e: gave up after ${TOTAL_TIMEOUT / 1000} s (E2E_TOTAL_TIMEOUT_MS)`);
    try {
        process.kill(-cs.pid, 'SIGKILL');
    } catch { /* already gone */ }
    process.exit(1);
}, TOTAL_TIMEOUT).unref();

// ---- helpers ---------------------------------------------------------------------------------
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const quickInput = () => page.locator('.quick-input-widget .quick-input-box input');

async function runCommand(label) {
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    await quickInput().waitFor({ state: 'visible' });
    await quickInput().fill('>' + label);
    const row = page.locator('.quick-input-list .monaco-list-row')
        .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${esc(label)}$`) }) }).first();
    await row.click();
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
}

async function openFile(name) {
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+P');
    await quickInput().waitFor({ state: 'visible' });
    await quickInput().fill(name);
    const row = page.locator(`.quick-input-list .monaco-list-row[aria-label*="${name}"]`).first();
    await row.waitFor();
    await row.click(); // not Enter: the list may still be filtering, and Enter takes its first row
    await page.locator(`.tabs-container .tab.active[aria-label*="${name}"]`).first().waitFor();
    await page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor();
}

async function goToLine(line) {
    await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+G');
    await quickInput().waitFor({ state: 'visible' });
    await quickInput().fill(`:${line}`);
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
}

/**
 * The screen box and colour of `needle` on the rendered editor line that contains `lineText`
 * (Monaco renders spaces as U+00A0 and lines in any DOM order).
 */
async function textBox(lineText, needle) {
    return page.evaluate(([lineText, needle]) => {
        const norm = (s) => s.replace(/\u00a0/g, ' ');
        const lines = [...document.querySelectorAll('.editor-instance .monaco-editor .view-line')];
        const line = lines.find((l) => norm(l.textContent ?? '').includes(lineText));
        if (!line) {
            return null;
        }
        const text = norm(line.textContent ?? '');
        const start = text.indexOf(needle, Math.max(0, text.indexOf(lineText)));
        if (start < 0) {
            return null;
        }
        const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
        const range = document.createRange();
        let offset = 0;
        let startSet = false;
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            const len = n.textContent.length;
            if (!startSet && start < offset + len) {
                range.setStart(n, start - offset);
                startSet = true;
            }
            if (startSet && start + needle.length <= offset + len) {
                range.setEnd(n, start + needle.length - offset);
                break;
            }
            offset += len;
        }
        const r = range.getBoundingClientRect();
        const el = range.startContainer.parentElement;
        const lineBox = line.getBoundingClientRect();
        return { x: r.x, y: r.y, w: r.width, h: r.height, color: el ? getComputedStyle(el).color : '', lineTop: lineBox.top };
    }, [lineText, needle]);
}

async function hoverText(lineText, needle) {
    const box = await textBox(lineText, needle);
    if (!box) {
        throw new Error(`'${needle}' is not on a rendered line with '${lineText}'`);
    }
    await page.mouse.move(box.x + box.w / 2, box.y + box.h / 2);
}

async function shot(name) {
    try {
        await page.screenshot({ path: path.join(artifacts, `${name}.png`) });
    } catch { /* a failed screenshot must not fail a check */ }
}

/** What the running check is doing, for the failure message. */
let doing = '';
const step = (what) => {
    doing = what;
};

/**
 * One check: runs `fn` unless a check it `needs` failed, records pass/fail/skip, takes a
 * screenshot either way. The test goes on after a failure so it shows how far the features go.
 */
async function check(name, fn, needs = []) {
    const wanted = !only || only.has(name) || [...only].some((o) => (dependents.get(o) ?? []).includes(name));
    const missing = needs.filter((n) => outcome.get(n) !== 'passed');
    const started = Date.now();
    let status;
    let detail;
    if (!wanted) {
        status = 'skipped';
        detail = 'not selected (E2E_ONLY)';
    } else if (missing.length > 0) {
        status = 'skipped';
        detail = `needs ${missing.join(', ')}`;
    } else {
        doing = '';
        try {
            detail = (await fn()) ?? undefined;
            status = 'passed';
        } catch (e) {
            status = 'failed';
            detail = `${doing ? `while ${doing}: ` : ''}${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`;
        }
        await shot(`${String(results.length + 1).padStart(2, '0')}-${name}${status === 'failed' ? '-FAILED' : ''}`);
        await page.keyboard.press('Escape').catch(() => undefined);
        await page.mouse.move(5, 700).catch(() => undefined);
    }
    const seconds = +((Date.now() - started) / 1000).toFixed(2);
    outcome.set(name, status);
    results.push({ name, status, seconds, ...(detail ? { detail } : {}) });
    console.log(`${status === 'passed' ? 'PASS' : status === 'failed' ? 'FAIL' : 'SKIP'} ${name} (${seconds} s)${detail ? `: ${detail}` : ''}`);
}
/** For E2E_ONLY: what each check needs before it. */
const dependents = new Map([
    ['diagnostic', ['workbench', 'language']], ['hover', ['workbench', 'language']], ['completion', ['workbench', 'language']],
    ['codelens_run', ['workbench', 'language']], ['groups_view', ['workbench', 'language']], ['topology', ['workbench', 'language']],
    ['testing_view', ['workbench', 'language']], ['debug', ['workbench', 'language']], ['debug_f5', ['workbench', 'language']], ['colours', ['workbench', 'language']],
    ['status_bar', ['workbench', 'language']], ['language', ['workbench']], ['restart', ['workbench', 'language', 'status_bar']],
]);

let failed = false;
try {
    // ---- 4. browser ------------------------------------------------------------------------
    t = Date.now();
    ctx = await chromium.launchPersistentContext(profile, {
        executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
            '--disable-component-update', '--disable-sync'],
        viewport: { width: 1600, height: 1000 },
    });
    page = ctx.pages()[0] ?? await ctx.newPage();
    page.setDefaultTimeout(TIMEOUT);
    page.on('pageerror', (e) => console.log('[pageerror]', e.message));
    mark('browser_launch', t);
    const tPage = Date.now();

    await check('workbench', async () => {
        await page.goto(`${baseUrl}?folder=${encodeURIComponent(ws)}`);
        await page.locator('.monaco-workbench').waitFor({ timeout: TIMEOUT * 3 });
        await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: TIMEOUT * 3 });
        mark('workbench_ready', tPage);
    });

    await check('language', async () => {
        await openFile('not-viable.iommu');
        await page.locator('#status\\.editor\\.mode', { hasText: 'IOMMU Scenario' }).waitFor();
        mark('editor_open', tPage);
        return 'the file opens as "IOMMU Scenario"';
    }, ['workbench']);

    await check('colours', async () => {
        // keyword, ioctl, PCI address, size number, errno, comment vs a plain name
        const probes = [
            ['scenario half_assigned', 'scenario'],
            ['VFIO_GROUP_SET_CONTAINER(group', 'VFIO_GROUP_SET_CONTAINER'],
            ['endpoint 02:00.1 nic1', '02:00.1'],
            ['page-sizes 4K', '4K'],
            ['expect EINVAL', 'EINVAL'],
            ['VFIO_TYPE1v2_IOMMU)', 'VFIO_TYPE1v2_IOMMU'],
            ['// The e2e fixture', 'fixture'],
        ];
        const plain = (await textBox('endpoint 02:00.1 nic1', 'nic1'))?.color;
        const seen = {};
        for (const [line, needle] of probes) {
            const box = await textBox(line, needle);
            if (!box) {
                throw new Error(`'${needle}' not rendered`);
            }
            seen[needle] = box.color;
        }
        const uncoloured = Object.entries(seen).filter(([, c]) => c === plain).map(([n]) => n);
        if (uncoloured.length > 0) {
            throw new Error(`not coloured (same as plain text ${plain}): ${uncoloured.join(', ')}`);
        }
        const distinct = new Set(Object.values(seen)).size;
        if (distinct < 4) {
            throw new Error(`only ${distinct} distinct colours: ${JSON.stringify(seen)}`);
        }
        return `${distinct} distinct colours; plain ${plain}; ${JSON.stringify(seen)}`;
    }, ['language']);

    await check('status_bar', async () => {
        const item = page.locator('.statusbar-item[aria-label*="IOMMU Scenarios: the language server is running"]');
        await item.waitFor({ timeout: TIMEOUT * 3 });
        mark('server_running', tPage);
        return (await item.textContent())?.trim();
    }, ['language']);

    const failLine = lineOf(FIXTURE, 'VFIO_GROUP_SET_CONTAINER(group, container)');
    await check('diagnostic', async () => {
        const squiggle = page.locator('.monaco-editor .squiggly-error').first();
        await squiggle.waitFor({ timeout: TIMEOUT * 3 });
        mark('diagnostic_squiggle', tPage);
        // Code lenses and inlay hints arrive after the squiggle and move lines: compare the
        // positions again until they agree (or the time is up).
        const onFailLine = async () => {
            const target = await textBox('VFIO_GROUP_SET_CONTAINER(group', 'VFIO_GROUP_SET_CONTAINER');
            const boxes = await page.locator('.monaco-editor .squiggly-error').evaluateAll(
                (els) => els.map((e) => { const r = e.getBoundingClientRect(); return { y: r.y, height: r.height }; }));
            return target !== null && boxes.some((sq) => Math.abs(sq.y + sq.height / 2 - (target.y + target.h / 2)) <= target.h);
        };
        const deadline = Date.now() + TIMEOUT * 3;
        while (!(await onFailLine())) {
            if (Date.now() > deadline) {
                throw new Error(`the error squiggle is not on line ${failLine}`);
            }
            await page.waitForTimeout(250);
        }
        await runCommand('View: Focus Problems (Errors, Warnings, Infos)');
        const row = page.locator(`.markers-panel .monaco-list-row[aria-label*="EPERM"][aria-label*="line ${failLine} "]`).first();
        await row.waitFor();
        const label = await row.getAttribute('aria-label');
        await hoverText('VFIO_GROUP_SET_CONTAINER(group', 'VFIO_GROUP_SET_CONTAINER');
        await page.locator('.monaco-hover:visible', { hasText: 'EPERM' }).first().waitFor();
        return label ?? '';
    }, ['language']);

    await check('hover', async () => {
        await page.mouse.move(5, 700);
        await hoverText('open vfio-group(nic0)', 'nic0');
        const any = page.locator('.monaco-hover:visible').first();
        await any.waitFor();
        const text = (await any.textContent())?.replace(/\s+/g, ' ') ?? '';
        if (!/group\s*1\b/i.test(text)) {
            throw new Error(`the hover on nic0 does not name its group (1): "${text.slice(0, 200)}"`);
        }
        mark('ls_hover', tPage);
        return text.slice(0, 160);
    }, ['language']);

    await check('codelens_run', async () => {
        const lens = page.locator('.monaco-editor .codelens-decoration a', { hasText: 'Run' }).first();
        await lens.waitFor();
        await page.locator('.monaco-editor .codelens-decoration a', { hasText: 'Debug' }).first().waitFor();
        mark('codelens', tPage);
        await lens.click();
        const toast = page.locator('.notification-toast .notification-list-item-message', { hasText: 'half_assigned' }).first();
        await toast.waitFor();
        const text = (await toast.textContent())?.replace(/\s+/g, ' ');
        await runCommand('Notifications: Clear All Notifications');
        if (!/failed/i.test(text ?? '')) {
            throw new Error(`expected the run to fail (EPERM without expect): ${text}`);
        }
        return text?.slice(0, 160);
    }, ['language']);

    await check('groups_view', async () => {
        await openFile('not-viable.iommu');
        if (await page.locator('.part.panel').isVisible()) {
            await runCommand('View: Toggle Panel Visibility'); // room for the explorer's views
        }
        await runCommand('IOMMU: Show IOMMU Groups');
        // collapse the file list (the folder's section) to give the groups room
        const folders = page.locator('#workbench\\.view\\.explorer .pane-header', { hasText: /^\s*workspace/i }).first();
        if ((await folders.getAttribute('aria-expanded')) === 'true') {
            await folders.click();
        }
        const pane = page.locator('#workbench\\.view\\.explorer .pane:has(.pane-header[aria-label^="IOMMU Groups"])');
        await pane.waitFor();
        const header = pane.locator('.pane-header').first();
        if ((await header.getAttribute('aria-expanded')) !== 'true') {
            await header.click();
        }
        const rows = pane.locator('.monaco-list-row');
        await rows.filter({ hasText: 'Group 1' }).first().waitFor();
        await rows.filter({ hasText: 'nic1' }).first().waitFor();
        const texts = await rows.allTextContents();
        if (!texts.some((x) => /not viable/.test(x))) {
            throw new Error(`no group is shown as not viable: ${texts.join(' | ')}`);
        }
        return texts.join(' | ').slice(0, 200);
    }, ['language']);

    await check('topology', async () => {
        await openFile('not-viable.iommu');
        await runCommand('IOMMU: Show Topology');
        const webview = page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
        await webview.locator('svg.topology').first().waitFor();
        const nodes = await webview.locator('svg.topology .node').count();
        const regions = await webview.locator('svg.topology .region').count();
        await webview.locator('svg.topology .node[aria-label*="nic1"]').first().waitFor();
        await webview.locator('svg.topology .badge.acs').first().waitFor();
        await webview.locator('svg.topology .badge.no-acs').first().waitFor();
        if (regions < 2) {
            throw new Error(`expected a region per group, saw ${regions}`);
        }
        mark('topology_rendered', tPage);
        await shot('topology-picture');
        await runCommand('View: Close All Editors');
        return `${nodes} boxes, ${regions} group regions`;
    }, ['language']);

    await check('testing_view', async () => {
        await runCommand('View: Show Testing');
        const view = page.locator('#workbench\\.view\\.extension\\.test');
        await view.waitFor();
        const rows = view.locator('.monaco-list-row');
        await rows.filter({ hasText: 'not-viable.iommu' }).first().waitFor();
        await runCommand('Test: Run All Tests');
        // the fixture's scenario fails (a call fails without expect); 02's expects pass
        await view.locator('.monaco-list-row[aria-label*="not-viable.iommu"] .codicon-testing-failed-icon, .monaco-list-row[aria-label*="not-viable.iommu"] .codicon-testing-error-icon').first().waitFor();
        const failedCount = await view.locator('.codicon-testing-failed-icon').count();
        const passedCount = await view.locator('.codicon-testing-passed-icon').count();
        return `${await rows.count()} rows; ${passedCount} passed, ${failedCount} failed icons`;
    }, ['language']);

    await check('completion', async () => {
        await openFile('not-viable.iommu');
        const at = lineOf(FIXTURE, 'let group = open vfio-group(nic0)');
        await goToLine(at);
        await page.keyboard.press('End');
        await page.keyboard.press('Enter');
        await page.keyboard.type('VFIO_GROUP_');
        await page.keyboard.press('Control+Space');
        const rows = page.locator('.suggest-widget .monaco-list-row');
        await rows.filter({ hasText: 'VFIO_GROUP_GET_STATUS' }).first().waitFor();
        const labels = await rows.allTextContents();
        await page.keyboard.press('Escape');
        await runCommand('File: Revert File');
        mark('ls_completion', tPage);
        return labels.slice(0, 6).join(' | ');
    }, ['language']);

    await check('debug', async () => {
        const tDbg = Date.now();
        await openFile(DEBUG_EXAMPLE);
        // a breakpoint after the mappings, so the page tables have something to show
        const bpLine = lineOf(DEBUG_LINES, 'let dev = VFIO_GROUP_GET_DEVICE_FD(group, nic0)');
        await goToLine(bpLine);
        await runCommand('Debug: Toggle Breakpoint');
        await runCommand('View: Show Run and Debug');
        await goToLine(lineOf(DEBUG_LINES, 'scenario assign_nic'));
        const lens = page.locator('.monaco-editor .codelens-decoration a', { hasText: 'Debug' }).first();
        await lens.waitFor();
        await lens.click();
        step('waiting for the debug toolbar');
        await page.locator('.debug-toolbar').waitFor();
        step('waiting for the stop on entry');
        await page.locator('#workbench\\.view\\.debug').getByText(/paused on entry/i).first().waitFor();
        mark('debug_paused', tDbg);
        step('continuing to the breakpoint');
        await runCommand('Debug: Continue');
        await page.locator('#workbench\\.view\\.debug').getByText(/paused on breakpoint/i).first().waitFor();
        mark('debug_breakpoint', tDbg);
        step('reading the variables');
        // Variables: expand the first scope, expect rows under it
        const scope = page.locator('.debug-variables .monaco-list-row[aria-label^="Scope"]').first();
        await scope.waitFor();
        if ((await scope.getAttribute('aria-expanded')) !== 'true') {
            await scope.click();
        }
        await page.locator('.debug-variables .monaco-list-row:not([aria-label^="Scope"])').first().waitFor();
        const variables = await page.locator('.debug-variables .monaco-list-row').allTextContents();
        step('reading the Page Tables view');
        // the Page Tables view (in the Run and Debug container, shown while an iommu session runs)
        const pane = page.locator('#workbench\\.view\\.debug .pane:has(.pane-header[aria-label^="Page Tables"])');
        await pane.waitFor();
        const header = pane.locator('.pane-header').first();
        if ((await header.getAttribute('aria-expanded')) !== 'true') {
            await header.click();
        }
        const ptRows = pane.locator('.monaco-list-row');
        await ptRows.first().waitFor();
        // open a domain that has mappings: its table entries come from iommu/children
        step('expanding a domain in the Page Tables view');
        const before = await ptRows.count();
        const domain = pane.locator('.monaco-list-row[aria-expanded="false"]').first();
        await domain.click();
        await page.waitForFunction(([sel, n]) => document.querySelectorAll(sel).length > n,
            ['#workbench\\.view\\.debug .pane:has(.pane-header[aria-label^="Page Tables"]) .monaco-list-row', before], { timeout: TIMEOUT });
        mark('debug_views', tDbg);
        const tables = await ptRows.allTextContents();
        await shot('debug-session');
        step('stopping');
        await runCommand('Debug: Stop');
        await page.locator('.debug-toolbar').waitFor({ state: 'hidden' });
        return `variables: ${variables.slice(0, 4).join(' | ')}; page tables: ${tables.slice(0, 3).join(' | ')}`;
    }, ['language']);

    await check('debug_f5', async () => {
        // no launch.json in the workspace: F5 on an open .iommu file debugs it
        await openFile('03-iommufd.iommu');
        await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
        await page.keyboard.press('F5');
        step('waiting for the stop on entry');
        await page.locator('#workbench\\.view\\.debug').getByText(/paused on entry/i).first().waitFor();
        const frame = (await page.locator('.debug-call-stack .monaco-list-row', { hasText: /03-iommufd/ }).first().textContent()) ?? '';
        step('stopping');
        await runCommand('Debug: Stop');
        await page.locator('.debug-toolbar').waitFor({ state: 'hidden' });
        return frame.trim();
    }, ['language']);

    await check('restart', async () => {
        await openFile('not-viable.iommu');
        await runCommand('IOMMU: Restart Language Server');
        step('waiting for the server to run again');
        await page.locator('.statusbar-item[aria-label*="IOMMU Scenarios: the language server is running"]').waitFor();
        step('waiting for the diagnostics of the new server');
        await page.locator('.monaco-editor .squiggly-error').first().waitFor();
        // the client logs each start in its output channel, which VS Code writes under the user data
        const starts = () => {
            const files = fs.globSync('logs/*/exthost*/iommu-scenarios.iommu-scenarios/*.log', { cwd: userData });
            return files.map((f) => fs.readFileSync(path.join(userData, f), 'utf8')).join('').match(/Starting the language server/g)?.length ?? 0;
        };
        step('looking for the second start in the output channel');
        const deadline = Date.now() + TIMEOUT;
        while (starts() < 2 && Date.now() < deadline) {
            await sleep(250);
        }
        if (starts() < 2) {
            throw new Error(`the output channel shows ${starts()} start(s)`);
        }
        return `started ${starts()} times; diagnostics back`;
    }, ['status_bar']);
} catch (e) {
    failed = true;
    console.error('E2E ABORTED:', e instanceof Error ? e.message : e);
    if (page) {
        await shot('aborted');
    }
} finally {
    mark('total');
    failed ||= results.some((r) => r.status === 'failed');
    fs.writeFileSync(path.join(artifacts, 'results.json'), JSON.stringify({ results, times }, null, 2));
    try {
        fs.cpSync(path.join(userData, 'logs'), path.join(artifacts, 'vscode-logs'), { recursive: true });
    } catch { /* no logs yet */ }
    try {
        await ctx?.close();
    } catch { /* already gone */ }
    try {
        process.kill(-cs.pid, 'SIGTERM'); // the process group we created (code-server and its children)
    } catch { /* already gone */ }
    if (!process.env.KEEP) {
        fs.rmSync(root, { recursive: true, force: true });
    }
    const count = (s) => results.filter((r) => r.status === s).length;
    console.log(`e2e: ${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped (artifacts in ${artifacts})`);
}
process.exit(failed ? 1 : 0);
