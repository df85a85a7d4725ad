/**
 * Runs a scenario's steps against a kernel, one tick at a time, keeping a snapshot per tick.
 * Snapshots share structure with their neighbours (the kernel is an immutable value; per-process
 * variable maps are copied only when they change), so stepping back costs no re-run and memory
 * grows with what changed. A later run can start from the snapshot before the first changed
 * step of an earlier one.
 *
 * Processes run their steps in source order. A call that blocks in Linux (unbinding a device
 * whose VFIO fd is open) suspends its process: its later steps queue while the other processes
 * run on, and the call completes, then the queue drains, when what it waits for happens.
 */

import type { WaitCondition } from './errno.js';
import { formatKernelError } from './errno.js';
import { bootKernel, type BootDiagnostic, applyOp, updateKernel } from './kernel.js';
import { spawnProcess } from './fs/process.js';
import { recordDmaWrite } from './mm/phys-memory.js';
import type { KernelState } from './state.js';
import type { ArgValue, Expectation, Expr, OutValue, ScenarioProgram, Step, StepResult } from './step.js';
import type { EvaluatedOp, OpOutcome } from './syscalls/execute.js';
import type { IoctlArgValue } from './syscalls/ioctl.js';
import { waitSatisfied } from './vfio/vfio-main.js';
import { formatConstant } from './uapi/index.js';
import { findIoctl } from './uapi/index.js';
import { hex } from './u64.js';

/** A `let` binding's value in a process. */
export interface VarBinding {
    readonly value: bigint;
    readonly display?: string;
    /** The step that bound it. */
    readonly step: number;
}

export interface BlockedCall {
    readonly step: number;
    readonly op: EvaluatedOp;
    readonly waitingFor: string;
    readonly condition: WaitCondition;
}

/** Everything the runner knows between ticks: the kernel and the scenario-side bookkeeping. */
export interface RunnerState {
    readonly kernel: KernelState;
    /** Per process: its `let` bindings. */
    readonly env: ReadonlyMap<string, ReadonlyMap<string, VarBinding>>;
    readonly blocked: ReadonlyMap<string, BlockedCall>;
    /** Steps of blocked processes waiting their turn, per process. */
    readonly pending: ReadonlyMap<string, readonly number[]>;
    /** The next step index in program order to consider. */
    readonly nextStep: number;
}

export type TickKind = 'run' | 'block' | 'resume';

export interface Tick {
    readonly index: number;
    readonly step: number;
    readonly kind: TickKind;
    readonly outcome: OpOutcome;
    /** State after this tick. */
    readonly state: RunnerState;
}

export interface ScenarioRun {
    readonly program: ScenarioProgram;
    readonly bootDiagnostics: readonly BootDiagnostic[];
    /** State before the first tick (after boot and process creation). */
    readonly initial: RunnerState;
    readonly ticks: readonly Tick[];
    /** One result per step of the program (its final outcome), with expectation checks. */
    readonly results: readonly StepResult[];
    /** Processes still blocked at the end (a deadlock or a missing close). */
    readonly stillBlocked: ReadonlyArray<{ readonly process: string; readonly step: number; readonly waitingFor: string }>;
    /** Tick count cap hit. */
    readonly truncated: boolean;
    /** For incremental re-runs: a key per step, and one for the machine. */
    readonly stepKeys: readonly string[];
    readonly machineKey: string;
    /** Ticks reused from a previous run. */
    readonly reusedTicks: number;
}

export interface RunOptions {
    /** Reuse the snapshots of this run up to the first step that changed. */
    readonly previous?: ScenarioRun;
    /** Runaway protection. */
    readonly maxTicks?: number;
}

class StepError extends Error {}

// ---------------------------------------------------------------------------------------------
// Keys for incremental re-runs

function stableKey(value: unknown): string {
    return JSON.stringify(value, (key, v) => {
        if (key === 'loc' || key === 'callLoc') {
            return undefined;
        }
        return typeof v === 'bigint' ? `${v}n` : v;
    });
}

/** What makes a step behave as it does: everything but where it is written and what it expects. */
export function stepKey(step: Step): string {
    const { loc: _loc, expect: _expect, frames: _frames, iteration: _iteration, bindDisplay: _bd, ...rest } = step;
    return stableKey(rest);
}

// ---------------------------------------------------------------------------------------------
// Evaluation

function evalExpr(e: Expr, env: ReadonlyMap<string, VarBinding> | undefined): bigint {
    switch (e.kind) {
        case 'int':
            return e.value;
        case 'var': {
            const b = env?.get(e.name);
            if (!b) {
                throw new StepError(`'${e.name}' is not bound in this process at this point`);
            }
            return b.value;
        }
        case 'unary': {
            const v = evalExpr(e.operand, env);
            return e.op === '-' ? -v : ~v;
        }
        case 'binary': {
            const a = evalExpr(e.left, env);
            const b = evalExpr(e.right, env);
            switch (e.op) {
                case '+': return a + b;
                case '-': return a - b;
                case '*': return a * b;
                case '/':
                case '%':
                    if (b === 0n) {
                        throw new StepError('division by zero');
                    }
                    return e.op === '/' ? a / b : a % b;
                case '|': return a | b;
                case '&': return a & b;
                case '^': return a ^ b;
                case '<<':
                case '>>':
                    if (b < 0n || b > 127n) {
                        throw new StepError(`shift by ${b}`);
                    }
                    return e.op === '<<' ? a << b : a >> b;
            }
        }
    }
}

function evalArg(a: ArgValue, env: ReadonlyMap<string, VarBinding> | undefined, kernel: KernelState): IoctlArgValue {
    switch (a.kind) {
        case 'expr':
            return { kind: 'int', value: evalExpr(a.expr, env) };
        case 'string':
            return { kind: 'string', value: a.value };
        case 'device':
            // The kernel receives the device's name string (for PCI its BDF).
            return { kind: 'string', value: kernel.devices.get(a.device)?.devName ?? a.device };
        case 'array':
            return {
                kind: 'array',
                items: a.items.map((item) => {
                    const rec: Record<string, bigint> = {};
                    for (const [k, v] of Object.entries(item)) {
                        if (v.kind !== 'expr') {
                            throw new StepError(`array element field ${k} must be a number`);
                        }
                        rec[k] = evalExpr(v.expr, env);
                    }
                    return rec;
                }),
            };
    }
}

function evaluate(step: Step, env: ReadonlyMap<string, VarBinding> | undefined, kernel: KernelState): EvaluatedOp {
    const ev = (e: Expr) => evalExpr(e, env);
    switch (step.op) {
        case 'open':
            return { op: 'open', path: step.path };
        case 'close':
            return { op: 'close', fd: ev(step.fd) };
        case 'ioctl': {
            const fields: Record<string, IoctlArgValue> = {};
            for (const [n, v] of Object.entries(step.fields)) {
                fields[n] = evalArg(v, env, kernel);
            }
            return {
                op: 'ioctl', fd: ev(step.fd),
                request: { name: step.ioctl, positional: step.positional ? evalArg(step.positional, env, kernel) : undefined, fields },
            };
        }
        case 'mmap':
            return {
                op: 'mmap', size: ev(step.size), hugepage: step.hugepage ? ev(step.hugepage) : undefined,
                file: step.file ? ev(step.file) : undefined, offset: step.offset ? ev(step.offset) : undefined,
            };
        case 'munmap':
            return { op: 'munmap', addr: ev(step.addr), length: step.length ? ev(step.length) : undefined };
        case 'memfd':
            return { op: 'memfd', size: ev(step.size), hugepage: step.hugepage ? ev(step.hugepage) : undefined };
        case 'bind':
            return { op: 'bind', device: step.device, driver: step.driver };
        case 'unbind':
            return { op: 'unbind', device: step.device };
        case 'sriov':
            return { op: 'sriov', device: step.device, numvfs: ev(step.numvfs) };
        case 'mdev':
            return { op: 'mdev', name: step.name, parent: step.parent, kind: step.kind };
        case 'sva-bind':
            return { op: 'sva-bind', device: step.device };
        case 'sva-unbind':
            return { op: 'sva-unbind', device: step.device };
        case 'dma':
            return {
                op: 'dma', device: step.device, dir: step.dir, iova: ev(step.iova), length: ev(step.length),
                pasid: step.pasid ? ev(step.pasid) : undefined,
            };
        case 'guest-map':
            return {
                op: 'guest-map', hwpt: ev(step.hwpt), iova: ev(step.iova), gpa: ev(step.gpa), length: ev(step.length),
                read: step.read, write: step.write,
            };
        case 'guest-unmap':
            return { op: 'guest-unmap', hwpt: ev(step.hwpt), iova: ev(step.iova), length: ev(step.length) };
        case 'exit':
            return { op: 'exit' };
        case 'fork':
            return { op: 'fork', child: step.child };
        case 'send':
            return { op: 'send', fd: ev(step.fd), to: step.to };
    }
}

// ---------------------------------------------------------------------------------------------
// Running

/** The processes a program starts with: every declared one except those a `fork` creates. */
function initialProcesses(program: ScenarioProgram): string[] {
    const forked = new Set(program.steps.filter((s) => s.op === 'fork').map((s) => (s as { child: string }).child));
    const names: string[] = [];
    for (const p of program.processes) {
        if (!forked.has(p.name) && !names.includes(p.name)) {
            names.push(p.name);
        }
    }
    for (const s of program.steps) {
        if (!forked.has(s.process) && !names.includes(s.process)) {
            names.push(s.process);
        }
    }
    return names;
}

function bootState(program: ScenarioProgram): { state: RunnerState; diagnostics: readonly BootDiagnostic[] } {
    const boot = bootKernel(program.machine);
    const names = initialProcesses(program);
    const kernel = updateKernel(boot.kernel, (k) => {
        for (const name of names) {
            spawnProcess(k, program.processes.find((p) => p.name === name) ?? { name });
        }
    });
    const env = new Map(names.map((n) => [n, new Map<string, VarBinding>()] as const));
    return { state: { kernel, env, blocked: new Map(), pending: new Map(), nextStep: 0 }, diagnostics: boot.diagnostics };
}

function withEnv(state: RunnerState, process: string, name: string, binding: VarBinding): ReadonlyMap<string, ReadonlyMap<string, VarBinding>> {
    const env = new Map(state.env);
    const vars = new Map(env.get(process) ?? []);
    vars.set(name, binding);
    env.set(process, vars);
    return env;
}

function bindDisplay(step: Step, outcome: OpOutcome): string | undefined {
    if (step.op === 'open' && outcome.values.fd?.display) {
        return outcome.values.fd.display;
    }
    if (step.op === 'mmap' && outcome.main !== undefined) {
        return hex(outcome.main);
    }
    return undefined;
}

/** Executes one step (or a blocked call's retry) and returns the new state and outcome. */
function execute(program: ScenarioProgram, state: RunnerState, index: number, retry?: BlockedCall): { state: RunnerState; outcome: OpOutcome; kind: TickKind } {
    const step = program.steps[index]!;
    const proc = state.kernel.processes.get(step.process);
    let outcome: OpOutcome;
    let kernel = state.kernel;
    let op: EvaluatedOp | undefined = retry?.op;
    if (!proc) {
        outcome = { outcome: 'invalid', reason: `process ${step.process} does not exist at this point (is it created by a later fork?)`, values: {} };
    } else if (proc.exited) {
        outcome = { outcome: 'invalid', reason: `process ${step.process} has exited`, values: {} };
    } else {
        try {
            op ??= evaluate(step, state.env.get(step.process), state.kernel);
            ({ kernel, outcome } = applyOp(state.kernel, step.process, op));
            if (op.op === 'dma' && op.dir === 'write' && outcome.dma) {
                // What the device wrote lands in physical memory, where a debugger reads it back.
                kernel = recordDmaWrite(kernel, op.device, outcome.dma.segments);
            }
        } catch (e) {
            if (!(e instanceof StepError)) {
                throw e;
            }
            outcome = { outcome: 'invalid', reason: e.message, values: {} };
        }
    }
    let env = state.env;
    const blocked = new Map(state.blocked);
    if (outcome.outcome === 'blocked') {
        blocked.set(step.process, { step: index, op: op!, waitingFor: outcome.waitingFor!, condition: outcome.condition! });
        return { state: { ...state, kernel, blocked }, outcome, kind: 'block' };
    }
    blocked.delete(step.process);
    if (step.op === 'fork' && outcome.outcome === 'ok') {
        const e = new Map(env);
        e.set(step.child, new Map(env.get(step.process) ?? []));
        env = e;
    }
    if (step.op === 'send' && outcome.outcome === 'ok' && outcome.main !== undefined) {
        env = withEnv({ ...state, env }, step.to, step.as, { value: outcome.main, step: index });
    } else if (step.bind && outcome.main !== undefined) {
        env = withEnv({ ...state, env }, step.process, step.bind, { value: outcome.main, display: bindDisplay(step, outcome), step: index });
    }
    return { state: { ...state, kernel, env, blocked }, outcome, kind: retry ? 'resume' : 'run' };
}

/**
 * A run as a generator: yields after every `chunk` ticks so callers can stay responsive (the
 * language server) or cancel; returns the finished run.
 */
export function* runScenarioSteps(program: ScenarioProgram, options: RunOptions = {}, chunk = 256): Generator<number, ScenarioRun> {
    const stepKeys = program.steps.map(stepKey);
    const machineKey = stableKey(program.machine);
    const maxTicks = options.maxTicks ?? 2_000_000;
    const prev = options.previous;
    let initial: RunnerState;
    let bootDiagnostics: readonly BootDiagnostic[];
    const ticks: Tick[] = [];
    let reused = 0;
    if (prev && prev.machineKey === machineKey && stableKey(prev.program.processes) === stableKey(program.processes)) {
        initial = prev.initial;
        bootDiagnostics = prev.bootDiagnostics;
        let firstDiff = 0;
        while (firstDiff < stepKeys.length && firstDiff < prev.stepKeys.length && stepKeys[firstDiff] === prev.stepKeys[firstDiff]) {
            firstDiff++;
        }
        for (const t of prev.ticks) {
            if (t.state.nextStep > firstDiff || t.step >= firstDiff) {
                break;
            }
            ticks.push(t);
        }
        reused = ticks.length;
    } else {
        const b = bootState(program);
        initial = b.state;
        bootDiagnostics = b.diagnostics;
    }
    let state = ticks.length > 0 ? ticks[ticks.length - 1]!.state : initial;
    let truncated = false;
    const push = (step: number, r: { state: RunnerState; outcome: OpOutcome; kind: TickKind }) => {
        state = r.state;
        ticks.push({ index: ticks.length, step, kind: r.kind, outcome: r.outcome, state });
    };

    /** Completes blocked calls whose condition now holds, then drains their queues. */
    const wake = () => {
        let progressed = true;
        while (progressed) {
            progressed = false;
            for (const [proc, call] of state.blocked) {
                if (!waitSatisfied(state.kernel, call.condition)) {
                    continue;
                }
                const r = execute(program, state, call.step, call);
                if (r.outcome.outcome === 'blocked' && stableKey(r.outcome.condition) === stableKey(call.condition)) {
                    continue;
                }
                push(call.step, r);
                progressed = true;
                drain(proc);
            }
        }
    };
    const drain = (proc: string) => {
        while (!state.blocked.has(proc)) {
            const queue = state.pending.get(proc);
            if (!queue || queue.length === 0) {
                return;
            }
            const [next, ...rest] = queue;
            const pending = new Map(state.pending);
            if (rest.length > 0) {
                pending.set(proc, rest);
            } else {
                pending.delete(proc);
            }
            state = { ...state, pending };
            push(next!, execute(program, state, next!));
        }
    };

    let sinceYield = 0;
    while (state.nextStep < program.steps.length) {
        if (ticks.length >= maxTicks) {
            truncated = true;
            break;
        }
        const index = state.nextStep;
        const step = program.steps[index]!;
        state = { ...state, nextStep: index + 1 };
        if (state.blocked.has(step.process) || (state.pending.get(step.process)?.length ?? 0) > 0) {
            const pending = new Map(state.pending);
            pending.set(step.process, [...(pending.get(step.process) ?? []), index]);
            state = { ...state, pending };
            continue;
        }
        push(index, execute(program, state, index));
        if (state.blocked.size > 0) {
            wake();
        }
        if (++sinceYield >= chunk) {
            sinceYield = 0;
            yield ticks.length;
        }
    }
    const results = collectResults(program, ticks, state);
    const stillBlocked = [...state.blocked.entries()].map(([process, c]) => ({ process, step: c.step, waitingFor: c.waitingFor }));
    return {
        program, bootDiagnostics, initial, ticks, results, stillBlocked, truncated, stepKeys, machineKey, reusedTicks: reused,
    };
}

/** Runs a whole scenario synchronously. */
export function runScenario(program: ScenarioProgram, options: RunOptions = {}): ScenarioRun {
    const gen = runScenarioSteps(program, options, Number.MAX_SAFE_INTEGER);
    for (;;) {
        const r = gen.next();
        if (r.done) {
            return r.value;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Results and expectations

function collectResults(program: ScenarioProgram, ticks: readonly Tick[], final: RunnerState): StepResult[] {
    const last = new Map<number, Tick>();
    for (const t of ticks) {
        last.set(t.step, t);
    }
    const pendingSteps = new Set([...final.pending.values()].flat());
    return program.steps.map((step, i) => {
        const t = last.get(i);
        if (!t) {
            const notRun = pendingSteps.has(i) || i >= final.nextStep;
            return {
                step: i, process: step.process, op: opName(step), outcome: notRun ? 'not-run' : 'invalid', values: {}, tick: -1,
                reason: notRun ? `${step.process} is still blocked, so this step never ran` : undefined,
            } satisfies StepResult;
        }
        const o = t.outcome;
        const result: StepResult = {
            step: i,
            process: step.process,
            op: opName(step),
            outcome: o.outcome,
            errno: o.errno,
            ret: o.ret,
            values: o.values,
            reason: o.reason ?? o.waitingFor,
            source: o.source,
            dma: o.dma,
            waitingFor: o.outcome === 'blocked' ? o.waitingFor : undefined,
            tick: t.index,
        };
        return { ...result, expectation: checkExpectation(step, result, t.state.env.get(step.process)) };
    });
}

export function opName(step: Step): string {
    return step.op === 'ioctl' ? step.ioctl : step.op;
}

function describeOutcome(r: StepResult): string {
    switch (r.outcome) {
        case 'ok':
            return 'ok';
        case 'errno':
            return formatKernelError(r.errno!, r.reason ?? '', r.source);
        case 'fault':
            return `fault: ${r.reason}`;
        case 'blocked':
            return `blocked: ${r.waitingFor}`;
        case 'not-run':
            return 'not run';
        case 'invalid':
            return `invalid: ${r.reason}`;
    }
}

function formatFieldValue(step: Step, field: string, v: bigint): string {
    if (step.op === 'ioctl') {
        const def = findIoctl(step.ioctl);
        const f = def && def.arg.kind === 'struct' ? def.arg.struct.fields.find((x) => x.name === field) : undefined;
        if (f?.constants) {
            return `${formatConstant(f.constants, v)}`;
        }
    }
    return v < 0n || v > 9n ? `${hex(v)}` : `${v}`;
}

/** Compares a result with the step's `expect` (a step without one expects success). */
export function checkExpectation(step: Step, r: StepResult, env: ReadonlyMap<string, VarBinding> | undefined): { matched: boolean; message?: string } {
    const exp: Expectation = step.expect ?? { outcome: { kind: 'ok' }, fields: [] };
    if (r.outcome === 'blocked' || r.outcome === 'not-run' || r.outcome === 'invalid') {
        return { matched: false, message: describeOutcome(r) };
    }
    const want = exp.outcome;
    const got = r.outcome === 'errno' ? r.errno! : r.outcome;
    const wantText = want.kind === 'errno' ? want.errno : want.kind;
    const outcomeOk = want.kind === 'errno' ? r.outcome === 'errno' && r.errno === want.errno : r.outcome === want.kind;
    if (!outcomeOk) {
        return { matched: false, message: step.expect ? `expected ${wantText}, got ${describeOutcome(r)}` : describeOutcome(r) };
    }
    const problems: string[] = [];
    for (const f of exp.fields) {
        let expected: bigint;
        try {
            expected = evalExpr(f.value, env);
        } catch (e) {
            problems.push(`${f.field}: ${(e as Error).message}`);
            continue;
        }
        const actual: OutValue | undefined = r.values[f.field];
        if (!actual) {
            problems.push(`${f.field}: the call does not report it (expected ${formatFieldValue(step, f.field, expected)})`);
            continue;
        }
        const match = f.op === 'eq' ? actual.value === expected : (actual.value & expected) === expected;
        if (!match) {
            problems.push(`${f.field}: expected ${f.op === 'has' ? 'bits ' : ''}${formatFieldValue(step, f.field, expected)}, got ${formatFieldValue(step, f.field, actual.value)}`);
        }
    }
    if (problems.length > 0) {
        return { matched: false, message: `${got === 'ok' ? 'ok' : got}, but ${problems.join('; ')}` };
    }
    return { matched: true };
}

export { StepError };
