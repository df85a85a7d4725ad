/**
 * DAP: processes as threads, procedure calls as frames, and every way of moving: next, stepIn,
 * stepOut, continue, pause, stepBack, reverseContinue, restart. Stepping one thread runs the others'
 * statements in between; going back moves over the run's snapshots.
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
const VMM = 1;
const ADMIN = 2;

/** Frames of a thread as `name:line`. */
async function stack(threadId: number): Promise<string[]> {
    const st = await a.dc.stackTraceRequest({ threadId });
    return st.body.stackFrames.map((f) => `${f.name}:${f.line}`);
}

async function threads(): Promise<string[]> {
    return (await a.dc.threadsRequest()).body.threads.map((t) => `${t.id} ${t.name}`);
}

async function step(request: () => Promise<unknown>): Promise<DebugProtocol.StoppedEvent['body']> {
    return (await stopAfter(a.dc, request)).body;
}

/** Launches the stepping fixture, stopped on entry, with breakpoints on these lines. */
async function launch(lines: number[] = []): Promise<void> {
    await launchAndStop(a.dc, { program: STEPPING }, () => a.dc.setBreakpointsRequest({ source: { path: STEPPING }, breakpoints: lines.map((line) => ({ line })) }));
}

describe('threads and frames', () => {
    test('processes are threads in declaration order; procedure calls are frames pointing at the call', async () => {
        await launch();
        expect(await threads()).toEqual(['1 vmm', '2 admin']);
        expect(await stack(VMM)).toEqual(['take:16', 'attach:20', 'process vmm:24']);
        // admin has not run yet: it stands at its first statement.
        expect(await stack(ADMIN)).toEqual(['process admin:33']);
        const st = await a.dc.stackTraceRequest({ threadId: VMM });
        expect(st.body.totalFrames).toBe(3);
        expect(st.body.stackFrames[0]).toMatchObject({ line: 16, column: 9, endLine: 16, source: { name: 'stepping.iommu', path: STEPPING } });
        // Delayed loading: a window of frames.
        const tail = await a.dc.stackTraceRequest({ threadId: VMM, startFrame: 1, levels: 1 });
        expect(tail.body.stackFrames.map((f) => f.name)).toEqual(['attach']);
    });

    test('a blocked thread shows the call it waits in and why; a finished thread says so', async () => {
        await launch([38]);
        const stop = await step(() => a.dc.continueRequest({ threadId: VMM }));
        expect(stop).toMatchObject({ reason: 'breakpoint', threadId: VMM });
        expect(await topFrame(a.dc, VMM)).toMatchObject({ line: 38 });
        expect(await threads()).toEqual(['1 vmm', '2 admin (blocked)']);
        const [blocked] = await stack(ADMIN);
        expect(blocked).toMatch(/^process admin \(blocked: .*nvme0.*\):33$/);
        // Run admin to its end and look at it from vmm's last statement.
        await a.dc.setBreakpointsRequest({ source: { path: STEPPING }, breakpoints: [{ line: 39 }] });
        await step(() => a.dc.continueRequest({ threadId: VMM }));
        expect(await threads()).toEqual(['1 vmm', '2 admin (finished)']);
        expect(await stack(ADMIN)).toEqual(['process admin (finished):35']);
    });
});

describe('stepping forward', () => {
    test('next steps over: within the procedure, then back out to the caller', async () => {
        await launch();
        expect(await step(() => a.dc.nextRequest({ threadId: VMM }))).toMatchObject({ reason: 'step', threadId: VMM });
        expect(await stack(VMM)).toEqual(['take:17', 'attach:20', 'process vmm:24']);
        await step(() => a.dc.nextRequest({ threadId: VMM }));
        expect(await stack(VMM)).toEqual(['attach:21', 'process vmm:24']);
        await step(() => a.dc.nextRequest({ threadId: VMM }));
        expect(await stack(VMM)).toEqual(['process vmm:25']);
    });

    test('next over a blocking call waits until it completes while the other process runs', async () => {
        await launch([33]);
        const stop = await step(() => a.dc.continueRequest({ threadId: VMM }));
        expect(stop).toMatchObject({ reason: 'breakpoint', threadId: ADMIN });
        expect(await stack(VMM)).toEqual(['process vmm:38']);
        expect(await stack(ADMIN)).toEqual(['process admin:33']);
        // Over the unbind (which blocks until vmm closes the device) and over the call of take.
        expect(await step(() => a.dc.nextRequest({ threadId: ADMIN }))).toMatchObject({ reason: 'step', threadId: ADMIN });
        expect(await stack(ADMIN)).toEqual(['process admin:35']);
        // vmm ran its close on the way.
        expect(await stack(VMM)).toEqual(['process vmm:39']);
    });

    test('stepIn enters the procedure a call runs; stepOut leaves it', async () => {
        await launch([38]);
        await step(() => a.dc.continueRequest({ threadId: VMM }));
        // admin is blocked in the unbind; stepping in waits for it, then enters take.
        expect(await step(() => a.dc.stepInRequest({ threadId: ADMIN }))).toMatchObject({ reason: 'step', threadId: ADMIN });
        expect(await stack(ADMIN)).toEqual(['take:16', 'process admin:34']);
        await step(() => a.dc.stepOutRequest({ threadId: ADMIN }));
        expect(await stack(ADMIN)).toEqual(['process admin:35']);
    });

    test('stepOut from a nested procedure goes one frame out at a time', async () => {
        await launch();
        await step(() => a.dc.stepOutRequest({ threadId: VMM }));
        expect(await stack(VMM)).toEqual(['attach:21', 'process vmm:24']);
        await step(() => a.dc.stepOutRequest({ threadId: VMM }));
        expect(await stack(VMM)).toEqual(['process vmm:25']);
        // At the outermost level stepOut is next.
        await step(() => a.dc.stepOutRequest({ threadId: VMM }));
        expect(await stack(VMM)).toEqual(['process vmm:26']);
    });

    test('continue runs to the next breakpoint, then to the end', async () => {
        await launch([27]);
        expect(await step(() => a.dc.continueRequest({ threadId: VMM }))).toMatchObject({ reason: 'breakpoint', threadId: VMM });
        expect(await stack(VMM)).toEqual(['process vmm:27']);
        await Promise.all([a.dc.continueRequest({ threadId: VMM }), a.dc.waitForEvent('terminated')]);
    });

    test('pause while stopped stops again where it is, with reason pause', async () => {
        await launch();
        expect(await step(() => a.dc.pauseRequest({ threadId: VMM }))).toMatchObject({ reason: 'pause', threadId: VMM });
        expect(await stack(VMM)).toEqual(['take:16', 'attach:20', 'process vmm:24']);
    });

    test('pause interrupts a long continue', async () => {
        const LOOP = fixture('long-loop.iommu');
        await launchAndStop(a.dc, { program: LOOP }, () => a.dc.setBreakpointsRequest({
            // Never true, and costly enough to check that the run takes a while.
            source: { path: LOOP }, breakpoints: [{ line: 13, condition: 'mapped(nic9, 0x1000) || pa(nic9, 0x2000) == 1' }],
        }));
        const stopped = a.dc.waitForEvent('stopped');
        await a.dc.continueRequest({ threadId: 1 });
        await a.dc.pauseRequest({ threadId: 1 });
        expect(((await stopped) as DebugProtocol.StoppedEvent).body).toMatchObject({ reason: 'pause', threadId: 1 });
        expect(await topFrame(a.dc, 1)).toMatchObject({ line: 13 });
    });
});

describe('stepping back', () => {
    test('stepBack returns to the previous statement, without re-running anything', async () => {
        await launch([27]);
        await step(() => a.dc.continueRequest({ threadId: VMM }));
        expect(await step(() => a.dc.stepBackRequest({ threadId: VMM }))).toMatchObject({ reason: 'step', threadId: VMM });
        expect(await stack(VMM)).toEqual(['process vmm:26']);
        await step(() => a.dc.stepBackRequest({ threadId: VMM }));
        expect(await stack(VMM)).toEqual(['process vmm:25']);
        // Back over the call of attach: to where the call began.
        await step(() => a.dc.stepBackRequest({ threadId: VMM }));
        expect(await stack(VMM)).toEqual(['take:16', 'attach:20', 'process vmm:24']);
        // And forward again, from the same snapshots.
        await step(() => a.dc.nextRequest({ threadId: VMM }));
        expect(await stack(VMM)).toEqual(['take:17', 'attach:20', 'process vmm:24']);
    });

    test('stepBack over a blocked call takes the thread back before it blocked, with the state of then', async () => {
        await launch([35]);
        await step(() => a.dc.continueRequest({ threadId: VMM }));
        expect(await stack(ADMIN)).toEqual(['process admin:35']);
        await step(() => a.dc.stepBackRequest({ threadId: ADMIN }));
        expect(await stack(ADMIN)).toEqual(['process admin:33']);
        expect(await threads()).toEqual(['1 vmm', '2 admin']);
        expect(await stack(VMM)).toEqual(['process vmm:38']);
    });

    test('reverseContinue runs back to the previous breakpoint, then to the start', async () => {
        await launch([27, 39]);
        await step(() => a.dc.continueRequest({ threadId: VMM }));
        expect(await step(() => a.dc.continueRequest({ threadId: VMM }))).toMatchObject({ reason: 'breakpoint' });
        expect(await stack(VMM)).toEqual(['process vmm:39']);
        expect(await step(() => a.dc.reverseContinueRequest({ threadId: VMM }))).toMatchObject({ reason: 'breakpoint', threadId: VMM });
        expect(await stack(VMM)).toEqual(['process vmm:27']);
        expect(await step(() => a.dc.reverseContinueRequest({ threadId: VMM }))).toMatchObject({ reason: 'entry', threadId: VMM });
        expect(await stack(VMM)).toEqual(['take:16', 'attach:20', 'process vmm:24']);
    });

    test('restart starts over, and can switch to another scenario', async () => {
        await launch([27]);
        await step(() => a.dc.continueRequest({ threadId: VMM }));
        expect(await step(() => a.dc.restartRequest({}))).toMatchObject({ reason: 'entry', threadId: VMM });
        expect(await stack(VMM)).toEqual(['take:16', 'attach:20', 'process vmm:24']);
        expect(await step(() => a.dc.restartRequest({ arguments: { program: STEPPING, scenario: 'second' } as DebugProtocol.LaunchRequestArguments }))).toMatchObject({ reason: 'entry', threadId: 1 });
        expect(await threads()).toEqual(['1 solo']);
        expect(await stack(1)).toEqual(['process solo:45']);
    });
});
