/**
 * A finished scenario run seen as a debugger sees it: processes as threads, a cursor over the
 * run's ticks, where each thread stands at a cursor (the statement it runs next, or the call it is
 * blocked in), its procedure frames, and where `next`, `stepIn`, `stepOut` and `stepBack` lead.
 * Knows nothing of the Debug Adapter Protocol; lines are 0-based, as the engine's locations.
 *
 * A cursor `c` in [0, ticks.length] stands before tick `c`: the state it shows is the one after
 * tick `c - 1` (the run's initial state for 0), and tick `c` is what runs next. Going back is
 * moving the cursor: the engine's per-tick snapshots are never recomputed.
 */

import { resolve } from 'node:path';
import { URI } from 'langium';
import type { SourceLocation } from '../../engine/location.js';
import type { RunnerState, ScenarioRun, Tick } from '../../engine/runner.js';
import type { Step, StepResult } from '../../engine/step.js';

/** A scenario process, as a thread. */
export interface ThreadInfo {
    /** 1-based, in declaration order; stable for the whole session. */
    readonly id: number;
    readonly process: string;
}

/** Where a thread stands at a cursor. */
export type ThreadPosition =
    /** It runs `step` next, at `tick`. */
    | { readonly state: 'ready'; readonly tick: number; readonly step: number }
    /** It is blocked in `step`; `tick` completes the call (-1: never, the run ends first). */
    | { readonly state: 'blocked'; readonly tick: number; readonly step: number; readonly waitingFor: string }
    /** It has nothing left to run; `lastStep` is the last one it ran. */
    | { readonly state: 'finished'; readonly lastStep?: number };

/** One frame of a thread's stack, innermost first. */
export interface TimelineFrame {
    /** The procedure's name, or `process NAME` for the outermost frame. */
    readonly name: string;
    /** The statement (innermost frame) or the `call` statement (outer frames). */
    readonly loc?: SourceLocation;
}

/** How a forward step moves a thread. */
export type StepKind = 'over' | 'in' | 'out';

/** A file system path for a location's URI (locations carry `file://` URIs). */
export function pathOfUri(uri: string | undefined): string | undefined {
    if (uri === undefined) {
        return undefined;
    }
    return uri.includes('://') ? URI.parse(uri).fsPath : resolve(uri);
}

const NO_FRAMES: readonly number[] = [];

/** The run of one scenario, indexed for stepping, breakpoints and stack traces. */
export class ScenarioTimeline {
    readonly threads: readonly ThreadInfo[];
    /** Thread index (0-based) of each tick. */
    private readonly tickThread: Int32Array;
    /** Per thread: its ticks, ascending. */
    private readonly threadTicks: readonly Int32Array[];
    /** Per step: ids of its procedure frame instances, outermost first. */
    private readonly frameIds: ReadonlyArray<readonly number[]>;
    /** Path → 0-based line → ticks at which a statement on that line starts (or a call on it enters). */
    private readonly lineTicks = new Map<string, Map<number, number[]>>();
    /** Path → 0-based line → the statement line it belongs to (multi-line statements). */
    private readonly lineOwner = new Map<string, Map<number, number>>();
    private readonly paths = new Map<string, string | undefined>();

    constructor(readonly run: ScenarioRun) {
        const program = run.program;
        const names: string[] = [];
        for (const p of program.processes) {
            if (!names.includes(p.name)) {
                names.push(p.name);
            }
        }
        for (const s of program.steps) {
            if (!names.includes(s.process)) {
                names.push(s.process);
            }
        }
        this.threads = names.map((process, i) => ({ id: i + 1, process }));
        const index = new Map(names.map((n, i) => [n, i] as const));

        this.tickThread = new Int32Array(run.ticks.length);
        const counts = new Array<number>(names.length).fill(0);
        run.ticks.forEach((t, i) => {
            const th = index.get(program.steps[t.step]!.process)!;
            this.tickThread[i] = th;
            counts[th]!++;
        });
        const lists = counts.map((n) => new Int32Array(n));
        const fill = new Array<number>(names.length).fill(0);
        for (let i = 0; i < run.ticks.length; i++) {
            const th = this.tickThread[i]!;
            lists[th]![fill[th]!++] = i;
        }
        this.threadTicks = lists;
        this.frameIds = computeFrameIds(program.steps);
        this.indexLines();
    }

    /** Number of ticks; cursors run from 0 to this. */
    get length(): number {
        return this.run.ticks.length;
    }

    get program() {
        return this.run.program;
    }

    /** The state the cursor shows (after the tick before it). */
    stateAt(cursor: number): RunnerState {
        return cursor <= 0 ? this.run.initial : this.run.ticks[Math.min(cursor, this.length) - 1]!.state;
    }

    tick(index: number): Tick | undefined {
        return index >= 0 && index < this.length ? this.run.ticks[index] : undefined;
    }

    step(index: number): Step {
        return this.run.program.steps[index]!;
    }

    /** The final result of a step (with its expectation check). */
    result(step: number): StepResult | undefined {
        return this.run.results[step];
    }

    threadById(id: number): ThreadInfo | undefined {
        return this.threads[id - 1];
    }

    threadByProcess(process: string): ThreadInfo | undefined {
        return this.threads.find((t) => t.process === process);
    }

    /** The thread that runs tick `index`. */
    threadOfTick(index: number): ThreadInfo | undefined {
        return index >= 0 && index < this.length ? this.threads[this.tickThread[index]!] : undefined;
    }

    /** Whether a tick starts a statement (`run` or `block`), rather than completing a blocked one. */
    startsStatement(index: number): boolean {
        const t = this.tick(index);
        return t !== undefined && t.kind !== 'resume';
    }

    /** Where a thread stands at a cursor. */
    position(thread: ThreadInfo, cursor: number): ThreadPosition {
        const ticks = this.threadTicks[thread.id - 1]!;
        const i = lowerBound(ticks, cursor);
        const blocked = this.stateAt(cursor).blocked.get(thread.process);
        if (blocked) {
            return { state: 'blocked', tick: i < ticks.length ? ticks[i]! : -1, step: blocked.step, waitingFor: blocked.waitingFor };
        }
        if (i < ticks.length) {
            return { state: 'ready', tick: ticks[i]!, step: this.run.ticks[ticks[i]!]!.step };
        }
        return { state: 'finished', lastStep: ticks.length > 0 ? this.run.ticks[ticks[ticks.length - 1]!]!.step : undefined };
    }

    /** The thread's stack at a cursor, innermost first (empty when it has finished). */
    frames(thread: ThreadInfo, cursor: number): TimelineFrame[] {
        const pos = this.position(thread, cursor);
        if (pos.state === 'finished') {
            return [];
        }
        const step = this.step(pos.step);
        const frames = step.frames ?? [];
        const out: TimelineFrame[] = [{ name: frames.length > 0 ? frames[frames.length - 1]!.procedure : `process ${thread.process}`, loc: step.loc }];
        for (let i = frames.length - 1; i >= 0; i--) {
            out.push({ name: i > 0 ? frames[i - 1]!.procedure : `process ${thread.process}`, loc: frames[i]!.callLoc });
        }
        return out;
    }

    /** The last tick before `cursor` that the thread ran, if any. */
    lastTickOf(thread: ThreadInfo, cursor: number): number | undefined {
        const ticks = this.threadTicks[thread.id - 1]!;
        const i = lowerBound(ticks, cursor) - 1;
        return i >= 0 ? ticks[i] : undefined;
    }

    /**
     * The tick a forward step of `thread` from `cursor` stops before, or undefined when the thread
     * has no such statement left (the step then runs to the end). `over` stops at the thread's
     * next statement in the same or an outer frame, `in` at its next statement, `out` at its next
     * statement after leaving the current procedure (`over` at the outermost level).
     */
    stepTarget(thread: ThreadInfo, cursor: number, kind: StepKind): number | undefined {
        const ticks = this.threadTicks[thread.id - 1]!;
        let i = lowerBound(ticks, cursor);
        if (i >= ticks.length) {
            return undefined;
        }
        const from = this.frameIds[this.run.ticks[ticks[i]!]!.step]!;
        const mode = kind === 'out' && from.length === 0 ? 'over' : kind;
        for (i++; i < ticks.length; i++) {
            const t = ticks[i]!;
            if (!this.startsStatement(t)) {
                continue;
            }
            if (mode === 'in' || this.stopsStepping(from, this.frameIds[this.run.ticks[t]!.step]!, mode)) {
                return t;
            }
        }
        return undefined;
    }

    /**
     * The tick a backward step of `thread` from `cursor` stops before: its previous statement in
     * the same or an outer frame; undefined when it has none.
     */
    stepBackTarget(thread: ThreadInfo, cursor: number): number | undefined {
        const ticks = this.threadTicks[thread.id - 1]!;
        let i = lowerBound(ticks, cursor);
        const current = i < ticks.length ? this.frameIds[this.run.ticks[ticks[i]!]!.step]! : NO_FRAMES;
        for (i--; i >= 0; i--) {
            const t = ticks[i]!;
            if (this.startsStatement(t) && this.stopsStepping(current, this.frameIds[this.run.ticks[t]!.step]!, 'over')) {
                return t;
            }
        }
        return undefined;
    }

    /** Whether a statement with frames `to` ends a step from frames `from`. */
    private stopsStepping(from: readonly number[], to: readonly number[], mode: 'over' | 'out'): boolean {
        let common = 0;
        while (common < from.length && common < to.length && from[common] === to[common]) {
            common++;
        }
        if (mode === 'out') {
            return common < from.length;
        }
        // Same or outer frame, or a sibling call after returning: anything but deeper inside `from`.
        return common === to.length || common < from.length;
    }

    // -----------------------------------------------------------------------------------------
    // Lines

    /** The file system path of a location. */
    pathOf(loc: SourceLocation | undefined): string | undefined {
        if (!loc?.uri) {
            return undefined;
        }
        let path = this.paths.get(loc.uri);
        if (path === undefined && !this.paths.has(loc.uri)) {
            path = pathOfUri(loc.uri);
            this.paths.set(loc.uri, path);
        }
        return path;
    }

    /** The line of the statement a breakpoint on `line` belongs to, or undefined if none runs there. */
    statementLine(path: string, line: number): number | undefined {
        return this.lineOwner.get(resolve(path))?.get(line);
    }

    /** Ticks at which execution reaches `line` (a statement starts there, or a call there enters). */
    ticksOnLine(path: string, line: number): readonly number[] {
        return this.lineTicks.get(resolve(path))?.get(line) ?? [];
    }

    private indexLines(): void {
        const steps = this.run.program.steps;
        const seen = new Set<SourceLocation>();
        const own = (loc: SourceLocation | undefined, fromLine: number, toLine: number) => {
            const path = this.pathOf(loc);
            if (path === undefined) {
                return;
            }
            let owners = this.lineOwner.get(path);
            if (!owners) {
                owners = new Map();
                this.lineOwner.set(path, owners);
            }
            // A line where a statement starts is that statement's; continuation lines are the
            // statement's they continue.
            owners.set(fromLine, fromLine);
            for (let l = fromLine + 1; l <= toLine; l++) {
                if (!owners.has(l)) {
                    owners.set(l, fromLine);
                }
            }
        };
        for (const s of steps) {
            if (s.loc && !seen.has(s.loc)) {
                seen.add(s.loc);
                own(s.loc, s.loc.start.line, s.loc.end.line);
            }
            for (const f of s.frames ?? []) {
                if (f.callLoc && !seen.has(f.callLoc)) {
                    seen.add(f.callLoc);
                    own(f.callLoc, f.callLoc.start.line, f.callLoc.end.line);
                }
            }
        }
        // Starting lines win over continuation lines written before them.
        for (const loc of seen) {
            const path = this.pathOf(loc);
            if (path !== undefined) {
                this.lineOwner.get(path)!.set(loc.start.line, loc.start.line);
            }
        }
        const add = (loc: SourceLocation | undefined, tick: number) => {
            const path = this.pathOf(loc);
            if (path === undefined || !loc) {
                return;
            }
            let lines = this.lineTicks.get(path);
            if (!lines) {
                lines = new Map();
                this.lineTicks.set(path, lines);
            }
            const list = lines.get(loc.start.line);
            if (list) {
                if (list[list.length - 1] !== tick) {
                    list.push(tick);
                }
            } else {
                lines.set(loc.start.line, [tick]);
            }
        };
        const lastFrames = new Map<number, readonly number[]>();
        for (let t = 0; t < this.length; t++) {
            if (!this.startsStatement(t)) {
                continue;
            }
            const stepIndex = this.run.ticks[t]!.step;
            const step = steps[stepIndex]!;
            const ids = this.frameIds[stepIndex]!;
            const before = lastFrames.get(this.tickThread[t]!) ?? NO_FRAMES;
            // A `call` line is reached when the first statement of a new call of it runs.
            for (let d = 0; d < ids.length; d++) {
                if (before[d] !== ids[d]) {
                    add(step.frames![d]!.callLoc, t);
                }
            }
            add(step.loc, t);
            lastFrames.set(this.tickThread[t]!, ids);
        }
    }
}

/** First index in a sorted array whose value is >= `value`. */
function lowerBound(a: Int32Array, value: number): number {
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (a[mid]! < value) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

function sameLoc(a: SourceLocation | undefined, b: SourceLocation | undefined): boolean {
    return a === b || (!!a && !!b && a.uri === b.uri && a.start.line === b.start.line && a.start.character === b.start.character);
}

/**
 * Ids of each step's procedure frame instances: consecutive steps of a process share the ids of
 * the frames they have in common (same procedure entered from the same call), so that stepping
 * can tell "the same call" from "a new call of the same procedure".
 */
function computeFrameIds(steps: readonly Step[]): ReadonlyArray<readonly number[]> {
    const out: Array<readonly number[]> = new Array(steps.length);
    const last = new Map<string, { frames: Step['frames']; ids: readonly number[] }>();
    let next = 1;
    for (let i = 0; i < steps.length; i++) {
        const s = steps[i]!;
        const frames = s.frames ?? [];
        if (frames.length === 0) {
            out[i] = NO_FRAMES;
            last.set(s.process, { frames, ids: NO_FRAMES });
            continue;
        }
        const prev = last.get(s.process);
        const prevFrames = prev?.frames ?? [];
        const ids: number[] = [];
        let common = true;
        for (let d = 0; d < frames.length; d++) {
            const f = frames[d]!;
            const p = prevFrames[d];
            common = common && p !== undefined && p.procedure === f.procedure && sameLoc(p.callLoc, f.callLoc);
            ids.push(common ? prev!.ids[d]! : next++);
        }
        out[i] = ids;
        last.set(s.process, { frames, ids });
    }
    return out;
}
