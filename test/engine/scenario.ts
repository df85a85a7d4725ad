/**
 * Readable builders for engine-level scenarios, shaped like the language's statements:
 *
 *     const s = scenario(machineSpec);
 *     const vmm = s.process('vmm');
 *     vmm.unbind('nic0');
 *     vmm.open(vfioGroup('nic0'), 'group');
 *     vmm.ioctl('VFIO_GROUP_GET_STATUS', v('group'), {}, { expect: 'ok', fields: { flags: 1n } });
 *     const run = s.run();
 */

import type { MachineSpec } from '../../engine/machine/spec.js';
import { runScenario, type ScenarioRun } from '../../engine/runner.js';
import type { ArgValue, Expectation, Expr, PathExpr, ProcessSpec, ScenarioProgram, Step, StepOp, StepResult } from '../../engine/step.js';
import { parseErrno } from '../../engine/errno.js';
import type { KernelState } from '../../engine/state.js';
import { expect } from 'vitest';

export const n = (value: bigint | number): Expr => ({ kind: 'int', value: BigInt(value) });
export const v = (name: string): Expr => ({ kind: 'var', name });
export const add = (left: Expr, right: Expr): Expr => ({ kind: 'binary', op: '+', left, right });
export const vfioGroup = (device: string): PathExpr => ({ kind: 'vfio-group', device });
export const vfioDevice = (device: string): PathExpr => ({ kind: 'vfio-device', device });
export const path = (p: string): PathExpr => ({ kind: 'literal', path: p });
export const dev = (device: string): ArgValue => ({ kind: 'device', device });
export const str = (value: string): ArgValue => ({ kind: 'string', value });

export const K = 1024n;
export const M = 1024n * K;
export const G = 1024n * M;

type Val = bigint | number | Expr | ArgValue;

function toExpr(x: bigint | number | Expr): Expr {
    return typeof x === 'object' ? x : n(x);
}

function toArg(x: Val): ArgValue {
    if (typeof x === 'object' && (x.kind === 'device' || x.kind === 'string' || x.kind === 'array' || x.kind === 'expr')) {
        return x as ArgValue;
    }
    return { kind: 'expr', expr: toExpr(x as bigint | number | Expr) };
}

export interface ExpectSpec {
    /** `ok`, `fault` or an errno name. */
    readonly expect?: string;
    /** `expect ... { field: value }` (exact) */
    readonly fields?: Readonly<Record<string, bigint | number>>;
    /** `expect ... { field has value }` */
    readonly has?: Readonly<Record<string, bigint | number>>;
    readonly bind?: string;
}

function expectation(e: ExpectSpec | undefined): Expectation | undefined {
    if (!e || (e.expect === undefined && !e.fields && !e.has)) {
        return undefined;
    }
    const kind = e.expect ?? 'ok';
    const outcome = kind === 'ok' ? { kind: 'ok' as const } : kind === 'fault' ? { kind: 'fault' as const } : { kind: 'errno' as const, errno: parseErrno(kind)! };
    const fields = [
        ...Object.entries(e.fields ?? {}).map(([field, value]) => ({ field, op: 'eq' as const, value: n(value) })),
        ...Object.entries(e.has ?? {}).map(([field, value]) => ({ field, op: 'has' as const, value: n(value) })),
    ];
    return { outcome, fields };
}

export class ScenarioBuilder {
    readonly steps: Step[] = [];
    readonly processes: ProcessSpec[] = [];

    constructor(readonly machine: MachineSpec) {}

    process(name: string, spec: Omit<ProcessSpec, 'name'> = {}): ProcessBuilder {
        if (!this.processes.some((p) => p.name === name)) {
            this.processes.push({ name, ...spec });
        }
        return new ProcessBuilder(this, name);
    }

    program(name = 'test'): ScenarioProgram {
        return { name, machine: this.machine, processes: this.processes, steps: this.steps };
    }

    run(): ScenarioRun {
        return runScenario(this.program());
    }
}

export class ProcessBuilder {
    constructor(private readonly s: ScenarioBuilder, readonly name: string) {}

    /** Adds a step; returns its index. */
    private add(op: StepOp, e?: ExpectSpec): number {
        this.s.steps.push({ ...op, process: this.name, bind: e?.bind, expect: expectation(e) } as Step);
        return this.s.steps.length - 1;
    }

    open(p: PathExpr, bind?: string, e: ExpectSpec = {}): number {
        return this.add({ op: 'open', path: p }, { ...e, bind });
    }
    close(fd: Expr): number {
        return this.add({ op: 'close', fd });
    }
    ioctl(name: string, fd: Expr, args: { positional?: Val; [field: string]: Val | undefined } = {}, e: ExpectSpec = {}): number {
        const { positional, ...rest } = args;
        const fields: Record<string, ArgValue> = {};
        for (const [k, x] of Object.entries(rest)) {
            if (x !== undefined) {
                fields[k] = toArg(x);
            }
        }
        return this.add({ op: 'ioctl', ioctl: name, fd, positional: positional === undefined ? undefined : toArg(positional), fields }, e);
    }
    mmap(size: bigint, bind: string, opts: { hugepage?: bigint } = {}, e: ExpectSpec = {}): number {
        return this.add({ op: 'mmap', size: n(size), hugepage: opts.hugepage === undefined ? undefined : n(opts.hugepage) }, { ...e, bind });
    }
    munmap(addr: Expr, length?: bigint): number {
        return this.add({ op: 'munmap', addr, length: length === undefined ? undefined : n(length) });
    }
    bind(device: string, driver: string, e: ExpectSpec = {}): number {
        return this.add({ op: 'bind', device, driver }, e);
    }
    unbind(device: string, e: ExpectSpec = {}): number {
        return this.add({ op: 'unbind', device }, e);
    }
    sriov(device: string, numvfs: number, e: ExpectSpec = {}): number {
        return this.add({ op: 'sriov', device, numvfs: n(numvfs) }, e);
    }
    mdev(name: string, parent: string, kind: 'emulated' | 'pasid' | 'iommu-backed', e: ExpectSpec = {}): number {
        return this.add({ op: 'mdev', name, parent, kind }, e);
    }
    svaBind(device: string, bind?: string, e: ExpectSpec = {}): number {
        return this.add({ op: 'sva-bind', device }, { ...e, bind });
    }
    svaUnbind(device: string, e: ExpectSpec = {}): number {
        return this.add({ op: 'sva-unbind', device }, e);
    }
    dma(device: string, dir: 'read' | 'write', iova: bigint | Expr, length: bigint, e: ExpectSpec = {}, pasid?: bigint | Expr): number {
        return this.add({ op: 'dma', device, dir, iova: toExpr(iova), length: n(length), pasid: pasid === undefined ? undefined : toExpr(pasid) }, e);
    }
    exit(): number {
        return this.add({ op: 'exit' });
    }
    fork(child: string): number {
        return this.add({ op: 'fork', child });
    }
    send(fd: Expr, to: string, as: string): number {
        return this.add({ op: 'send', fd, to, as });
    }
}

export function scenario(machine: MachineSpec): ScenarioBuilder {
    return new ScenarioBuilder(machine);
}

/** Asserts a step's outcome: `ok`, `fault`, `blocked`, `not-run` or an errno; and the reason's text. */
export function expectStep(run: ScenarioRun, index: number, outcome: string, reason?: RegExp): StepResult {
    const r = run.results[index]!;
    const got = r.outcome === 'errno' ? r.errno : r.outcome;
    expect(got, `step ${index} (${r.op}): ${r.reason ?? ''}`).toBe(outcome);
    if (reason) {
        expect(r.reason ?? '').toMatch(reason);
    }
    return r;
}

/** Every step met its expectation (or, without one, succeeded). */
export function expectAllMatched(run: ScenarioRun): void {
    const bad = run.results
        .filter((r) => !r.expectation?.matched)
        .map((r) => `step ${r.step} ${r.process} ${r.op}: ${r.expectation?.message}`);
    expect(bad).toEqual([]);
}

/** The kernel state after the last tick (or after boot, if nothing ran). */
export function finalKernel(run: ScenarioRun): KernelState {
    return run.ticks.length > 0 ? run.ticks[run.ticks.length - 1]!.state.kernel : run.initial.kernel;
}

/** The kernel state right after step `index` last ran. */
export function kernelAfter(run: ScenarioRun, index: number): KernelState {
    const t = [...run.ticks].reverse().find((x) => x.step === index);
    if (!t) {
        throw new Error(`step ${index} never ran`);
    }
    return t.state.kernel;
}

/** A step's out-value, which must be present. */
export function valueOf(run: ScenarioRun, index: number, field: string): bigint {
    const v = run.results[index]!.values[field];
    if (!v) {
        throw new Error(`step ${index} (${run.results[index]!.op}) reports no ${field}: ${JSON.stringify(Object.keys(run.results[index]!.values))}`);
    }
    return v.value;
}
