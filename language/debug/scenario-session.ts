/**
 * The `iommu` debug session: the Debug Adapter Protocol on top of a scenario run. Like
 * mock-debug's session it only translates: the engine's runner and snapshots are the runtime,
 * {@link ScenarioDebugger} moves over them, and this class turns requests into calls and results
 * into responses and events. It is the one place where lines change base (the engine is 0-based,
 * the client says what it is) and where handles live.
 *
 * It never imports `vscode`: the extension runs it inline, `server/debug-adapter.ts` and the CLI
 * run it over stdio ({@link runDebugAdapterStdio}).
 */

import { basename } from 'node:path';
import {
    BreakpointEvent, DebugSession, Event, Handles, InitializedEvent, OutputEvent, Scope, Source, StoppedEvent,
    TerminatedEvent, Thread,
} from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { formatSource } from '../../engine/errno.js';
import {
    domainsNode, groupsNode, devicesNode, iovaRangeOf, kvmNode, pageTableNode, pasidsNode, vfioNode,
} from '../../engine/inspect/kernel-views.js';
import type { InspectNode } from '../../engine/inspect/tree.js';
import type { SourceLocation } from '../../engine/location.js';
import { describeDomain } from '../../engine/iommu/domain.js';
import { runScenarioSteps, type ScenarioRun } from '../../engine/runner.js';
import type { ScenarioProgram } from '../../engine/step.js';
import {
    GroupsDapRequest, PageTablesDapRequest, PasidTablesDapRequest, StateDapEvent, ViewChildrenDapRequest,
    type StateEventBody, type ViewChildrenArgs, type ViewItem, type ViewRootResult,
} from '../protocol/messages.js';
import { BreakpointStore, EXCEPTION_FILTERS, type LineBreakpoint } from './breakpoints.js';
import { ConsoleError, evaluateConsole } from './debug-console.js';
import { iommufdNode } from './iommufd-view.js';
import { parseMemoryReference, readMemory } from './memory.js';
import { loadScenarioProgram, ProgramLoadError, type LoadProblem } from './program-loader.js';
import { processScopeNode, resultNode } from './process-view.js';
import { ScenarioDebugger, type RunOutcome, type Stop } from './scenario-debugger.js';
import { pathOfUri, ScenarioTimeline, type StepKind, type ThreadInfo } from './timeline.js';
import { describeWatch, parseWatchId, watchId } from './watch.js';

/** The `launch` configuration of the `iommu` debugger. */
export interface IommuLaunchArguments extends DebugProtocol.LaunchRequestArguments {
    /** The `.iommu` file. */
    readonly program?: string;
    /** The scenario to run; default: the first of the file. */
    readonly scenario?: string;
    /** Stop before the first statement (default true). */
    readonly stopOnEntry?: boolean;
}

/** A frame handle: which thread, how deep. */
interface FrameRef {
    readonly thread: ThreadInfo;
    readonly depth: number;
}

/** A loaded scenario and the debugger over its run. */
interface Loaded {
    readonly args: IommuLaunchArguments;
    readonly program: ScenarioProgram;
    readonly run: ScenarioRun;
    readonly timeline: ScenarioTimeline;
    readonly debugger: ScenarioDebugger;
}

/** How long `launch` waits for `configurationDone` from clients that never send it. */
const CONFIGURATION_TIMEOUT_MS = 1000;
/** How many ticks the engine runs between two yields while loading. */
const RUN_CHUNK = 256;
/** Children listed at most when a client asks for all of a huge collection at once. */
const UNPAGED_LIMIT = 10_000;

/** A variable as VS Code takes it, with its context-menu key (mock-debug's convention). */
type MenuVariable = DebugProtocol.Variable & { __vscodeVariableMenuContext?: string };

/**
 * One debug session of one scenario. Construct it with no arguments; `start(in, out)` (stdio, a
 * socket) or VS Code's inline adapter drives it.
 */
export class ScenarioDebugSession extends DebugSession {
    private loaded: Loaded | undefined;
    private readonly breakpoints = new BreakpointStore();
    /** Variable and view handles: valid until the next stop, never reused (stale ones fail). */
    private refs = new Handles<InspectNode>();
    private frameRefs = new Handles<FrameRef>();
    private nextRef = 1000;
    private nextFrameRef = 1000;
    private configured = false;
    /** After `terminate` or `disconnect`: a run still finishing reports nothing. */
    private ended = false;
    private configuredWaiters: Array<() => void> = [];
    private launching = false;

    constructor() {
        super();
        // The engine's locations are 0-based (LSP); the client says what it uses in `initialize`.
        this.setDebuggerLinesStartAt1(false);
        this.setDebuggerColumnsStartAt1(false);
    }

    // -----------------------------------------------------------------------------------------
    // Lines: the only place where they change base.

    private toClientLine(line: number): number {
        return this.convertDebuggerLineToClient(line);
    }

    private toEngineLine(line: number): number {
        return this.convertClientLineToDebugger(line);
    }

    private toClientColumn(character: number): number {
        return this.convertDebuggerColumnToClient(character);
    }

    /** `file.iommu line 12`, as the user reads it. */
    private where(loc: SourceLocation | undefined): string {
        if (!loc) {
            return 'no location';
        }
        const path = this.loaded?.timeline.pathOf(loc);
        return `${path ? `${basename(path)} ` : ''}line ${this.toClientLine(loc.start.line)}`;
    }

    private formatProblem(p: LoadProblem): string {
        if (!p.loc) {
            return p.message;
        }
        const path = pathOfUri(p.loc.uri);
        return `${path ? `${basename(path)}:` : ''}${this.toClientLine(p.loc.start.line)}:${this.toClientColumn(p.loc.start.character)}: ${p.message}`;
    }

    // -----------------------------------------------------------------------------------------
    // Plumbing

    /** Runs a handler; any error, synchronous or not, becomes an error response (or output). */
    private handle(response: DebugProtocol.Response, body: () => void | Promise<void>): void {
        const fail = (e: unknown) => {
            const message = e instanceof Error ? e.message : String(e);
            if (response.seq > 0) {
                // Already answered: say it in the console rather than answering twice.
                this.sendEvent(new OutputEvent(`${message}\n`, 'stderr'));
            } else {
                this.error(response, message);
            }
        };
        try {
            const result = body();
            if (result instanceof Promise) {
                result.catch(fail);
            }
        } catch (e) {
            fail(e);
        }
    }

    private error(response: DebugProtocol.Response, message: string): void {
        // `{_message}`: the message is user text, not a format with placeholders of its own.
        this.sendErrorResponse(response, { id: 1001, format: '{_message}', variables: { _message: message }, showUser: true });
    }

    private session(): Loaded {
        if (!this.loaded) {
            throw new Error(this.launching ? 'the scenario is still loading' : 'no scenario is running: launch one first');
        }
        return this.loaded;
    }

    private stopped(): { loaded: Loaded; stop: Stop } {
        const loaded = this.session();
        const stop = loaded.debugger.current;
        if (!stop || loaded.debugger.running) {
            throw new Error(loaded.debugger.running ? 'the scenario is running: pause it first' : 'the scenario has not stopped yet');
        }
        return { loaded, stop };
    }

    private thread(loaded: Loaded, id: number | undefined): ThreadInfo {
        const thread = id === undefined ? undefined : loaded.timeline.threadById(id);
        if (!thread) {
            throw new Error(`no thread ${id}; the threads are ${loaded.timeline.threads.map((t) => `${t.id} (${t.process})`).join(', ')}`);
        }
        return thread;
    }

    private ref(node: InspectNode): number {
        const h = this.refs.create(node);
        this.nextRef = h + 1;
        return h;
    }

    private resetHandles(): void {
        this.refs = new Handles<InspectNode>(this.nextRef);
        this.frameRefs = new Handles<FrameRef>(this.nextFrameRef);
    }

    private node(ref: number): InspectNode {
        const node = ref > 0 ? this.refs.get(ref) : undefined;
        if (!node) {
            throw new Error(`variables reference ${ref} is not valid at this stop (it belongs to an earlier one, or never existed)`);
        }
        return node;
    }

    private frame(id: number | undefined): FrameRef | undefined {
        return id === undefined ? undefined : this.frameRefs.get(id);
    }

    /** Sends what a run or step ended with. */
    private report(outcome: RunOutcome): void {
        if (this.ended) {
            return;
        }
        this.resetHandles();
        if (outcome.kind === 'ended') {
            this.sendEvent(new OutputEvent(`Scenario ${this.loaded?.program.name ?? ''} finished.\n`, 'console'));
            this.sendEvent(new TerminatedEvent());
            return;
        }
        const stop = outcome.stop;
        const event = new StoppedEvent(stop.reason, stop.thread.id, stop.exception?.id) as DebugProtocol.StoppedEvent;
        event.body.allThreadsStopped = true;
        if (stop.description) {
            event.body.description = stop.description;
        }
        if (stop.breakpointIds && stop.breakpointIds.length > 0) {
            event.body.hitBreakpointIds = [...stop.breakpointIds];
        }
        this.sendEvent(event);
        const tick = this.loaded?.timeline.tick(stop.cursor);
        const body: StateEventBody = { tick: stop.cursor, step: tick?.step, reason: stop.reason };
        this.sendEvent(new Event(StateDapEvent, body));
    }

    private toBreakpoint(bp: LineBreakpoint): DebugProtocol.Breakpoint {
        return {
            id: bp.id,
            verified: bp.verified,
            line: this.toClientLine(bp.line ?? bp.spec.line),
            source: new Source(basename(bp.path), this.convertDebuggerPathToClient(bp.path)),
            ...(bp.message ? { message: bp.message } : {}),
        };
    }

    // -----------------------------------------------------------------------------------------
    // Lifecycle

    protected override initializeRequest(response: DebugProtocol.InitializeResponse, _args: DebugProtocol.InitializeRequestArguments): void {
        response.body = {
            ...response.body,
            supportsConfigurationDoneRequest: true,
            // Breakpoint conditions in the condition language; hit counts; log points.
            supportsConditionalBreakpoints: true,
            supportsHitConditionalBreakpoints: true,
            supportsLogPoints: true,
            supportsBreakpointLocationsRequest: true,
            supportsEvaluateForHovers: true,
            // Back and reverse-continue move over the run's snapshots; nothing re-runs.
            supportsStepBack: true,
            supportsRestartRequest: true,
            supportsTerminateRequest: true,
            supportsDelayedStackTraceLoading: true,
            // Errno, fault, blocked, expect: unexpected results stop like exceptions.
            supportsExceptionInfoRequest: true,
            supportsExceptionFilterOptions: true,
            exceptionBreakpointFilters: EXCEPTION_FILTERS.map((f) => ({ ...f })),
            // Stop when the mapping of an IOVA range changes.
            supportsDataBreakpoints: true,
            // Bytes a device reads at an IOVA, through its IOMMU.
            supportsReadMemoryRequest: true,
            supportsValueFormattingOptions: false,
        };
        this.sendResponse(response);
    }

    protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
        this.configured = true;
        this.configuredWaiters.splice(0).forEach((w) => w());
        this.sendResponse(response);
    }

    private waitForConfiguration(): Promise<void> {
        if (this.configured) {
            return Promise.resolve();
        }
        return new Promise((done) => {
            const timer = setTimeout(done, CONFIGURATION_TIMEOUT_MS);
            this.configuredWaiters.push(() => {
                clearTimeout(timer);
                done();
            });
        });
    }

    protected override launchRequest(response: DebugProtocol.LaunchResponse, launchArgs: IommuLaunchArguments | undefined): void {
        // Clients may send no arguments at all: every handler reads them defensively.
        const args = launchArgs ?? {};
        this.handle(response, async () => {
            if (this.loaded || this.launching) {
                throw new Error('a scenario is already running in this session');
            }
            this.launching = true;
            let loaded: Loaded;
            try {
                loaded = await this.load(args);
            } catch (e) {
                this.launching = false;
                throw e;
            }
            this.launching = false;
            this.loaded = loaded;
            // Breakpoints set before the scenario was loaded are verified now.
            for (const bp of this.breakpoints.attach(loaded.timeline)) {
                this.sendEvent(new BreakpointEvent('changed', this.toBreakpoint(bp)));
            }
            // Configuration (breakpoints, exception filters) comes now that lines can be verified.
            this.sendEvent(new InitializedEvent());
            await this.waitForConfiguration();
            this.sendResponse(response);
            this.report(await loaded.debugger.start(args.stopOnEntry ?? true));
        });
    }

    /** Loads the program, runs the engine (yielding between chunks) and builds the debugger. */
    private async load(args: IommuLaunchArguments, previous?: ScenarioRun): Promise<Loaded> {
        if (typeof args.program !== 'string' || args.program === '') {
            throw new Error('the launch configuration needs "program": the .iommu file to debug');
        }
        let chosen;
        try {
            chosen = await loadScenarioProgram(args.program, args.scenario);
        } catch (e) {
            if (e instanceof ProgramLoadError) {
                throw new Error([e.message, ...e.problems.map((p) => `  ${this.formatProblem(p)}`)].join('\n'));
            }
            throw e;
        }
        const program = chosen.scenario.program;
        const gen = runScenarioSteps(program, { previous }, RUN_CHUNK);
        let r = gen.next();
        while (!r.done) {
            // An inline adapter shares the extension host's thread: let it breathe.
            await new Promise<void>((done) => setImmediate(done));
            r = gen.next();
        }
        const run = r.value;
        const timeline = new ScenarioTimeline(run);
        const dbg = new ScenarioDebugger(timeline, this.breakpoints, (text, tick) => {
            const loc = timeline.step(timeline.tick(tick)!.step).loc;
            const out = new OutputEvent(`${text}\n`, 'console') as DebugProtocol.OutputEvent;
            const path = timeline.pathOf(loc);
            if (loc && path) {
                out.body.source = new Source(basename(path), this.convertDebuggerPathToClient(path));
                out.body.line = this.toClientLine(loc.start.line);
            }
            this.sendEvent(out);
        });
        this.sendEvent(new OutputEvent(
            `Scenario ${program.name} on ${program.machine.name}: ${program.steps.length} step${program.steps.length === 1 ? '' : 's'}, ${run.ticks.length} tick${run.ticks.length === 1 ? '' : 's'}${run.stillBlocked.length > 0 ? `; still blocked at the end: ${run.stillBlocked.map((b) => `${b.process} (${b.waitingFor})`).join(', ')}` : ''}.\n`,
            'console',
        ));
        for (const d of run.bootDiagnostics) {
            this.sendEvent(new OutputEvent(`machine ${program.machine.name}: ${d.severity}: ${d.message}\n`, d.severity === 'error' ? 'stderr' : 'console'));
        }
        return { args, program, run, timeline, debugger: dbg };
    }

    protected override restartRequest(response: DebugProtocol.RestartResponse, args: DebugProtocol.RestartArguments | undefined): void {
        this.handle(response, async () => {
            const old = this.session();
            if (old.debugger.running) {
                old.debugger.pause();
            }
            const launchArgs = (args?.arguments as IommuLaunchArguments | undefined) ?? old.args;
            // A restart reads the file again (it may have been edited); unchanged steps reuse the
            // previous run's snapshots.
            const loaded = await this.load({ ...old.args, ...launchArgs }, old.run);
            this.loaded = loaded;
            this.ended = false;
            for (const bp of this.breakpoints.attach(loaded.timeline)) {
                this.sendEvent(new BreakpointEvent('changed', this.toBreakpoint(bp)));
            }
            this.sendResponse(response);
            this.report(await loaded.debugger.start(loaded.args.stopOnEntry ?? true));
        });
    }

    protected override terminateRequest(response: DebugProtocol.TerminateResponse): void {
        this.loaded?.debugger.pause();
        this.sendResponse(response);
        if (!this.ended) {
            this.ended = true;
            this.sendEvent(new TerminatedEvent());
        }
    }

    protected override disconnectRequest(response: DebugProtocol.DisconnectResponse, args: DebugProtocol.DisconnectArguments, request?: DebugProtocol.Request): void {
        this.ended = true;
        this.loaded?.debugger.pause();
        super.disconnectRequest(response, args, request);
    }

    // -----------------------------------------------------------------------------------------
    // Breakpoints

    protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments | undefined): void {
        this.handle(response, () => {
            const path = args?.source?.path;
            const requested: readonly DebugProtocol.SourceBreakpoint[] = args?.breakpoints ?? (args?.lines ?? []).map((line) => ({ line }));
            if (!path) {
                response.body = { breakpoints: requested.map(() => ({ verified: false, message: 'only files on disk can have breakpoints' })) };
                this.sendResponse(response);
                return;
            }
            const list = this.breakpoints.setLineBreakpoints(this.convertClientPathToDebugger(path), requested.map((b) => ({
                line: this.toEngineLine(b.line),
                condition: b.condition,
                hitCondition: b.hitCondition,
                logMessage: b.logMessage,
            })));
            response.body = { breakpoints: list.map((bp) => this.toBreakpoint(bp)) };
            this.sendResponse(response);
        });
    }

    protected override breakpointLocationsRequest(response: DebugProtocol.BreakpointLocationsResponse, args: DebugProtocol.BreakpointLocationsArguments | undefined): void {
        this.handle(response, () => {
            const timeline = this.loaded?.timeline;
            const path = args?.source?.path;
            const locations: DebugProtocol.BreakpointLocation[] = [];
            if (timeline && path && args) {
                const from = this.toEngineLine(args.line);
                const to = args.endLine === undefined ? from : this.toEngineLine(args.endLine);
                for (let line = from; line <= to; line++) {
                    if (timeline.statementLine(this.convertClientPathToDebugger(path), line) === line) {
                        locations.push({ line: this.toClientLine(line) });
                    }
                }
            }
            response.body = { breakpoints: locations };
            this.sendResponse(response);
        });
    }

    protected override setExceptionBreakPointsRequest(response: DebugProtocol.SetExceptionBreakpointsResponse, args: DebugProtocol.SetExceptionBreakpointsArguments | undefined): void {
        this.handle(response, () => {
            const results = this.breakpoints.setExceptionFilters(args?.filters ?? [], args?.filterOptions ?? []);
            response.body = { breakpoints: results.map((r) => ({ verified: r.verified, ...(r.message ? { message: r.message } : {}) })) };
            this.sendResponse(response);
        });
    }

    protected override dataBreakpointInfoRequest(response: DebugProtocol.DataBreakpointInfoResponse, dataArgs: DebugProtocol.DataBreakpointInfoArguments | undefined): void {
        this.handle(response, () => {
            const args = dataArgs ?? { name: '' };
            let range = args.variablesReference === undefined ? parseWatchId(args.name) : undefined;
            if (!range && args.variablesReference !== undefined) {
                const child = this.findChild(this.node(args.variablesReference), args.name);
                range = child ? iovaRangeOf(child) : undefined;
            }
            response.body = range
                ? { dataId: watchId(range), description: `mapping of ${describeWatch(range)}`, accessTypes: ['write'], canPersist: false }
                : { dataId: null, description: 'only page-table entries, type1 mappings and IOAS areas can be watched' };
            this.sendResponse(response);
        });
    }

    protected override setDataBreakpointsRequest(response: DebugProtocol.SetDataBreakpointsResponse, args: DebugProtocol.SetDataBreakpointsArguments | undefined): void {
        this.handle(response, () => {
            const list = this.breakpoints.setDataBreakpoints((args?.breakpoints ?? []).map((b) => ({
                dataId: b.dataId, range: parseWatchId(b.dataId), condition: b.condition, hitCondition: b.hitCondition,
            })));
            response.body = { breakpoints: list.map((d) => ({ id: d.id, verified: d.verified, ...(d.message ? { message: d.message } : {}) })) };
            this.sendResponse(response);
        });
    }

    /** A child of a node by name: named children first, then indexed ones (bounded). */
    private findChild(node: InspectNode, name: string): InspectNode | undefined {
        const named = node.children?.().find((c) => c.name === name);
        if (named || !node.indexed) {
            return named;
        }
        const total = Math.min(node.indexed.count, 1 << 16);
        for (let start = 0; start < total; start += 1024) {
            const hit = node.indexed.get(start, Math.min(1024, total - start)).find((c) => c.name === name);
            if (hit) {
                return hit;
            }
        }
        return undefined;
    }

    // -----------------------------------------------------------------------------------------
    // Execution

    protected override continueRequest(response: DebugProtocol.ContinueResponse): void {
        this.move(response, (d) => d.continue(), { allThreadsContinued: true });
    }

    protected override nextRequest(response: DebugProtocol.NextResponse, args: DebugProtocol.NextArguments | undefined): void {
        this.stepRequest(response, args?.threadId, 'over');
    }

    protected override stepInRequest(response: DebugProtocol.StepInResponse, args: DebugProtocol.StepInArguments | undefined): void {
        this.stepRequest(response, args?.threadId, 'in');
    }

    protected override stepOutRequest(response: DebugProtocol.StepOutResponse, args: DebugProtocol.StepOutArguments | undefined): void {
        this.stepRequest(response, args?.threadId, 'out');
    }

    protected override stepBackRequest(response: DebugProtocol.StepBackResponse, args: DebugProtocol.StepBackArguments | undefined): void {
        this.handle(response, () => {
            const thread = this.thread(this.session(), args?.threadId);
            this.move(response, (d) => d.stepBack(thread));
        });
    }

    protected override reverseContinueRequest(response: DebugProtocol.ReverseContinueResponse): void {
        this.move(response, (d) => d.reverseContinue());
    }

    private stepRequest(response: DebugProtocol.Response, threadId: number | undefined, kind: StepKind): void {
        this.handle(response, () => {
            const thread = this.thread(this.session(), threadId);
            this.move(response, (d) => d.step(thread, kind));
        });
    }

    /** Answers at once, then moves the debugger and reports where it stopped. */
    private move(response: DebugProtocol.Response, go: (d: ScenarioDebugger) => Promise<RunOutcome>, body?: object): void {
        this.handle(response, async () => {
            const { loaded } = this.stopped();
            if (body) {
                response.body = body;
            }
            this.sendResponse(response);
            const outcome = await go(loaded.debugger);
            // A restart may have replaced the debugger while this one ran: its stop is stale.
            if (this.loaded === loaded) {
                this.report(outcome);
            }
        });
    }

    protected override pauseRequest(response: DebugProtocol.PauseResponse): void {
        this.handle(response, () => {
            const d = this.session().debugger;
            this.sendResponse(response);
            if (d.running) {
                d.pause();
                return;
            }
            // Already stopped: say so again, as a pause.
            const stop = d.pausedHere();
            if (stop) {
                this.report({ kind: 'stopped', stop });
            }
        });
    }

    // -----------------------------------------------------------------------------------------
    // Threads, frames, variables

    protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
        this.handle(response, () => {
            const loaded = this.loaded;
            const cursor = loaded?.debugger.current?.cursor ?? 0;
            response.body = {
                threads: (loaded?.timeline.threads ?? []).map((t) => {
                    const pos = loaded!.timeline.position(t, cursor);
                    return new Thread(t.id, pos.state === 'ready' ? t.process : `${t.process} (${pos.state})`);
                }),
            };
            this.sendResponse(response);
        });
    }

    protected override stackTraceRequest(response: DebugProtocol.StackTraceResponse, stackArgs: DebugProtocol.StackTraceArguments | undefined): void {
        this.handle(response, () => {
            const { loaded, stop } = this.stopped();
            const args: Partial<DebugProtocol.StackTraceArguments> = stackArgs ?? {};
            const thread = this.thread(loaded, args.threadId);
            const timeline = loaded.timeline;
            const pos = timeline.position(thread, stop.cursor);
            const frames = timeline.frames(thread, stop.cursor);
            const all: DebugProtocol.StackFrame[] = frames.map((f, depth) => {
                const id = this.frameRefs.create({ thread, depth });
                this.nextFrameRef = id + 1;
                const name = depth === 0 && pos.state === 'blocked' ? `${f.name} (blocked: ${pos.waitingFor})` : f.name;
                return this.stackFrame(id, name, f.loc);
            });
            if (all.length === 0) {
                // A finished thread: one frame at its last statement, so the editor has something to show.
                const id = this.frameRefs.create({ thread, depth: 0 });
                this.nextFrameRef = id + 1;
                const last = pos.state === 'finished' && pos.lastStep !== undefined ? timeline.step(pos.lastStep).loc : undefined;
                all.push({ ...this.stackFrame(id, `process ${thread.process} (finished)`, last), presentationHint: 'subtle' });
            }
            const start = args.startFrame ?? 0;
            const levels = args.levels && args.levels > 0 ? args.levels : all.length;
            response.body = { stackFrames: all.slice(start, start + levels), totalFrames: all.length };
            this.sendResponse(response);
        });
    }

    private stackFrame(id: number, name: string, loc: SourceLocation | undefined): DebugProtocol.StackFrame {
        const path = this.loaded?.timeline.pathOf(loc);
        if (!loc || !path) {
            return { id, name, line: 0, column: 0 };
        }
        return {
            id, name,
            source: new Source(basename(path), this.convertDebuggerPathToClient(path)),
            line: this.toClientLine(loc.start.line),
            column: this.toClientColumn(loc.start.character),
            endLine: this.toClientLine(loc.end.line),
            endColumn: this.toClientColumn(loc.end.character),
        };
    }

    protected override scopesRequest(response: DebugProtocol.ScopesResponse, args: DebugProtocol.ScopesArguments | undefined): void {
        this.handle(response, () => {
            const { loaded, stop } = this.stopped();
            const frame = this.frame(args?.frameId);
            if (!frame) {
                throw new Error(`frame ${args?.frameId} is not valid at this stop`);
            }
            const timeline = loaded.timeline;
            const k = timeline.stateAt(stop.cursor).kernel;
            const scopes: DebugProtocol.Scope[] = [];
            const add = (name: string, node: InspectNode, hint?: DebugProtocol.Scope['presentationHint']) => {
                const scope = new Scope(name, this.ref(node), false) as DebugProtocol.Scope;
                if (hint) {
                    scope.presentationHint = hint;
                }
                if (node.indexed) {
                    scope.indexedVariables = node.indexed.count;
                }
                scopes.push(scope);
            };
            add(`Process ${frame.thread.process}`, processScopeNode(timeline, stop.cursor, frame.thread), 'locals');
            if (stop.exception && stop.thread.id === frame.thread.id) {
                const t = timeline.tick(stop.exception.tick)!;
                add('Exception', resultNode(timeline, stop.exception.tick, 'Exception', this.where(timeline.step(t.step).loc))!);
            }
            const last = timeline.lastTickOf(frame.thread, stop.cursor);
            if (last !== undefined) {
                add('Last result', resultNode(timeline, last, 'Last result', this.where(timeline.step(timeline.tick(last)!.step).loc))!);
            }
            add('IOMMU groups', groupsNode(k));
            add('Devices', devicesNode(k));
            add('VFIO', vfioNode(k));
            add('iommufd', iommufdNode(k));
            add('Domains', domainsNode(k));
            add('PASIDs', pasidsNode(k));
            add('KVM', kvmNode(k));
            response.body = { scopes };
            this.sendResponse(response);
        });
    }

    protected override variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments | undefined): void {
        this.handle(response, () => {
            const node = this.node(args?.variablesReference ?? 0);
            const children = this.childrenOf(node, args?.filter, args?.start, args?.count);
            response.body = { variables: children.map((c) => this.variable(c)) };
            this.sendResponse(response);
        });
    }

    /** A node's children, honouring the client's paging (`indexed` windows by start and count). */
    private childrenOf(node: InspectNode, filter: 'indexed' | 'named' | undefined, start: number | undefined, count: number | undefined): readonly InspectNode[] {
        const named = filter === 'indexed' ? [] : node.children?.() ?? [];
        if (filter === 'named' || !node.indexed) {
            // A count of 0 (or none) means all of them.
            return filter === undefined && (start !== undefined || (count !== undefined && count > 0))
                ? named.slice(start ?? 0, (start ?? 0) + (count && count > 0 ? count : named.length))
                : named;
        }
        const from = Math.max(0, start ?? 0);
        const n = Math.max(0, Math.min(count && count > 0 ? count : UNPAGED_LIMIT, node.indexed.count - from));
        return [...named, ...(n > 0 ? node.indexed.get(from, n) : [])];
    }

    private variable(node: InspectNode): MenuVariable {
        const expandable = node.children !== undefined || (node.indexed !== undefined && node.indexed.count > 0);
        const v: MenuVariable = {
            name: node.name,
            value: node.value,
            variablesReference: expandable ? this.ref(node) : 0,
            presentationHint: { attributes: ['readOnly'] },
        };
        if (node.indexed) {
            v.indexedVariables = node.indexed.count;
        }
        if (node.memoryReference) {
            v.memoryReference = node.memoryReference;
        }
        if (node.kind) {
            v.type = node.kind;
            v.__vscodeVariableMenuContext = node.kind;
        }
        return v;
    }

    protected override evaluateRequest(response: DebugProtocol.EvaluateResponse, evalArgs: DebugProtocol.EvaluateArguments | undefined): void {
        this.handle(response, () => {
            const { loaded, stop } = this.stopped();
            const args = evalArgs ?? { expression: '' };
            const thread = this.frame(args.frameId)?.thread ?? stop.thread;
            const pos = loaded.timeline.position(thread, stop.cursor);
            const tick = pos.state === 'finished' || pos.tick < 0 ? undefined : pos.tick;
            const mode = args.context === 'hover' ? 'hover' : args.context === 'watch' ? 'watch' : 'repl';
            let answer;
            try {
                answer = evaluateConsole(String(args.expression ?? ''), {
                    timeline: loaded.timeline, cursor: stop.cursor, thread,
                    context: loaded.debugger.conditionContext(stop.cursor, thread, tick),
                }, mode);
            } catch (e) {
                if (e instanceof ConsoleError) {
                    this.error(response, e.message);
                    return;
                }
                throw e;
            }
            response.body = {
                result: answer.text,
                variablesReference: answer.node ? this.ref(answer.node) : 0,
                ...(answer.node?.indexed ? { indexedVariables: answer.node.indexed.count } : {}),
                ...(answer.memoryReference ? { memoryReference: answer.memoryReference } : {}),
            };
            this.sendResponse(response);
        });
    }

    protected override exceptionInfoRequest(response: DebugProtocol.ExceptionInfoResponse, args: DebugProtocol.ExceptionInfoArguments | undefined): void {
        this.handle(response, () => {
            const { loaded, stop } = this.stopped();
            const ex = stop.exception;
            if (!ex || stop.thread.id !== args?.threadId) {
                throw new Error(`thread ${args?.threadId} is not stopped on an exception`);
            }
            const step = loaded.timeline.step(loaded.timeline.tick(ex.tick)!.step);
            const filter = EXCEPTION_FILTERS.find((f) => f.filter === ex.filter)!;
            response.body = {
                exceptionId: ex.id,
                description: ex.description,
                breakMode: 'always',
                details: {
                    message: ex.message,
                    typeName: filter.label,
                    fullTypeName: `${filter.label}: ${ex.id}`,
                    ...(ex.source ? { stackTrace: `at ${formatSource(ex.source)} (Linux)\nat ${this.where(step.loc)} (${step.process})` } : { stackTrace: `at ${this.where(step.loc)} (${step.process})` }),
                },
            };
            this.sendResponse(response);
        });
    }

    protected override readMemoryRequest(response: DebugProtocol.ReadMemoryResponse, args: DebugProtocol.ReadMemoryArguments | undefined): void {
        this.handle(response, () => {
            const { loaded, stop } = this.stopped();
            const ref = parseMemoryReference(String(args?.memoryReference ?? ''));
            if (!ref) {
                throw new Error(`'${args?.memoryReference ?? ''}' is not a memory reference (dev:NAME, domain:ID, proc:NAME@ADDR, phys)`);
            }
            const read = readMemory(loaded.timeline.stateAt(stop.cursor).kernel, ref, BigInt(Math.trunc(args?.offset ?? 0)), Math.trunc(args?.count ?? 0));
            response.body = {
                address: `0x${read.address.toString(16)}`,
                ...(read.data.length > 0 ? { data: Buffer.from(read.data).toString('base64') } : {}),
                ...(read.unreadable > 0 ? { unreadableBytes: read.unreadable } : {}),
            };
            this.sendResponse(response);
        });
    }

    // -----------------------------------------------------------------------------------------
    // Custom requests of the extension's debug views

    protected override customRequest(command: string, response: DebugProtocol.Response, args: unknown): void {
        switch (command) {
            case PageTablesDapRequest:
            case PasidTablesDapRequest:
            case GroupsDapRequest:
                this.handle(response, () => {
                    const { loaded, stop } = this.stopped();
                    const k = loaded.timeline.stateAt(stop.cursor).kernel;
                    let roots: InspectNode[];
                    if (command === GroupsDapRequest) {
                        roots = [...groupsNode(k).children!()];
                    } else if (command === PasidTablesDapRequest) {
                        roots = [...pasidsNode(k).children!()];
                    } else {
                        roots = [...k.domains.values()].sort((a, b) => a.id - b.id).filter((d) => d.pgtable).map((d) => {
                            const table = pageTableNode(d.pgtable!, `domain:${d.id}`);
                            return { ...table, name: `domain ${d.id}`, value: `${describeDomain(d)}: ${table.value}`, memoryReference: `domain:${d.id}` };
                        });
                    }
                    const body: ViewRootResult = { items: roots.map((n) => this.viewItem(n)) };
                    response.body = body;
                    this.sendResponse(response);
                });
                return;
            case ViewChildrenDapRequest:
                this.handle(response, () => {
                    const a = (args ?? {}) as Partial<ViewChildrenArgs>;
                    if (typeof a.ref !== 'number') {
                        throw new Error(`${ViewChildrenDapRequest} needs { ref, start?, count? }`);
                    }
                    const node = this.node(a.ref);
                    const body: ViewRootResult = { items: this.viewPage(node, a.start ?? 0, a.count).map((n) => this.viewItem(n)) };
                    response.body = body;
                    this.sendResponse(response);
                });
                return;
            default:
                super.customRequest(command, response, args);
        }
    }

    /** A window of a node's children, named then indexed, as one list (the views page through it). */
    private viewPage(node: InspectNode, start: number, count: number | undefined): InspectNode[] {
        const named = node.children?.() ?? [];
        const total = named.length + (node.indexed?.count ?? 0);
        const from = Math.max(0, start);
        const to = Math.min(total, from + (count !== undefined && count > 0 ? count : UNPAGED_LIMIT));
        const out = named.slice(from, Math.min(to, named.length));
        if (node.indexed && to > named.length) {
            const first = Math.max(from, named.length) - named.length;
            out.push(...node.indexed.get(first, to - named.length - first));
        }
        return out;
    }

    private viewItem(node: InspectNode): ViewItem {
        const named = node.children?.();
        const count = (named?.length ?? 0) + (node.indexed?.count ?? 0);
        return {
            label: node.name,
            description: node.value,
            tooltip: `${node.name}: ${node.value}`,
            ...(node.kind ? { kind: node.kind } : {}),
            ref: count > 0 ? this.ref(node) : 0,
            ...(count > 0 ? { childCount: count } : {}),
        };
    }
}
