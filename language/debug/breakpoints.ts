/**
 * The debugger's breakpoints, as plain data: line breakpoints (verified against the statements
 * a run executes, moved to the first line of the statement they are in, with conditions in the
 * condition language, hit conditions and log messages), exception filters and data breakpoints
 * on IOVA ranges. Knows nothing of the Debug Adapter Protocol; lines are 0-based.
 */

import { resolve } from 'node:path';
import { parseErrno } from '../../engine/errno.js';
import type { IovaRange } from '../../engine/inspect/kernel-views.js';
import { ConditionError, parseCondition, type Condition } from './conditions.js';
import type { ScenarioTimeline } from './timeline.js';

/** `N` / `>= N` (from the Nth hit on), `== N`, `> N`, `< N`, `<= N`, `% N` (every Nth). */
export interface HitCondition {
    readonly op: '==' | '>=' | '>' | '<' | '<=' | '%';
    readonly count: number;
}

/** Parses a hit condition; undefined when it is not one. */
export function parseHitCondition(text: string): HitCondition | undefined {
    const m = /^\s*(==|=|>=|>|<=|<|%)?\s*(\d+)\s*$/.exec(text);
    if (!m) {
        return undefined;
    }
    const op = (m[1] === '=' ? '==' : m[1] ?? '>=') as HitCondition['op'];
    const count = Number(m[2]);
    return op === '%' && count === 0 ? undefined : { op, count };
}

/** Whether the `hits`-th hit (1-based) satisfies the hit condition. */
export function hitConditionHolds(h: HitCondition | undefined, hits: number): boolean {
    if (!h) {
        return true;
    }
    switch (h.op) {
        case '==': return hits === h.count;
        case '>=': return hits >= h.count;
        case '>': return hits > h.count;
        case '<': return hits < h.count;
        case '<=': return hits <= h.count;
        case '%': return hits % h.count === 0;
    }
}

/** A log message with `{expression}` parts (condition-language expressions). */
export type LogTemplate = ReadonlyArray<string | Condition>;

/** Parses `text {expr} text`; `{{` and `}}` are literal braces. */
export function parseLogMessage(text: string): LogTemplate {
    const parts: Array<string | Condition> = [];
    let literal = '';
    for (let i = 0; i < text.length; i++) {
        const c = text[i]!;
        if ((c === '{' || c === '}') && text[i + 1] === c) {
            literal += c;
            i++;
        } else if (c === '{') {
            const end = text.indexOf('}', i);
            if (end < 0) {
                throw new ConditionError('a { in the log message is not closed', i);
            }
            if (literal) {
                parts.push(literal);
                literal = '';
            }
            parts.push(parseCondition(text.slice(i + 1, end)));
            i = end;
        } else {
            literal += c;
        }
    }
    if (literal) {
        parts.push(literal);
    }
    return parts;
}

/** What the user asked for on one line. */
export interface LineBreakpointSpec {
    /** 0-based. */
    readonly line: number;
    readonly condition?: string;
    readonly hitCondition?: string;
    readonly logMessage?: string;
}

/** A line breakpoint as the debugger holds it. */
export interface LineBreakpoint {
    readonly id: number;
    readonly path: string;
    readonly spec: LineBreakpointSpec;
    /** The statement line it was moved to (0-based); undefined while unverified. */
    line?: number;
    verified: boolean;
    /** Why it is not verified. */
    message?: string;
    /** What is wrong with its condition, hit condition or log message (it never verifies). */
    readonly problem?: string;
    readonly condition?: Condition;
    readonly hit?: HitCondition;
    readonly log?: LogTemplate;
}

/** A data breakpoint: stop after a step that changes the mapping of an IOVA range. */
export interface DataBreakpoint {
    readonly id: number;
    readonly range: IovaRange;
    readonly condition?: Condition;
    readonly hit?: HitCondition;
    readonly verified: boolean;
    readonly message?: string;
}

/** The exception filters the debugger offers, with what the user can switch. */
export const EXCEPTION_FILTERS = [
    {
        filter: 'errno', label: 'Unexpected errno', default: true, supportsCondition: true,
        description: 'A call returns an errno its `expect` does not name',
        conditionDescription: 'errno names, e.g. EBUSY,EINVAL (empty: any)',
    },
    { filter: 'fault', label: 'Unexpected DMA fault', default: true, description: 'A DMA faults without `expect fault`' },
    { filter: 'blocked', label: 'Blocking call', default: false, description: 'A call blocks in the kernel (it waits for another process)' },
    { filter: 'expect', label: 'Unmet expectation', default: false, description: 'A statement\'s result differs from its `expect` (including calls that succeed where a failure was expected)' },
] as const;

/** The id of an exception filter (`errno`, `fault`, `blocked`, `expect`). */
export type ExceptionFilterId = (typeof EXCEPTION_FILTERS)[number]['filter'];

/** The filters switched on, and the errno names the `errno` filter is limited to (empty: all). */
export interface ExceptionFilterState {
    readonly enabled: ReadonlySet<ExceptionFilterId>;
    readonly errnos: ReadonlySet<string>;
}

/** All breakpoints of a session, verified against the current run. */
export class BreakpointStore {
    private nextId = 1;
    private readonly lines = new Map<string, LineBreakpoint[]>();
    private data: DataBreakpoint[] = [];
    private filters: ExceptionFilterState = { enabled: new Set(), errnos: new Set() };
    /** Tick → line breakpoints that execution reaches there (for the current run). */
    private byTick = new Map<number, LineBreakpoint[]>();
    /** Per breakpoint: its ticks, and how many of the first n had a true condition. */
    private readonly hitCache = new Map<number, { ticks: readonly number[]; trueBefore: number[] }>();
    private timeline: ScenarioTimeline | undefined;

    /** Replaces the breakpoints of a file; verifies them when a run is loaded. */
    setLineBreakpoints(path: string, specs: readonly LineBreakpointSpec[]): LineBreakpoint[] {
        const file = resolve(path);
        const list = specs.map((spec) => this.makeLine(file, spec));
        this.lines.set(file, list);
        this.reindex();
        return list;
    }

    /** The breakpoints of a file. */
    lineBreakpoints(path: string): readonly LineBreakpoint[] {
        return this.lines.get(resolve(path)) ?? [];
    }

    /** All line breakpoints. */
    allLineBreakpoints(): LineBreakpoint[] {
        return [...this.lines.values()].flat();
    }

    /** Verifies every line breakpoint against a new run; returns those whose verification changed. */
    attach(timeline: ScenarioTimeline): LineBreakpoint[] {
        this.timeline = timeline;
        const changed: LineBreakpoint[] = [];
        for (const bp of this.allLineBreakpoints()) {
            const before = `${bp.verified}:${bp.line}:${bp.message}`;
            this.verify(bp);
            if (`${bp.verified}:${bp.line}:${bp.message}` !== before) {
                changed.push(bp);
            }
        }
        this.reindex();
        return changed;
    }

    /** Line breakpoints reached at a tick (verified ones only). */
    lineBreakpointsAt(tick: number): readonly LineBreakpoint[] {
        return this.byTick.get(tick) ?? [];
    }

    /**
     * How many times a breakpoint has been hit up to and including `tick` (counting only hits
     * whose condition held). Counted over the run from its start, so it means the same going
     * forward and backward.
     */
    hitCount(bp: LineBreakpoint, tick: number, conditionAt: (tick: number) => boolean): number {
        let cache = this.hitCache.get(bp.id);
        if (!cache) {
            const ticks = this.timeline && bp.line !== undefined ? this.timeline.ticksOnLine(bp.path, bp.line) : [];
            cache = { ticks, trueBefore: [0] };
            this.hitCache.set(bp.id, cache);
        }
        const index = upperBound(cache.ticks, tick);
        for (let i = cache.trueBefore.length - 1; i < index; i++) {
            const holds = bp.condition ? conditionAt(cache.ticks[i]!) : true;
            cache.trueBefore.push(cache.trueBefore[i]! + (holds ? 1 : 0));
        }
        return cache.trueBefore[index]!;
    }

    setDataBreakpoints(specs: ReadonlyArray<{ readonly range: IovaRange | undefined; readonly dataId: string; readonly condition?: string; readonly hitCondition?: string }>): DataBreakpoint[] {
        this.data = specs.map((s) => {
            const id = this.nextId++;
            if (!s.range) {
                return { id, range: { space: '', start: 0n, last: 0n }, verified: false, message: `'${s.dataId}' is not an IOVA range this debugger can watch` };
            }
            const parsed = this.parseConditions(s.condition, s.hitCondition);
            return { id, range: s.range, condition: parsed.condition, hit: parsed.hit, verified: parsed.message === undefined, message: parsed.message };
        });
        return this.data;
    }

    dataBreakpoints(): readonly DataBreakpoint[] {
        return this.data.filter((d) => d.verified);
    }

    /** Switches exception filters; unknown filters and errno names come back as problems. */
    setExceptionFilters(filters: readonly string[], options: ReadonlyArray<{ readonly filterId: string; readonly condition?: string }>): Array<{ readonly filter: string; readonly verified: boolean; readonly message?: string }> {
        const known = new Set<string>(EXCEPTION_FILTERS.map((f) => f.filter));
        const enabled = new Set<ExceptionFilterId>();
        const errnos = new Set<string>();
        const results: Array<{ filter: string; verified: boolean; message?: string }> = [];
        const all = [...filters.map((f) => ({ filterId: f, condition: undefined as string | undefined })), ...options];
        for (const f of all) {
            if (!known.has(f.filterId)) {
                results.push({ filter: f.filterId, verified: false, message: `no exception filter '${f.filterId}'` });
                continue;
            }
            enabled.add(f.filterId as ExceptionFilterId);
            const bad: string[] = [];
            if (f.condition && f.filterId === 'errno') {
                for (const name of f.condition.split(/[\s,|]+/).filter((n) => n.length > 0)) {
                    const e = parseErrno(name.toUpperCase());
                    if (e) {
                        errnos.add(e);
                    } else {
                        bad.push(name);
                    }
                }
            }
            results.push(bad.length > 0
                ? { filter: f.filterId, verified: false, message: `not an errno: ${bad.join(', ')}` }
                : { filter: f.filterId, verified: true });
        }
        this.filters = { enabled, errnos };
        return results;
    }

    get exceptionFilters(): ExceptionFilterState {
        return this.filters;
    }

    private makeLine(path: string, spec: LineBreakpointSpec): LineBreakpoint {
        const parsed = this.parseConditions(spec.condition, spec.hitCondition);
        let log: LogTemplate | undefined;
        let problem = parsed.message;
        if (spec.logMessage !== undefined && spec.logMessage !== '') {
            try {
                log = parseLogMessage(spec.logMessage);
            } catch (e) {
                problem = `log message: ${(e as Error).message}`;
            }
        }
        const bp: LineBreakpoint = { id: this.nextId++, path, spec, verified: false, problem, condition: parsed.condition, hit: parsed.hit, log };
        this.verify(bp);
        return bp;
    }

    private parseConditions(condition: string | undefined, hitCondition: string | undefined): { condition?: Condition; hit?: HitCondition; message?: string } {
        const out: { condition?: Condition; hit?: HitCondition; message?: string } = {};
        if (condition !== undefined && condition.trim() !== '') {
            try {
                out.condition = parseCondition(condition);
            } catch (e) {
                out.message = `condition: ${(e as Error).message}`;
            }
        }
        if (hitCondition !== undefined && hitCondition.trim() !== '') {
            out.hit = parseHitCondition(hitCondition);
            if (!out.hit) {
                out.message = `hit condition '${hitCondition}': write N, == N, >= N, > N, < N, <= N or % N`;
            }
        }
        return out;
    }

    private verify(bp: LineBreakpoint): void {
        this.hitCache.delete(bp.id);
        if (bp.problem !== undefined) {
            bp.verified = false;
            bp.message = bp.problem;
            return;
        }
        if (!this.timeline) {
            bp.verified = false;
            bp.line = undefined;
            bp.message = 'the scenario is not loaded yet';
            return;
        }
        const line = this.timeline.statementLine(bp.path, bp.spec.line);
        if (line === undefined) {
            bp.verified = false;
            bp.line = undefined;
            bp.message = `no statement of scenario ${this.timeline.program.name} runs on this line`;
            return;
        }
        bp.verified = true;
        bp.line = line;
        bp.message = undefined;
    }

    private reindex(): void {
        this.byTick = new Map();
        this.hitCache.clear();
        if (!this.timeline) {
            return;
        }
        for (const bp of this.allLineBreakpoints()) {
            if (!bp.verified || bp.line === undefined) {
                continue;
            }
            for (const t of this.timeline.ticksOnLine(bp.path, bp.line)) {
                const list = this.byTick.get(t);
                if (list) {
                    list.push(bp);
                } else {
                    this.byTick.set(t, [bp]);
                }
            }
        }
    }
}

/** First index whose value is > `value`. */
function upperBound(a: readonly number[], value: number): number {
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (a[mid]! <= value) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}
