/** Breakpoint bookkeeping (language/debug/breakpoints.ts), memory references and watch ids. */
import { describe, expect, test } from 'vitest';
import { runScenario } from '../../../engine/runner.js';
import { BreakpointStore, hitConditionHolds, parseHitCondition, parseLogMessage } from '../../../language/debug/breakpoints.js';
import { formatMemoryReference, parseMemoryReference } from '../../../language/debug/memory.js';
import { loadScenarioProgram } from '../../../language/debug/program-loader.js';
import { ScenarioTimeline } from '../../../language/debug/timeline.js';
import { describeWatch, parseWatchId, watchId } from '../../../language/debug/watch.js';
import { fixture } from './dap-harness.js';

describe('hit conditions and log messages', () => {
    test('hit conditions: a number means from the Nth hit on', () => {
        expect(parseHitCondition('3')).toEqual({ op: '>=', count: 3 });
        expect(parseHitCondition(' == 2 ')).toEqual({ op: '==', count: 2 });
        expect(parseHitCondition('=2')).toEqual({ op: '==', count: 2 });
        expect(parseHitCondition('% 0')).toBeUndefined();
        expect(parseHitCondition('often')).toBeUndefined();
        const hits = (text: string) => [1, 2, 3, 4, 5, 6].filter((n) => hitConditionHolds(parseHitCondition(text), n));
        expect([hits('3'), hits('==3'), hits('>3'), hits('<3'), hits('<=3'), hits('%3')]).toEqual([[3, 4, 5, 6], [3], [4, 5, 6], [1, 2], [1, 2, 3], [3, 6]]);
    });

    test('log messages: text and {expressions}, with {{ }} for braces', () => {
        const parts = parseLogMessage('a {1 + 1} b {{c}}');
        expect(parts.map((p) => (typeof p === 'string' ? p : `<${p.text}>`))).toEqual(['a ', '<1 + 1>', ' b {c}']);
        expect(() => parseLogMessage('a {b')).toThrow('a { in the log message is not closed');
    });
});

describe('the breakpoint store', () => {
    test('verifies against the loaded run, moves to statement lines, indexes the ticks it stops at', async () => {
        const file = fixture('stepping.iommu');
        const store = new BreakpointStore();
        const early = store.setLineBreakpoints(file, [{ line: 26 }, { line: 28 }, { line: 12 }, { line: 25, condition: 'x ==' }]);
        expect(early.map((b) => [b.verified, b.message])).toEqual([
            [false, 'the scenario is not loaded yet'], [false, 'the scenario is not loaded yet'], [false, 'the scenario is not loaded yet'],
            [false, 'condition: the condition ends too early'],
        ]);
        const { scenario } = await loadScenarioProgram(file);
        const changed = store.attach(new ScenarioTimeline(runScenario(scenario.program)));
        expect(changed.map((b) => [b.id, b.verified, b.line, b.message])).toEqual([
            [1, true, 26, undefined], [2, true, 27, undefined], [3, false, undefined, 'no statement of scenario steps runs on this line'],
        ]);
        expect(store.lineBreakpointsAt(5).map((b) => b.id)).toEqual([1]);
        expect(store.lineBreakpointsAt(6).map((b) => b.id)).toEqual([2]);
        // Replacing a file's breakpoints drops the old ones.
        store.setLineBreakpoints(file, [{ line: 15 }]);
        expect(store.lineBreakpointsAt(5)).toEqual([]);
        expect(store.lineBreakpointsAt(11).map((b) => b.spec.line)).toEqual([15]);
    });

    test('exception filters and their errno condition', () => {
        const store = new BreakpointStore();
        expect(store.setExceptionFilters(['fault', 'blocked'], [{ filterId: 'errno', condition: 'ebusy enotsup' }])).toEqual([
            { filter: 'fault', verified: true }, { filter: 'blocked', verified: true }, { filter: 'errno', verified: true },
        ]);
        expect([...store.exceptionFilters.enabled]).toEqual(['fault', 'blocked', 'errno']);
        expect([...store.exceptionFilters.errnos]).toEqual(['EBUSY', 'EOPNOTSUPP']);
    });
});

describe('references and ids', () => {
    test('memory references name a space and a base', () => {
        expect(parseMemoryReference('dev:nic0')).toEqual({ space: { kind: 'dev', device: 'nic0' }, base: 0n });
        expect(parseMemoryReference('domain:3@0x1000')).toEqual({ space: { kind: 'domain', domain: 3 }, base: 0x1000n });
        expect(parseMemoryReference('proc:qemu@0x7f00')).toEqual({ space: { kind: 'proc', process: 'qemu' }, base: 0x7f00n });
        expect(parseMemoryReference('phys@4096')).toEqual({ space: { kind: 'phys' }, base: 4096n });
        expect(['domain:x', 'dev', 'phys:1', 'nonsense', ''].map(parseMemoryReference)).toEqual([undefined, undefined, undefined, undefined, undefined]);
        for (const ref of ['dev:nic0', 'domain:3@0x1000', 'proc:qemu@0x7f00', 'phys']) {
            expect(formatMemoryReference(parseMemoryReference(ref)!)).toBe(ref);
        }
    });

    test('watch ids round-trip and read as the user names the range', () => {
        const r = { space: 'ioas:1:2', start: 0x10_0000n, last: 0x2f_ffffn };
        expect(watchId(r)).toBe('ioas:1:2:0x100000:0x2fffff');
        expect(parseWatchId(watchId(r))).toEqual(r);
        expect(describeWatch(r)).toBe('IOAS 2 of iommufd 1 [0x100000, 0x2fffff]');
        expect(describeWatch({ space: 'domain:5', start: 0n, last: 0xfffn })).toBe('domain 5 [0x0, 0xfff]');
        expect(['domain:5:0x2:0x1', 'bogus', 'dev:nic0:0x0:0x1'].map(parseWatchId)).toEqual([undefined, undefined, undefined]);
    });
});
