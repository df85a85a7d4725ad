/**
 * The debugger's runtime, in the sense of mock-debug's MockRuntime: it moves a cursor over a
 * finished scenario run (forward and backward), stops at breakpoints, exceptions and data
 * breakpoints, and says why it stopped. It never re-runs the engine; it knows nothing of the Debug
 * Adapter Protocol (the session translates), and lines are 0-based.
 *
 * Stop points are ordered as the run happens: before tick 0, after tick 0, before tick 1, ...,
 * after the last tick, the end. Point `2c` is "before tick c" (cursor c, where line breakpoints
 * and exceptions of tick c are checked); point `2c - 1` is "after tick c - 1" (also cursor c,
 * where data breakpoints see the change tick c - 1 made).
 */

import { formatKernelError, type KernelSource } from '../../engine/errno.js';
import { hitConditionHolds, type BreakpointStore, type DataBreakpoint, type ExceptionFilterId, type LineBreakpoint } from './breakpoints.js';
import { evaluateCondition, formatConditionValue, isTruthy, type Condition, type ConditionContext } from './conditions.js';
import { bindingValues } from './process-view.js';
import type { ScenarioTimeline, StepKind, ThreadInfo } from './timeline.js';
import { describeWatch, mappingChanged } from './watch.js';

/** Why the debugger stopped, as DAP's `stopped` event names it. */
export type StopReason = 'entry' | 'step' | 'breakpoint' | 'exception' | 'data breakpoint' | 'pause';

/** Why a statement counts as an exception, for `exceptionInfo`. */
export interface ExceptionStop {
    /** The errno name, `fault`, `blocked` or `expect`. */
    readonly id: string;
    readonly filter: ExceptionFilterId;
    /** The reason in words. */
    readonly description: string;
    /** As the language server words it (`EBUSY: ... (drivers/vfio/group.c)`). */
    readonly message: string;
    readonly source?: KernelSource;
    readonly tick: number;
}

/** Where the debugger stopped and why. */
export interface Stop {
    readonly point: number;
    readonly cursor: number;
    readonly reason: StopReason;
    /** The thread the stop is about (it runs the next tick, or made the change). */
    readonly thread: ThreadInfo;
    /** Why, in words (data breakpoints, condition errors). */
    readonly description?: string;
    readonly breakpointIds?: readonly number[];
    readonly exception?: ExceptionStop;
}

/** Where a run or step ended: at a stop, or past the end of the scenario. */
export type RunOutcome =
    | { readonly kind: 'stopped'; readonly stop: Stop }
    /** Forward past the last tick: the scenario is over. */
    | { readonly kind: 'ended' };

/** How many stop points a scan checks between two yields to the event loop. */
const CHUNK = 512;

/** The cursor of a stop point: "after tick c - 1" (2c - 1) and "before tick c" (2c) share cursor c. */
export function cursorOf(point: number): number {
    return (point + 1) >> 1;
}

/** Runs forward and backward over a timeline, honouring breakpoints. */
export class ScenarioDebugger {
    private stop: Stop | undefined;
    private pauseRequested = false;
    private scanning = false;
    /** Data breakpoint id → points (ascending) checked so far where it hit, and the last point checked. */
    private readonly dataHits = new Map<number, { upTo: number; points: number[] }>();

    constructor(
        readonly timeline: ScenarioTimeline,
        readonly breakpoints: BreakpointStore,
        /** Log points print through this (forward execution only). */
        private readonly log: (text: string, tick: number) => void = () => undefined,
    ) {}

    /** The current stop (undefined before the first one). */
    get current(): Stop | undefined {
        return this.stop;
    }

    /** Whether a continue or step is in progress. */
    get running(): boolean {
        return this.scanning;
    }

    /** The end point: past the last tick. */
    get endPoint(): number {
        return 2 * this.timeline.length;
    }

    /** Starts: stops on entry, or runs to the first breakpoint. */
    async start(stopOnEntry: boolean): Promise<RunOutcome> {
        if (this.timeline.threads.length === 0) {
            return { kind: 'ended' };
        }
        if (stopOnEntry) {
            return this.stopped(this.makeStop(0, 'entry'));
        }
        return this.scan(-1, 1);
    }

    /** Runs forward to the next breakpoint, or to the end. */
    continue(): Promise<RunOutcome> {
        return this.scan(this.stop?.point ?? -1, 1);
    }

    /** Steps a thread forward (the other threads' statements in between run too). */
    step(thread: ThreadInfo, kind: StepKind): Promise<RunOutcome> {
        const from = this.stop?.point ?? -1;
        const target = this.timeline.stepTarget(thread, cursorOf(Math.max(from, 0)), kind);
        return this.scan(from, 1, target === undefined ? undefined : 2 * target, thread);
    }

    /** Steps a thread back to its previous statement (stopping at breakpoints on the way). */
    stepBack(thread: ThreadInfo): Promise<RunOutcome> {
        const from = this.stop?.point ?? 0;
        const target = this.timeline.stepBackTarget(thread, cursorOf(from));
        return this.scan(from, -1, target === undefined ? undefined : 2 * target, thread);
    }

    /** Runs backward to the previous breakpoint, or to the start. */
    reverseContinue(): Promise<RunOutcome> {
        return this.scan(this.stop?.point ?? 0, -1);
    }

    /** Asks a running scan to stop where it is. */
    pause(): void {
        this.pauseRequested = true;
    }

    /** Stops at the current point again, for `pause` while stopped. */
    pausedHere(): Stop | undefined {
        if (!this.stop) {
            return undefined;
        }
        this.stop = { ...this.makeStop(this.stop.point, 'pause'), thread: this.stop.thread };
        return this.stop;
    }

    /**
     * What conditions and the console see at a cursor for a thread: the kernel then, the thread's
     * bindings, and the result and loop variables of `resultTick` (the statement the condition is
     * checked at).
     */
    conditionContext(cursor: number, thread: ThreadInfo | undefined, resultTick?: number): ConditionContext {
        const state = this.timeline.stateAt(cursor);
        const t = resultTick === undefined ? undefined : this.timeline.tick(resultTick);
        const bindings = thread ? bindingValues(state.env.get(thread.process)) : new Map<string, bigint>();
        // Loop variables of the statement (`for off in 0 .. 3`) are names too.
        for (const [name, value] of Object.entries(t ? this.timeline.step(t.step).iteration ?? {} : {})) {
            bindings.set(name, value);
        }
        return {
            kernel: state.kernel,
            process: thread?.process,
            bindings,
            result: t ? { outcome: t.outcome.outcome, errno: t.outcome.errno } : undefined,
        };
    }

    // -----------------------------------------------------------------------------------------

    private stopped(stop: Stop): RunOutcome {
        this.stop = stop;
        return { kind: 'stopped', stop };
    }

    /** A stop at a point, about the thread that runs next there (or the last one that ran). */
    private makeStop(point: number, reason: StopReason, thread?: ThreadInfo, extra: Partial<Stop> = {}): Stop {
        const cursor = cursorOf(point);
        const th = thread
            ?? this.timeline.threadOfTick(cursor)
            ?? this.timeline.threadOfTick(cursor - 1)
            ?? this.timeline.threads[0]!;
        return { point, cursor, reason, thread: th, ...extra };
    }

    private async scan(from: number, direction: 1 | -1, target?: number, stepping?: ThreadInfo): Promise<RunOutcome> {
        this.pauseRequested = false;
        this.scanning = true;
        try {
            const end = this.endPoint;
            const fromCursor = cursorOf(Math.max(from, 0));
            let checked = 0;
            for (let p = from + direction; direction > 0 ? p <= end : p >= 0; p += direction) {
                if (++checked % CHUNK === 0) {
                    // Let requests in (pause, disconnect) and keep an inline host responsive.
                    await new Promise<void>((done) => setImmediate(done));
                    if (this.pauseRequested) {
                        return this.stopped(this.makeStop(p, 'pause', stepping));
                    }
                }
                if (direction < 0 && cursorOf(p) === fromCursor) {
                    continue;
                }
                if (direction > 0 && p === end) {
                    return { kind: 'ended' };
                }
                const hit = this.eventsAt(p, direction);
                if (hit) {
                    return this.stopped(hit);
                }
                if (p === target) {
                    return this.stopped(this.makeStop(p, 'step', stepping));
                }
            }
            return this.stopped(this.makeStop(0, target !== undefined || stepping ? 'step' : 'entry', stepping));
        } finally {
            this.scanning = false;
        }
    }

    /** The stop a point causes, if any (log points print here, going forward). */
    private eventsAt(point: number, direction: 1 | -1): Stop | undefined {
        const cursor = cursorOf(point);
        if (point % 2 !== 0) {
            return this.dataBreakpointsAt(point, cursor);
        }
        const tick = this.timeline.tick(cursor);
        if (!tick) {
            return undefined;
        }
        const thread = this.timeline.threadOfTick(cursor)!;
        const exception = this.exceptionAt(cursor);
        const lines = this.breakpoints.lineBreakpointsAt(cursor);
        const hits: LineBreakpoint[] = [];
        let conditionError: string | undefined;
        for (const bp of lines) {
            const verdict = this.lineBreakpointHolds(bp, cursor, thread);
            if (typeof verdict === 'string') {
                conditionError ??= `Breakpoint condition '${bp.condition!.text}': ${verdict}`;
                hits.push(bp);
            } else if (verdict) {
                if (bp.log) {
                    if (direction > 0) {
                        this.log(this.formatLog(bp.log, cursor, thread), cursor);
                    }
                } else {
                    hits.push(bp);
                }
            }
        }
        if (exception) {
            return this.makeStop(point, 'exception', thread, { exception, description: exception.description, breakpointIds: hits.map((b) => b.id) });
        }
        if (hits.length > 0) {
            return this.makeStop(point, 'breakpoint', thread, { breakpointIds: hits.map((b) => b.id), description: conditionError });
        }
        return undefined;
    }

    /** Whether a line breakpoint stops at a tick: its condition, then its hit condition; a string is a condition error. */
    private lineBreakpointHolds(bp: LineBreakpoint, tick: number, thread: ThreadInfo): boolean | string {
        if (bp.condition) {
            try {
                if (!isTruthy(evaluateCondition(bp.condition, this.conditionContext(tick, thread, tick)))) {
                    return false;
                }
            } catch (e) {
                return (e as Error).message;
            }
        }
        if (!bp.hit) {
            return true;
        }
        const hits = this.breakpoints.hitCount(bp, tick, (t) => this.conditionHoldsQuietly(bp.condition, t, this.timeline.threadOfTick(t), t));
        return hitConditionHolds(bp.hit, hits);
    }

    private conditionHoldsQuietly(condition: Condition | undefined, cursor: number, thread: ThreadInfo | undefined, resultTick: number): boolean {
        if (!condition) {
            return true;
        }
        try {
            return isTruthy(evaluateCondition(condition, this.conditionContext(cursor, thread, resultTick)));
        } catch {
            return false;
        }
    }

    private formatLog(template: NonNullable<LineBreakpoint['log']>, tick: number, thread: ThreadInfo): string {
        const ctx = this.conditionContext(tick, thread, tick);
        return template.map((part) => {
            if (typeof part === 'string') {
                return part;
            }
            try {
                const v = evaluateCondition(part, ctx);
                return typeof v === 'string' ? v : formatConditionValue(v);
            } catch (e) {
                return `<${(e as Error).message}>`;
            }
        }).join('');
    }

    /** The exception filter a tick trips, if any. */
    private exceptionAt(index: number): ExceptionStop | undefined {
        const t = this.timeline.tick(index)!;
        const filters = this.breakpoints.exceptionFilters;
        const step = this.timeline.step(t.step);
        const o = t.outcome;
        const expected = step.expect?.outcome;
        if (o.outcome === 'errno' && filters.enabled.has('errno') && !(expected?.kind === 'errno' && expected.errno === o.errno)
            && (filters.errnos.size === 0 || filters.errnos.has(o.errno!))) {
            return {
                id: o.errno!, filter: 'errno', description: o.reason ?? o.errno!,
                message: formatKernelError(o.errno!, o.reason ?? '', o.source), source: o.source, tick: index,
            };
        }
        if (o.outcome === 'fault' && filters.enabled.has('fault') && expected?.kind !== 'fault') {
            return { id: 'fault', filter: 'fault', description: o.reason ?? 'DMA fault', message: `DMA fault: ${o.reason ?? ''}`, tick: index };
        }
        if (t.kind === 'block' && filters.enabled.has('blocked')) {
            return { id: 'blocked', filter: 'blocked', description: `waits for ${o.waitingFor ?? 'another process'}`, message: `blocked: ${o.waitingFor ?? ''}`, tick: index };
        }
        if (filters.enabled.has('expect')) {
            const final = this.timeline.result(t.step);
            if (final && final.tick === index && final.expectation && !final.expectation.matched) {
                const message = final.expectation.message ?? 'the result differs from the expectation';
                return { id: 'expect', filter: 'expect', description: message, message, source: final.source, tick: index };
            }
        }
        return undefined;
    }

    /** Data breakpoints the tick before `cursor` trips. */
    private dataBreakpointsAt(point: number, cursor: number): Stop | undefined {
        const watches = this.breakpoints.dataBreakpoints();
        if (watches.length === 0 || cursor === 0) {
            return undefined;
        }
        const thread = this.timeline.threadOfTick(cursor - 1)!;
        const hits = watches.filter((w) => this.dataBreakpointHolds(w, point));
        if (hits.length === 0) {
            return undefined;
        }
        return this.makeStop(point, 'data breakpoint', thread, {
            breakpointIds: hits.map((h) => h.id),
            description: `the mapping of ${hits.map((h) => describeWatch(h.range)).join(', ')} changed`,
        });
    }

    private dataBreakpointHolds(w: DataBreakpoint, point: number): boolean {
        const fires = (p: number) => {
            const c = cursorOf(p);
            const changed = mappingChanged(this.timeline.stateAt(c - 1).kernel, this.timeline.stateAt(c).kernel, w.range);
            return changed && this.conditionHoldsQuietly(w.condition, c, this.timeline.threadOfTick(c - 1), c - 1);
        };
        if (!fires(point)) {
            return false;
        }
        if (!w.hit) {
            return true;
        }
        // Hits counted from the start of the run, as for line breakpoints.
        let cache = this.dataHits.get(w.id);
        if (!cache) {
            cache = { upTo: -1, points: [] };
            this.dataHits.set(w.id, cache);
        }
        for (let p = Math.max(cache.upTo + 1, 1); p <= point; p++) {
            if (p % 2 !== 0 && fires(p)) {
                cache.points.push(p);
            }
        }
        cache.upTo = Math.max(cache.upTo, point);
        return hitConditionHolds(w.hit, cache.points.filter((p) => p <= point).length);
    }
}
