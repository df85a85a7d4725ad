/**
 * DAP: launching a scenario (and failing to), choosing one, stopOnEntry, and requests in orders
 * a client should not send but may. The adapter runs in this process behind a loopback socket.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { fixture, launchAndStop, startAdapter, stopAfter, topFrame, type Adapter } from '../language/debug/dap-harness.js';

let a: Adapter;
beforeEach(async () => {
    a = await startAdapter();
});
afterEach(async () => {
    await a.close();
});

const STEPPING = fixture('stepping.iommu');

describe('launch', () => {
    test('stops on entry at the first statement of the first scenario, and says what it runs', async () => {
        const output: string[] = [];
        a.dc.on('output', (e: DebugProtocol.OutputEvent) => output.push(e.body.output));
        const stopped = await launchAndStop(a.dc, { program: STEPPING });
        expect(stopped.body).toMatchObject({ reason: 'entry', threadId: 1, allThreadsStopped: true });
        expect(await topFrame(a.dc, 1)).toMatchObject({ name: 'take', line: 16, file: 'stepping.iommu' });
        expect(output.join('')).toContain('Scenario steps on dbg_steps: 14 steps, 15 ticks.');
    });

    test('runs the scenario named in the configuration', async () => {
        await launchAndStop(a.dc, { program: STEPPING, scenario: 'second' });
        const threads = (await a.dc.threadsRequest()).body.threads;
        expect(threads.map((t) => t.name)).toEqual(['solo']);
        expect(await topFrame(a.dc, 1)).toMatchObject({ name: 'process solo', line: 45 });
    });

    test('an unknown scenario is an error that lists the scenarios of the file', async () => {
        await expect(a.dc.launch({ program: STEPPING, scenario: 'nope' })).rejects.toThrow(/no scenario 'nope' in .*stepping\.iommu; it has steps, second/);
    });

    test('a syntax error is an error response with the diagnostic, 1-based', async () => {
        await expect(a.dc.launch({ program: fixture('broken-syntax.iommu') }))
            .rejects.toThrow(/broken-syntax\.iommu has 1 error\n {2}broken-syntax\.iommu:9:14: Expecting: one of these possible Token sequences/);
    });

    test('a name that does not resolve is an error response with the linking diagnostic', async () => {
        await expect(a.dc.launch({ program: fixture('unknown-device.iommu') }))
            .rejects.toThrow(/unknown-device\.iommu:9:16: unknown device 'gpu9'; did you mean 'gpu0'\?/);
    });

    test('a file without a scenario, a missing file and a missing program are errors', async () => {
        await expect(a.dc.launch({ program: fixture('machine-only.iommu') })).rejects.toThrow(/has no scenario to debug/);
        await expect(a.dc.launchRequest({ program: fixture('does-not-exist.iommu') } as DebugProtocol.LaunchRequestArguments)).rejects.toThrow(/cannot read .*does-not-exist\.iommu/);
        await expect(a.dc.launchRequest({} as DebugProtocol.LaunchRequestArguments)).rejects.toThrow(/needs "program"/);
        // The session is still usable afterwards.
        const stopped = await Promise.all([
            a.dc.waitForEvent('initialized').then(() => a.dc.configurationDoneRequest()),
            a.dc.launchRequest({ program: STEPPING } as DebugProtocol.LaunchRequestArguments),
            a.dc.waitForEvent('stopped'),
        ]);
        expect((stopped[2] as DebugProtocol.StoppedEvent).body.reason).toBe('entry');
    });

    test('stopOnEntry false runs to the first breakpoint', async () => {
        const stopped = await launchAndStop(a.dc, { program: STEPPING, stopOnEntry: false }, () => a.dc.setBreakpointsRequest({
            source: { path: STEPPING }, breakpoints: [{ line: 27 }],
        }));
        expect(stopped.body.reason).toBe('breakpoint');
        expect(await topFrame(a.dc, stopped.body.threadId!)).toMatchObject({ name: 'process vmm', line: 27 });
    });

    test('stopOnEntry false without breakpoints runs to the end', async () => {
        await Promise.all([
            a.dc.configurationSequence(),
            a.dc.launch({ program: STEPPING, stopOnEntry: false }),
            a.dc.waitForEvent('terminated'),
        ]);
    });
});

describe('requests in odd orders', () => {
    test('before launch: threads are empty, the rest are errors, breakpoints wait for the scenario', async () => {
        await a.dc.initializeRequest();
        expect((await a.dc.threadsRequest()).body.threads).toEqual([]);
        await expect(a.dc.stackTraceRequest({ threadId: 1 })).rejects.toThrow('no scenario is running: launch one first');
        await expect(a.dc.nextRequest({ threadId: 1 })).rejects.toThrow('no scenario is running');
        await expect(a.dc.evaluateRequest({ expression: 'groups', context: 'repl' })).rejects.toThrow('no scenario is running');
        await expect(a.dc.variablesRequest({ variablesReference: 1000 })).rejects.toThrow(/variables reference 1000 is not valid/);
        await expect(a.dc.customRequest('iommu/groups')).rejects.toThrow('no scenario is running');
        const early = await a.dc.setBreakpointsRequest({ source: { path: STEPPING }, breakpoints: [{ line: 26 }] });
        expect(early.body.breakpoints[0]).toMatchObject({ verified: false, line: 26, message: 'the scenario is not loaded yet' });

        const changed = a.dc.waitForEvent('breakpoint');
        const [, , stopped] = await Promise.all([
            a.dc.waitForEvent('initialized').then(() => a.dc.configurationDoneRequest()),
            a.dc.launchRequest({ program: STEPPING, stopOnEntry: false } as DebugProtocol.LaunchRequestArguments),
            a.dc.waitForEvent('stopped'),
        ]);
        expect(((await changed) as DebugProtocol.BreakpointEvent).body).toMatchObject({ reason: 'changed', breakpoint: { id: early.body.breakpoints[0]!.id, verified: true, line: 26 } });
        expect((stopped as DebugProtocol.StoppedEvent).body).toMatchObject({ reason: 'breakpoint', hitBreakpointIds: [early.body.breakpoints[0]!.id] });
    });

    test('after launch: stale references, unknown threads and frames, a second launch and unknown commands are errors, and the session goes on', async () => {
        await launchAndStop(a.dc, { program: STEPPING });
        const frame = await topFrame(a.dc, 1);
        const scopes = (await a.dc.scopesRequest({ frameId: frame.id })).body.scopes;
        await stopAfter(a.dc, () => a.dc.nextRequest({ threadId: 1 }));
        await expect(a.dc.variablesRequest({ variablesReference: scopes[0]!.variablesReference })).rejects.toThrow(/belongs to an earlier one/);
        await expect(a.dc.scopesRequest({ frameId: frame.id })).rejects.toThrow(/frame \d+ is not valid at this stop/);
        await expect(a.dc.nextRequest({ threadId: 42 })).rejects.toThrow('no thread 42; the threads are 1 (vmm), 2 (admin)');
        await expect(a.dc.stackTraceRequest({ threadId: 0 })).rejects.toThrow('no thread 0');
        await expect(a.dc.exceptionInfoRequest({ threadId: 1 })).rejects.toThrow('thread 1 is not stopped on an exception');
        await expect(a.dc.customRequest('readMemory', { memoryReference: 'nonsense', count: 4 })).rejects.toThrow(/'nonsense' is not a memory reference/);
        await expect(a.dc.customRequest('iommu/children', {})).rejects.toThrow('iommu/children needs { ref, start?, count? }');
        await expect(a.dc.customRequest('iommu/children', { ref: 99999 })).rejects.toThrow(/not valid at this stop/);
        await expect(a.dc.customRequest('iommu/nonsense')).rejects.toThrow('unrecognized request');
        await expect(a.dc.launchRequest({ program: STEPPING } as DebugProtocol.LaunchRequestArguments)).rejects.toThrow('a scenario is already running in this session');
        await expect(a.dc.dataBreakpointInfoRequest({ name: 'nonsense' })).resolves.toMatchObject({ body: { dataId: null } });
        // Still alive: it steps and answers.
        const stopped = await stopAfter(a.dc, () => a.dc.nextRequest({ threadId: 1 }));
        expect(stopped.body.reason).toBe('step');
        expect(await topFrame(a.dc, 1)).toMatchObject({ line: 21 });
    });
});
