/**
 * DAP over stdio against the shipped artefact: `npm run build` bundles server/debug-adapter.ts,
 * and `DebugClient` spawns it with this Node, as an editor would.
 */
import { existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { fixture, stopAfter } from '../language/debug/dap-harness.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const adapter = join(root, 'out', 'server', 'debug-adapter.cjs');
let dc: DebugClient;

beforeAll(async () => {
    // The same Node that runs the tests runs npm and the bundle.
    const env = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` };
    // The bundle is built once for the whole run by test/global-setup.ts.
    expect(existsSync(adapter)).toBe(true);
    dc = new DebugClient(process.execPath, adapter, 'iommu', { cwd: root, env });
    dc.defaultTimeout = 20_000;
    await dc.start();
}, 120_000);

afterAll(async () => {
    await dc?.stop();
});

test('the bundled adapter launches, steps forward and back, inspects and reads memory over stdio', async () => {
    const program = fixture('kernel-state.iommu');
    const [, , stopped] = await Promise.all([
        dc.waitForEvent('initialized').then(async () => {
            await dc.setBreakpointsRequest({ source: { path: program }, breakpoints: [{ line: 32 }] });
            return dc.configurationDoneRequest();
        }),
        dc.launch({ program, stopOnEntry: false }),
        dc.assertStoppedLocation('breakpoint', { path: program, line: 32 }),
    ]);
    expect(stopped.body.stackFrames[0]!.name).toBe('process qemu');
    expect((await dc.threadsRequest()).body.threads.map((t) => t.name)).toEqual(['qemu', 'intruder', 'sva']);

    // Stepping onto a breakpoint reports the breakpoint; without it, a step.
    await Promise.all([dc.nextRequest({ threadId: 1 }), dc.assertStoppedLocation('breakpoint', { line: 32 })]);
    await dc.setBreakpointsRequest({ source: { path: program }, breakpoints: [] });
    await Promise.all([dc.nextRequest({ threadId: 1 }), dc.assertStoppedLocation('step', { line: 32 })]);
    await Promise.all([dc.stepBackRequest({ threadId: 1 }), dc.assertStoppedLocation('step', { line: 32 })]);
    await Promise.all([dc.stepBackRequest({ threadId: 1 }), dc.assertStoppedLocation('step', { line: 32 })]);
    await Promise.all([dc.stepBackRequest({ threadId: 1 }), dc.assertStoppedLocation('step', { line: 30 })]);

    const groups = await dc.evaluateRequest({ expression: 'groups', context: 'repl' });
    expect(groups.body.result).toContain('group 0: 0000:00:1d.0 (rp1) [pcieport], 0000:02:00.0 (nic0) [vfio-pci]');
    expect((await dc.evaluateRequest({ expression: 'translate nic0 0x10_1000', context: 'repl' })).body.result).toMatch(/→ PA 0x[0-9a-f]+ \(4K page, domain 5\)$/);

    const stop = await stopAfter(dc, () => dc.nextRequest({ threadId: 1 }));
    expect(stop.body.reason).toBe('step');
    const memory = (await dc.customRequest('readMemory', { memoryReference: 'dev:nic0', offset: 0x10_1000, count: 16 })) as DebugProtocol.ReadMemoryResponse;
    expect(Buffer.from(memory.body!.data!, 'base64').toString('latin1')).toBe('nic0..@000101000');

    await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent('terminated')]);
}, 60_000);
