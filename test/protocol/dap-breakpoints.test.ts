/**
 * DAP: line breakpoints (verified on statements, moved to a statement's first line), conditions
 * over kernel state, hit conditions, log points, exception filters with exceptionInfo, and data
 * breakpoints on the mapping of an IOVA range.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { DebugProtocol } from '@vscode/debugprotocol';
import {
    fixture, launchAndStop, scope, startAdapter, stopAfter, topFrame, variableAt, variables, type Adapter,
} from '../language/debug/dap-harness.js';

let a: Adapter;
beforeEach(async () => {
    a = await startAdapter();
});
afterEach(async () => {
    await a.close();
});

const STEPPING = fixture('stepping.iommu');
const STATE = fixture('kernel-state.iommu');
const QEMU = 1;
const INTRUDER = 2;

async function setBreakpoints(path: string, breakpoints: DebugProtocol.SourceBreakpoint[]): Promise<DebugProtocol.Breakpoint[]> {
    return (await a.dc.setBreakpointsRequest({ source: { path }, breakpoints })).body.breakpoints;
}

/** Continues and returns where it stopped: reason, thread, line. */
async function continueTo(): Promise<{ reason: string; threadId?: number; line: number; description?: string; hitBreakpointIds?: number[]; text?: string }> {
    const stopped = await stopAfter(a.dc, () => a.dc.continueRequest({ threadId: 1 }));
    const frame = await topFrame(a.dc, stopped.body.threadId!);
    return { ...stopped.body, line: frame.line };
}

async function continueToEnd(): Promise<void> {
    await Promise.all([a.dc.continueRequest({ threadId: 1 }), a.dc.waitForEvent('terminated')]);
}

describe('line breakpoints', () => {
    test('verified on statements, moved to the first line of a statement, refused elsewhere', async () => {
        await launchAndStop(a.dc, { program: STEPPING });
        const bps = await setBreakpoints(STEPPING, [{ line: 27 }, { line: 29 }, { line: 13 }, { line: 34 }, { line: 18 }]);
        expect(bps.map((b) => [b.verified, b.line, b.message])).toEqual([
            [true, 27, undefined],
            [true, 28, undefined], // the second line of a two-line statement
            [false, 13, 'no statement of scenario steps runs on this line'],
            [true, 34, undefined], // a call: it stops when the call enters
            [false, 18, 'no statement of scenario steps runs on this line'],
        ]);
        expect(new Set(bps.map((b) => b.id)).size).toBe(5);
        const locations = await a.dc.customRequest('breakpointLocations', { source: { path: STEPPING }, line: 26, endLine: 30 });
        expect(locations.body.breakpoints).toEqual([{ line: 26 }, { line: 27 }, { line: 28 }, { line: 30 }]);

        expect(await continueTo()).toMatchObject({ reason: 'breakpoint', line: 27, hitBreakpointIds: [bps[0]!.id] });
        expect(await continueTo()).toMatchObject({ reason: 'breakpoint', line: 28, hitBreakpointIds: [bps[1]!.id] });
        // The call line: the first statement of the call, with the call in the frame below.
        const atCall = await continueTo();
        expect(atCall).toMatchObject({ reason: 'breakpoint', threadId: 2, line: 16, hitBreakpointIds: [bps[3]!.id] });
        const st = await a.dc.stackTraceRequest({ threadId: 2 });
        expect(st.body.stackFrames.map((f) => `${f.name}:${f.line}`)).toEqual(['take:16', 'process admin:34']);
        await continueToEnd();
    });

    test('a condition over kernel state: viability, groups, drivers, open fds, mappings, the result', async () => {
        await launchAndStop(a.dc, { program: STATE }, () => setBreakpoints(STATE, [
            { line: 21, condition: 'driver(nic0) == "vfio-pci"' },  // false: bind has not run yet
            { line: 22, condition: 'driver(nic0) == "vfio-pci"' },  // true
            { line: 25, condition: 'viable(nic0)' },                // false: nic1 is still on ixgbe... no, bound at 23
            { line: 26, condition: '!open(group) || group(nic0) != group(nic1)' }, // false
            { line: 30, condition: 'mapped(nic0, 0x10_1000) && !mapped(nic0, 0x20_0000) && open(group)' }, // true
            { line: 40, condition: 'errno == EBUSY && process == intruder' }, // true: the expected EBUSY
        ]));
        const first = await continueTo();
        expect(first).toMatchObject({ reason: 'breakpoint', threadId: QEMU, line: 22 });
        expect(await continueTo()).toMatchObject({ reason: 'breakpoint', line: 25 });
        expect(await continueTo()).toMatchObject({ reason: 'breakpoint', line: 30 });
        expect(await continueTo()).toMatchObject({ reason: 'breakpoint', threadId: INTRUDER, line: 40 });
        await continueToEnd();
    });

    test('an invalid condition is refused; one that fails to evaluate stops and says why', async () => {
        await launchAndStop(a.dc, { program: STATE });
        const bps = await setBreakpoints(STATE, [
            { line: 22, condition: 'viable(nic0' },
            { line: 24, condition: 'group(nic0) > "x"' },
            { line: 25, hitCondition: 'often' },
        ]);
        expect(bps.map((b) => [b.verified, b.message])).toEqual([
            [false, "condition: expected ')' at the end"],
            [true, undefined],
            [false, "hit condition 'often': write N, == N, >= N, > N, < N, <= N or % N"],
        ]);
        expect(await continueTo()).toMatchObject({
            reason: 'breakpoint', line: 24,
            description: "Breakpoint condition 'group(nic0) > \"x\"': '>' needs two numbers, not 0 and \"x\"",
        });
    });

    test('hit conditions count hits over the run, loop variables are names in conditions', async () => {
        await launchAndStop(a.dc, { program: STATE }, () => setBreakpoints(STATE, [{ line: 32, hitCondition: '3' }]));
        const third = await continueTo();
        expect(third).toMatchObject({ reason: 'breakpoint', line: 32 });
        const evaluated = await a.dc.evaluateRequest({ expression: 'off', context: 'repl', frameId: (await topFrame(a.dc, QEMU)).id });
        expect(evaluated.body.result).toBe('2');
        expect(await continueTo()).toMatchObject({ reason: 'breakpoint', line: 32 }); // >= 3: the fourth too
        await setBreakpoints(STATE, [{ line: 32, condition: 'off == 1' }]);
        expect(await stopAfter(a.dc, () => a.dc.reverseContinueRequest({ threadId: QEMU }))).toMatchObject({ body: { reason: 'breakpoint' } });
        expect((await a.dc.evaluateRequest({ expression: 'off == 1', context: 'watch' })).body.result).toBe('true');
        // Every second hit: from off == 1 (the second), back finds none, forward the fourth.
        await setBreakpoints(STATE, [{ line: 32, hitCondition: '% 2' }]);
        expect(await stopAfter(a.dc, () => a.dc.reverseContinueRequest({ threadId: QEMU }))).toMatchObject({ body: { reason: 'entry' } });
        expect(await continueTo()).toMatchObject({ reason: 'breakpoint', line: 32 });
        expect((await a.dc.evaluateRequest({ expression: 'off', context: 'repl' })).body.result).toBe('1');
        expect(await continueTo()).toMatchObject({ reason: 'breakpoint', line: 32 });
        expect((await a.dc.evaluateRequest({ expression: 'off', context: 'repl' })).body.result).toBe('3');
    });

    test('log points print their message with expressions and do not stop', async () => {
        const lines: string[] = [];
        a.dc.on('output', (e: DebugProtocol.OutputEvent) => {
            if (e.body.line !== undefined) {
                lines.push(`${e.body.line}: ${e.body.output}`);
            }
        });
        await launchAndStop(a.dc, { program: STATE }, () => setBreakpoints(STATE, [
            { line: 32, logMessage: 'off={off} pa={pa(nic1, 0x10_4000 + off * 4K)} {{literal}}' },
            { line: 26, logMessage: 'group {group(nic0)}: viable={viable(nic0)}, {nonsense()}' },
        ]));
        await continueToEnd();
        expect(lines[0]).toBe('26: group 0: viable=true, <unknown function nonsense(); there are viable, group, driver, domain, exists, open, mapped, pa>\n');
        expect(lines.slice(1).map((l) => l.replace(/pa=0x[0-9a-f]+/, 'pa=PA'))).toEqual([
            '32: off=0 pa=PA {literal}\n', '32: off=1 pa=PA {literal}\n', '32: off=2 pa=PA {literal}\n', '32: off=3 pa=PA {literal}\n',
        ]);
    });
});

describe('exception breakpoints', () => {
    test('the filters offered, and their default', async () => {
        const init = await a.dc.initializeRequest();
        expect(init.body?.exceptionBreakpointFilters?.map((f) => [f.filter, f.default ?? false, f.supportsCondition ?? false])).toEqual([
            ['errno', true, true], ['fault', true, false], ['blocked', false, false], ['expect', false, false],
        ]);
        expect(init.body).toMatchObject({ supportsStepBack: true, supportsDataBreakpoints: true, supportsReadMemoryRequest: true, supportsExceptionInfoRequest: true });
    });

    test('errno: stops at a call that returns an errno it does not expect, and explains it', async () => {
        await launchAndStop(a.dc, { program: STATE }, () => a.dc.setExceptionBreakpointsRequest({ filters: ['errno'] }));
        const stop = await continueTo();
        expect(stop).toMatchObject({ reason: 'exception', threadId: INTRUDER, line: 41, text: 'EBUSY' });
        const info = await a.dc.exceptionInfoRequest({ threadId: INTRUDER });
        expect(info.body).toMatchObject({
            exceptionId: 'EBUSY',
            description: '/dev/vfio/0 is already open (by qemu): a group is opened by one owner at a time',
            breakMode: 'always',
            details: { typeName: 'Unexpected errno', message: 'EBUSY: /dev/vfio/0 is already open (by qemu): a group is opened by one owner at a time (drivers/vfio/group.c)' },
        });
        expect(info.body.details?.stackTrace).toMatch(/^at drivers\/vfio\/group\.c:\w+ \(Linux\)\nat kernel-state\.iommu line 41 \(intruder\)$/);
        const exception = await scope(a.dc, INTRUDER, 'Exception');
        expect(Object.fromEntries((await variables(a.dc, exception.variablesReference)).map((v) => [v.name, v.value]))).toMatchObject({
            statement: 'open (kernel-state.iommu line 41)', result: 'EBUSY', errno: 'EBUSY',
        });
        expect(await continueTo()).toMatchObject({ reason: 'exception', line: 42, text: 'ENOENT' });
        await continueToEnd();
    });

    test('errno with a condition stops only on the errnos it names', async () => {
        await launchAndStop(a.dc, { program: STATE }, async () => {
            const r = await a.dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'errno', condition: 'ENOENT, EPERM' }] });
            expect(r.body?.breakpoints).toEqual([{ verified: true }]);
        });
        expect(await continueTo()).toMatchObject({ reason: 'exception', line: 42, text: 'ENOENT' });
        const bad = await a.dc.setExceptionBreakpointsRequest({ filters: ['nonsense'], filterOptions: [{ filterId: 'errno', condition: 'EBUSY,EWHAT' }] });
        expect(bad.body?.breakpoints).toEqual([{ verified: false, message: "no exception filter 'nonsense'" }, { verified: false, message: 'not an errno: EWHAT' }]);
    });

    test('fault: stops at a DMA that faults without `expect fault`', async () => {
        await launchAndStop(a.dc, { program: STATE }, () => a.dc.setExceptionBreakpointsRequest({ filters: ['fault'] }));
        expect(await continueTo()).toMatchObject({ reason: 'exception', threadId: QEMU, line: 35, text: 'fault' });
        const info = await a.dc.exceptionInfoRequest({ threadId: QEMU });
        expect(info.body).toMatchObject({
            exceptionId: 'fault',
            description: '0000:02:00.1 (nic1): IOVA 0x200000 is not mapped in paging domain 5 (x86-64)',
            details: { typeName: 'Unexpected DMA fault' },
        });
        await continueToEnd();
    });

    test('blocked and expect: a call that blocks; a result that misses its expectation', async () => {
        await launchAndStop(a.dc, { program: STEPPING }, () => a.dc.setExceptionBreakpointsRequest({ filters: ['blocked'] }));
        expect(await continueTo()).toMatchObject({ reason: 'exception', threadId: 2, line: 33, text: 'blocked' });
        expect((await a.dc.exceptionInfoRequest({ threadId: 2 })).body.description).toMatch(/^waits for .*nvme0/);
        await a.close();
        a = await startAdapter();
        await launchAndStop(a.dc, { program: STATE }, () => a.dc.setExceptionBreakpointsRequest({ filters: ['expect'] }));
        expect(await continueTo()).toMatchObject({ reason: 'exception', line: 35, text: 'expect' });
        expect(await continueTo()).toMatchObject({ reason: 'exception', line: 41, text: 'expect' });
        expect(await continueTo()).toMatchObject({ reason: 'exception', line: 42, text: 'expect' });
        expect(await continueTo()).toMatchObject({ reason: 'exception', line: 43, text: 'expect' });
        expect((await a.dc.exceptionInfoRequest({ threadId: INTRUDER })).body.description).toBe('expected EBUSY, got ok');
    });
});

describe('data breakpoints', () => {
    test('on a page-table entry: stops after the step that changes its mapping', async () => {
        await launchAndStop(a.dc, { program: STATE }, () => setBreakpoints(STATE, [{ line: 30 }]));
        expect(await continueTo()).toMatchObject({ line: 30 });
        const domains = await scope(a.dc, QEMU, 'Domains');
        const table = await variableAt(a.dc, domains.variablesReference, ['domain 5', 'page table']);
        // Down to the leaf table that maps 0x100000-0x10ffff.
        const l3 = (await variables(a.dc, table.variablesReference, { filter: 'indexed', start: 0, count: 1 }))[0]!;
        const l2 = (await variables(a.dc, l3.variablesReference, { filter: 'indexed', start: 0, count: 1 }))[0]!;
        const l1 = (await variables(a.dc, l2.variablesReference, { filter: 'indexed', start: 0, count: 1 }))[0]!;
        expect(l1.name).toBe('[0] 0x0-0x1fffff');
        const leaves = await variables(a.dc, l1.variablesReference, { filter: 'indexed', start: 0, count: 16 });
        expect(leaves[1]!.name).toBe('[257] 0x101000-0x101fff');
        const info = await a.dc.dataBreakpointInfoRequest({ variablesReference: l1.variablesReference, name: leaves[1]!.name });
        expect(info.body).toEqual({ dataId: 'domain:5:0x101000:0x101fff', description: 'mapping of domain 5 [0x101000, 0x101fff]', accessTypes: ['write'], canPersist: false });
        const notWatchable = await a.dc.dataBreakpointInfoRequest({ variablesReference: domains.variablesReference, name: 'domain 5' });
        expect(notWatchable.body.dataId).toBeNull();
        const set = await a.dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.body.dataId! }, { dataId: 'bogus' }] });
        expect(set.body.breakpoints.map((b) => b.verified)).toEqual([true, false]);
        // DMA in between sets no mapping bits: only the unmap trips it.
        const stop = await continueTo();
        expect(stop).toMatchObject({
            reason: 'data breakpoint', threadId: QEMU, line: 37,
            description: 'the mapping of domain 5 [0x101000, 0x101fff] changed', hitBreakpointIds: [set.body.breakpoints[0]!.id],
        });
        const last = await scope(a.dc, QEMU, 'Last result');
        expect(last.name).toBe('Last result');
        expect(Object.fromEntries((await variables(a.dc, last.variablesReference)).map((v) => [v.name, v.value]))).toMatchObject({
            statement: 'VFIO_IOMMU_UNMAP_DMA (kernel-state.iommu line 36)', result: 'ok',
        });
        // Back in time: the change is seen in reverse too.
        await setBreakpoints(STATE, []);
        expect((await stopAfter(a.dc, () => a.dc.reverseContinueRequest({ threadId: QEMU }))).body).toMatchObject({ reason: 'data breakpoint' });
        expect(await topFrame(a.dc, QEMU)).toMatchObject({ line: 30 });
    });

    test('on a type1 mapping, set by id before it exists: stops when it appears and when it goes', async () => {
        await launchAndStop(a.dc, { program: STATE });
        const info = await a.dc.dataBreakpointInfoRequest({ name: 'container:1:0x100000:0x10ffff' });
        expect(info.body.description).toBe('mapping of container 1 [0x100000, 0x10ffff]');
        await a.dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.body.dataId! }] });
        expect(await continueTo()).toMatchObject({ reason: 'data breakpoint', line: 30 });
        const vfio = await scope(a.dc, QEMU, 'VFIO');
        const mappings = await variableAt(a.dc, vfio.variablesReference, ['container 1', 'mappings']);
        const [mapping] = await variables(a.dc, mappings.variablesReference, { filter: 'indexed', start: 0, count: 10 });
        expect(mapping).toMatchObject({ name: '0x100000-0x10ffff', type: 'mapping' });
        expect((await a.dc.dataBreakpointInfoRequest({ variablesReference: mappings.variablesReference, name: mapping!.name })).body.dataId).toBe('container:1:0x100000:0x10ffff');
        expect(await continueTo()).toMatchObject({ reason: 'data breakpoint', line: 37 });
        await continueToEnd();
    });
});
