/** A run seen as a debugger sees it (language/debug/timeline.ts): threads, positions, frames, step targets, lines. */
import { describe, expect, test } from 'vitest';
import { runScenario } from '../../../engine/runner.js';
import { loadScenarioProgram } from '../../../language/debug/program-loader.js';
import { ScenarioTimeline, type StepKind } from '../../../language/debug/timeline.js';
import { fixture } from './dap-harness.js';

async function timelineOf(file: string, scenario?: string): Promise<ScenarioTimeline> {
    const { scenario: s } = await loadScenarioProgram(fixture(file), scenario);
    return new ScenarioTimeline(runScenario(s.program));
}

/** 1-based line of the statement a tick runs (the tests read the fixtures by their line numbers). */
const lineOf = (t: ScenarioTimeline, tick: number | undefined) => (tick === undefined ? undefined : t.step(t.tick(tick)!.step).loc!.start.line + 1);

describe('stepping targets', () => {
    test('two calls of one procedure are two frames: next leaves the first for the second', async () => {
        const t = await timelineOf('frames.iommu');
        const p = t.threads[0]!;
        const walk = (kind: StepKind, from: number) => {
            const lines: Array<number | undefined> = [];
            for (let cursor: number | undefined = from; cursor !== undefined;) {
                cursor = t.stepTarget(p, cursor, kind);
                lines.push(lineOf(t, cursor));
            }
            return lines;
        };
        expect(walk('in', 0)).toEqual([8, 9, 8, 9, 15, undefined]);
        expect(walk('over', 0)).toEqual([15, undefined]);
        // From inside the first call: over stays in it, then goes to the second call's first statement.
        expect(walk('over', 1)).toEqual([9, 8, 9, 15, undefined]);
        // Out of the first call: the next statement outside it is the second call's first.
        expect(walk('out', 1)).toEqual([8, 15, undefined]);
        // Back mirrors over: from a call's first statement to the statement before the call.
        expect([0, 1, 2, 3, 4, 5].map((c) => lineOf(t, t.stepBackTarget(p, c)))).toEqual([undefined, 12, 8, 9, 8, 12]);
    });

    test('positions: ready, blocked (with what it waits for), finished; frames innermost first', async () => {
        const t = await timelineOf('stepping.iommu');
        const [vmm, admin] = t.threads;
        expect(t.threads.map((x) => x.process)).toEqual(['vmm', 'admin']);
        expect(t.frames(vmm!, 0).map((f) => `${f.name}:${f.loc!.start.line + 1}`)).toEqual(['take:16', 'attach:20', 'process vmm:24']);
        expect(t.position(admin!, 9)).toMatchObject({ state: 'blocked', tick: 10, step: 8, waitingFor: expect.stringMatching(/nvme0/) });
        expect(t.position(admin!, 8)).toEqual({ state: 'ready', tick: 8, step: 8 });
        expect(t.position(admin!, 15)).toEqual({ state: 'finished', lastStep: 11 });
        expect(t.frames(admin!, 15)).toEqual([]);
        expect(t.lastTickOf(admin!, 15)).toBe(13);
    });
});

describe('lines', () => {
    test('statement lines own their continuation lines; calls reach their line when they enter', async () => {
        const t = await timelineOf('stepping.iommu');
        const file = fixture('stepping.iommu');
        expect([27, 28, 29, 30, 31, 32].map((l) => t.statementLine(file, l - 1))).toEqual([26, 27, 27, 29, undefined, undefined]);
        expect(t.ticksOnLine(file, 33)).toEqual([11]); // `call take(nic0)` enters at tick 11
        expect(t.ticksOnLine(file, 15)).toEqual([0, 11]); // take's first statement, once per call
        expect(t.ticksOnLine(file, 32)).toEqual([8]); // the unbind that blocks: its block, not its resume
    });
});
