/**
 * Lowers a linked `scenario { ... }` to the engine's {@link ScenarioProgram}: process blocks in
 * source order, procedures inlined at each `call` (parameters substituted, a frame per call),
 * loops unrolled (constant bounds, both inclusive), each `let` given a slot name unique in its
 * process, constants turned into numbers. Devices stay names: the engine resolves them when the
 * step runs (VFs and run-time mdevs may not exist before).
 */

import type { AstNode, Reference } from 'langium';
import { parseErrno } from '../../engine/errno.js';
import type { MachineSpec } from '../../engine/machine/spec.js';
import type {
    ArgValue as EngineArg, Expectation as EngineExpectation, Expr as EngineExpr, PathExpr, ProcessSpec, ScenarioProgram,
    Step, StepFrame, StepOp,
} from '../../engine/step.js';
import {
    isArrayLiteral, isBinaryExpr, isCallStatement, isCapsStatement, isForStatement, isForkStatement, isKernelConstant,
    isIoctlStatement, isLiteralPath, isMemfdStatement, isMmapStatement, isNameRef, isOpenStatement, isParameter,
    isRepeatStatement, isSendStatement, isStringLiteral, isStructLiteral, isSvaBindStatement, isUnaryExpr, isVfioGroupPath,
    type ArgValue, type ArrayLiteral, type CallStatement, type CapsStatement, type DeviceTarget, type Expectation,
    type Expr, type ForStatement, type GuestMapStatement, type GuestUnmapStatement, type IoctlStatement, type MemfdStatement, type MmapStatement, type NameRef,
    type OpenStatement, type Procedure, type ProcessBlock, type RepeatStatement, type Scenario, type Statement,
    type StructLiteral,
} from '../generated/ast.js';
import { ownBinding, type LetStatement } from '../scoping/bindings.js';
import { isDeviceNode } from '../scoping/machine-devices.js';
import { scalarElementField } from '../uapi/uapi-context.js';
import { findIoctl } from '../../engine/uapi/index.js';
import { IommuCodes, type IommuCode } from '../validation/diagnostic-codes.js';
import { lowerMachine } from './lower-machine.js';
import type { LoweringDiagnostic } from './lowering-diagnostic.js';
import { compact, locationOf } from './source-location.js';
import { applyBinary, evaluateConstant, staticValue } from './static-value.js';

/** Options of {@link lowerScenario}. */
export interface LoweringOptions {
    /** Most steps a scenario may unroll to; beyond it lowering stops with `loop-too-large`. */
    readonly maxSteps?: number;
    /** The machine, when already lowered (it is lowered from `scenario.machine` otherwise). */
    readonly machine?: MachineSpec;
}

/** A lowered scenario, and what lowering found wrong. */
export interface ScenarioLoweringResult {
    /**
     * Undefined when the scenario's machine does not resolve. When a loop would take it past
     * `maxSteps`, it holds the steps before that loop (and `diagnostics` says so).
     */
    readonly program: ScenarioProgram | undefined;
    readonly diagnostics: readonly LoweringDiagnostic[];
}

/** The default cap on unrolled steps. */
export const DEFAULT_MAX_STEPS = 1_000_000;

/** Lowers a linked scenario. */
export function lowerScenario(scenario: Scenario, options: LoweringOptions = {}): ScenarioLoweringResult {
    return new ScenarioLowerer(scenario, options).lower();
}

/** What a parameter or loop variable stands for in the body being lowered. */
type Value =
    | { readonly kind: 'expr'; readonly expr: EngineExpr; readonly origin?: AstNode }
    | { readonly kind: 'string'; readonly value: string }
    | { readonly kind: 'device'; readonly device: string }
    | { readonly kind: 'array'; readonly items: ArrayItems };

/** The elements of an array argument. */
type ArrayItems = Extract<EngineArg, { kind: 'array' }>['items'];

/** A process as lowering tracks it: its slots and whether it has run a step. */
interface ProcessState {
    readonly name: string;
    /** Binding node → slot name, in this process. */
    readonly slots: Map<AstNode, string>;
    /** How many bindings of each written name the process has. */
    readonly used: Map<string, number>;
    steps: number;
    /** Created by a `fork` (it has no {@link ProcessSpec} of its own). */
    forked: boolean;
    spec?: { -readonly [K in keyof ProcessSpec]: ProcessSpec[K] };
}

/** Where the statements being lowered are: process, call stack, loop iteration, substitutions. */
interface Scope {
    readonly process: ProcessState;
    readonly frames: readonly StepFrame[];
    readonly iteration: Readonly<Record<string, bigint>>;
    /** Whether `iteration` has any variable (a `for` encloses the statements). */
    readonly hasIteration: boolean;
    readonly env: ReadonlyMap<AstNode, Value>;
    readonly calls: readonly Procedure[];
    /** The loops being unrolled, outermost first. */
    readonly loops: readonly AstNode[];
}

/** Thrown when the program reaches the step cap; caught at the top. */
class StepLimitReached extends Error {
    constructor(readonly at: AstNode) {
        super('step limit reached');
    }
}

/**
 * Lowers one scenario (a fresh instance per lowering). {@link lowerScenario} is the entry point;
 * subclass to change how a statement lowers.
 */
export class ScenarioLowerer {
    protected readonly steps: Step[] = [];
    protected readonly diagnostics: LoweringDiagnostic[] = [];
    protected readonly processes = new Map<string, ProcessState>();
    protected readonly specs: ProcessState[] = [];
    protected readonly maxSteps: number;

    constructor(protected readonly scenario: Scenario, protected readonly options: LoweringOptions) {
        this.maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
    }

    /** The program and the diagnostics. */
    lower(): ScenarioLoweringResult {
        const machineNode = this.scenario.machine.ref;
        const machine = this.options.machine ?? (machineNode ? lowerMachine(machineNode) : undefined);
        try {
            for (const block of this.scenario.processes) {
                this.lowerBlock(block);
            }
        } catch (error) {
            if (!(error instanceof StepLimitReached)) {
                throw error;
            }
            this.report('error', IommuCodes.LoopTooLarge,
                `this loop unrolls scenario '${this.scenario.name}' to more than ${this.maxSteps.toLocaleString('en-US')} steps; `
                + 'the scenario is lowered up to it', error.at);
        }
        const program = machine && compact<ScenarioProgram>({
            name: this.scenario.name,
            machine,
            processes: this.specs.map(p => compact<ProcessSpec>({ ...p.spec!, caps: p.spec!.caps ? [...p.spec!.caps] : undefined })),
            steps: this.steps,
            loc: locationOf(this.scenario),
        });
        return { program, diagnostics: this.diagnostics };
    }

    // -----------------------------------------------------------------------------------------
    // Processes

    protected lowerBlock(block: ProcessBlock): void {
        const known = this.processes.get(block.name);
        const state = known ?? this.newProcess(block.name);
        const hasAttributes = block.uid !== undefined || block.memlock !== undefined || block.caps.length > 0;
        if (state.forked) {
            if (hasAttributes) {
                this.report('error', IommuCodes.ProcessAttributesOnReentry,
                    `process '${block.name}' is forked: it keeps its parent's credentials and limits`, block, 'name');
            }
        } else if (!state.spec) {
            state.spec = this.processSpec(block);
            this.specs.push(state);
        } else if (hasAttributes) {
            this.report('error', IommuCodes.ProcessAttributesOnReentry,
                `'uid', 'memlock' and 'caps' belong on the first block of process '${block.name}'`, block, 'name');
        }
        const scope: Scope = { process: state, frames: [], iteration: {}, hasIteration: false, env: new Map(), calls: [], loops: [] };
        this.lowerStatements(block.body, scope);
    }

    protected newProcess(name: string): ProcessState {
        const state: ProcessState = { name, slots: new Map(), used: new Map(), steps: 0, forked: false };
        this.processes.set(name, state);
        return state;
    }

    protected processSpec(block: ProcessBlock): NonNullable<ProcessState['spec']> {
        let memlock: bigint | undefined;
        if (block.memlock !== undefined) {
            memlock = staticValue(block.memlock);
            if (memlock === undefined) {
                this.report('error', IommuCodes.NotConstant, 'memlock must be a constant size', block, 'memlock');
            }
        }
        return compact({
            name: block.name,
            uid: block.uid === undefined ? undefined : Number(block.uid),
            memlock,
            caps: block.caps.length > 0 ? capabilities(block.caps) : undefined,
            loc: locationOf(block),
        });
    }

    /** The slot a binding has in a process: its name, or `name#N` for the N-th binding of it. */
    protected slotFor(process: ProcessState, binding: AstNode, name: string): string {
        const existing = process.slots.get(binding);
        if (existing !== undefined) {
            return existing;
        }
        const count = (process.used.get(name) ?? 0) + 1;
        process.used.set(name, count);
        const slot = count === 1 ? name : `${name}#${count}`;
        process.slots.set(binding, slot);
        return slot;
    }

    // -----------------------------------------------------------------------------------------
    // Statements

    protected lowerStatements(statements: readonly Statement[], scope: Scope): void {
        for (const statement of statements) {
            this.lowerStatement(statement, scope);
        }
    }

    protected lowerStatement(statement: Statement, scope: Scope): void {
        switch (statement.$type) {
            case 'ForStatement':
                this.lowerFor(statement, scope);
                return;
            case 'RepeatStatement':
                this.lowerRepeat(statement, scope);
                return;
            case 'CallStatement':
                this.lowerCall(statement, scope);
                return;
            case 'CapsStatement':
                this.lowerCaps(statement.caps, statement, scope);
                return;
            default:
                this.emit(this.lowerOp(statement, scope), statement, scope);
        }
    }

    /** The operation of a statement that is one step (a switch on `$type`: this runs per step). */
    protected lowerOp(statement: Exclude<Statement, ForStatement | RepeatStatement | CallStatement | CapsStatement>, scope: Scope): StepOp {
        switch (statement.$type) {
            case 'OpenStatement':
                return { op: 'open', path: this.lowerPath(statement, scope) };
            case 'CloseStatement':
                return { op: 'close', fd: this.lowerExpr(statement.fd, scope) };
            case 'IoctlStatement':
                return this.lowerIoctl(statement, scope);
            case 'MmapStatement':
                return this.lowerMmap(statement, scope);
            case 'MunmapStatement':
                return compact<StepOp>({
                    op: 'munmap',
                    addr: this.lowerExpr(statement.addr, scope),
                    length: this.optionalExpr(statement.length, scope),
                });
            case 'MemfdStatement':
                return compact<StepOp>({
                    op: 'memfd',
                    size: this.lowerExpr(statement.size, scope),
                    hugepage: this.optionalExpr(statement.hugepage, scope),
                });
            case 'BindStatement':
                return { op: 'bind', device: this.deviceName(statement.device, statement, 'device', scope), driver: statement.driver };
            case 'UnbindStatement':
                return { op: 'unbind', device: this.deviceName(statement.device, statement, 'device', scope) };
            case 'SriovStatement':
                return { op: 'sriov', device: this.deviceName(statement.device, statement, 'device', scope), numvfs: this.lowerExpr(statement.numvfs, scope) };
            case 'MdevStatement':
                return { op: 'mdev', name: statement.name, parent: this.deviceName(statement.parent, statement, 'parent', scope), kind: statement.kind };
            case 'SvaBindStatement':
                return { op: 'sva-bind', device: this.deviceName(statement.device, statement, 'device', scope) };
            case 'SvaUnbindStatement':
                return { op: 'sva-unbind', device: this.deviceName(statement.device, statement, 'device', scope) };
            case 'DmaStatement': {
                const dma: { -readonly [K in keyof Extract<StepOp, { op: 'dma' }>]: Extract<StepOp, { op: 'dma' }>[K] } = {
                    op: 'dma',
                    device: this.deviceName(statement.device, statement, 'device', scope),
                    dir: statement.dir,
                    iova: this.lowerExpr(statement.iova, scope),
                    length: this.lowerExpr(statement.length, scope),
                };
                if (statement.pasid !== undefined) {
                    dma.pasid = this.lowerExpr(statement.pasid, scope);
                }
                return dma;
            }
            case 'GuestMapStatement':
                return this.lowerGuestMap(statement, scope);
            case 'GuestUnmapStatement':
                return {
                    op: 'guest-unmap',
                    hwpt: this.lowerHwpt(statement, scope),
                    iova: this.lowerAligned(statement.iova, statement, 'iova', 'IOVA', scope),
                    length: this.lowerAligned(statement.length, statement, 'length', 'length', scope, true),
                };
            case 'ExitStatement':
                return { op: 'exit' };
            case 'ForkStatement':
                return { op: 'fork', child: statement.name };
            case 'SendStatement': {
                const fd = this.lowerExpr(statement.fd, scope);
                const receiverName = statement.receiver.ref?.name ?? statement.receiver.$refText;
                const receiver = this.processes.get(receiverName) ?? this.newProcess(receiverName);
                return { op: 'send', fd, to: receiverName, as: this.slotFor(receiver, statement, statement.name) };
            }
        }
    }

    /** Appends a step for `statement`, with its binding and expectation. */
    protected emit(op: StepOp, statement: Statement, scope: Scope): void {
        if (this.steps.length >= this.maxSteps) {
            throw new StepLimitReached(scope.loops[0] ?? statement);
        }
        const expect = 'expect' in statement && statement.expect ? this.lowerExpectation(statement.expect, scope) : undefined;
        const binding = ownBinding(statement);
        // Built field by field (no `compact`): this runs once per unrolled step.
        const step: { -readonly [K in keyof Step]?: Step[K] } = { ...op, process: scope.process.name };
        const loc = locationOf(statement);
        if (loc) {
            step.loc = loc;
        }
        if (scope.frames.length > 0) {
            step.frames = scope.frames;
        }
        if (scope.hasIteration) {
            step.iteration = scope.iteration;
        }
        if (binding) {
            step.bind = this.slotFor(scope.process, binding, binding.name);
            if (step.bind !== binding.name) {
                step.bindDisplay = binding.name;
            }
        }
        if (expect) {
            step.expect = expect;
        }
        this.steps.push(step as Step);
        scope.process.steps++;
        if (isForkStatement(statement)) {
            this.fork(statement.name, statement, scope);
        }
    }

    protected fork(child: string, statement: Statement, scope: Scope): void {
        const existing = this.processes.get(child);
        if (existing?.spec) {
            this.report('error', IommuCodes.ForkedProcessExists,
                `process '${child}' already exists: a fork needs a new process name`, statement, 'name');
            return;
        }
        const parent = scope.process;
        this.processes.set(child, {
            name: child,
            slots: new Map([...(existing?.slots ?? []), ...parent.slots]),
            used: new Map(parent.used),
            steps: 0,
            forked: true,
        });
    }

    protected lowerCaps(caps: readonly string[], node: AstNode, scope: Scope): void {
        const state = scope.process;
        if (state.spec && state.steps === 0 && scope.frames.length === 0) {
            state.spec.caps = capabilities(caps);
            return;
        }
        this.report('error', IommuCodes.CapsAfterStart, state.forked
            ? `process '${state.name}' is forked: it keeps its parent's capabilities`
            : `'caps' must come before the first call of process '${state.name}' (capabilities are set when it starts)`, node);
    }

    // -----------------------------------------------------------------------------------------
    // Loops and calls

    protected lowerFor(loop: ForStatement, scope: Scope): void {
        const first = this.constantBound(loop.first, scope, loop, 'first');
        const last = this.constantBound(loop.last, scope, loop, 'last');
        if (first === undefined || last === undefined) {
            return;
        }
        this.checkSize(loop, scope);
        const loops = [...scope.loops, loop];
        for (let value = first; value <= last; value++) {
            const env = new Map(scope.env);
            env.set(loop, { kind: 'expr', expr: { kind: 'int', value } });
            const iteration = { ...scope.iteration, [loop.name]: value };
            this.lowerStatements(loop.body, { ...scope, env, iteration, hasIteration: true, loops });
        }
    }

    protected lowerRepeat(loop: RepeatStatement, scope: Scope): void {
        const count = this.constantBound(loop.count, scope, loop, 'count');
        if (count === undefined) {
            return;
        }
        this.checkSize(loop, scope);
        const loops = [...scope.loops, loop];
        for (let i = 0n; i < count; i++) {
            this.lowerStatements(loop.body, { ...scope, loops });
        }
    }

    /**
     * Stops lowering at a loop that would take the program beyond the step cap, before
     * unrolling it (unrolling a million steps only to throw them away would take seconds).
     */
    protected checkSize(loop: ForStatement | RepeatStatement, scope: Scope): void {
        const budget = BigInt(this.maxSteps - this.steps.length);
        if (new StepCounter(budget).statement(loop, scope.env, []) > budget) {
            throw new StepLimitReached(scope.loops[0] ?? loop);
        }
    }

    protected constantBound(expr: Expr, scope: Scope, loop: AstNode, property: string): bigint | undefined {
        const value = evaluateConstant(this.lowerExpr(expr, scope));
        if (value === undefined) {
            this.report('error', IommuCodes.NotConstant,
                'a loop bound must be a constant (numbers, constants, outer loop variables, constant parameters)', loop, property);
        }
        return value;
    }

    protected lowerCall(call: CallStatement, scope: Scope): void {
        const procedure = call.procedure.ref;
        if (!procedure) {
            return;
        }
        if (scope.calls.includes(procedure)) {
            this.report('error', IommuCodes.RecursiveCall,
                `procedure '${procedure.name}' calls itself (through ${[...scope.calls, procedure].map(p => p.name).join(' → ')}); procedures are inlined, so they cannot recurse`,
                call, 'procedure');
            return;
        }
        const env = new Map<AstNode, Value>();
        procedure.params.forEach((param, i) => {
            const arg = call.args[i];
            env.set(param, arg ? this.lowerValue(arg, scope) : { kind: 'expr', expr: { kind: 'int', value: 0n } });
        });
        const frame = compact<StepFrame>({ procedure: procedure.name, callLoc: locationOf(call) });
        this.lowerStatements(procedure.body, {
            ...scope,
            env,
            frames: [...scope.frames, frame],
            calls: [...scope.calls, procedure],
        });
    }

    // -----------------------------------------------------------------------------------------
    // Operations

    protected lowerPath(statement: OpenStatement, scope: Scope): PathExpr {
        const path = statement.path;
        if (isLiteralPath(path)) {
            return { kind: 'literal', path: path.path };
        }
        const device = this.deviceName(path.device, path, 'device', scope);
        return isVfioGroupPath(path) ? { kind: 'vfio-group', device } : { kind: 'vfio-device', device };
    }

    protected lowerIoctl(statement: IoctlStatement, scope: Scope): StepOp {
        const fields: Record<string, EngineArg> = {};
        let positional: EngineArg | undefined;
        for (const arg of statement.args) {
            const value = this.lowerArg(arg.value, scope, statement.ioctl, arg.field);
            if (arg.field === undefined) {
                positional ??= value;
            } else {
                fields[arg.field] = value;
            }
        }
        return compact<StepOp>({
            op: 'ioctl',
            ioctl: statement.ioctl,
            fd: this.lowerExpr(statement.fd, scope),
            positional,
            fields,
        });
    }

    /**
     * `guest-map HWPT iova IOVA to GPA len N read write`: the guest writes its stage-1 table.
     * Without a permission it is an error (lowered as `read write`, so the run goes on).
     */
    protected lowerGuestMap(statement: GuestMapStatement, scope: Scope): StepOp {
        const permissions = statement.permissions;
        if (permissions.length === 0) {
            this.reportOnce('error', IommuCodes.GuestMapPermissions,
                "a guest mapping needs its permissions: 'read', 'write' or both (x86 and ARM stage-1 tables cannot map a page the device may neither read nor write)",
                statement);
        } else if (new Set(permissions).size < permissions.length) {
            this.reportOnce('warning', IommuCodes.GuestMapPermissions, 'a permission is listed twice', statement, 'permissions');
        }
        const none = permissions.length === 0;
        return {
            op: 'guest-map',
            hwpt: this.lowerHwpt(statement, scope),
            iova: this.lowerAligned(statement.iova, statement, 'iova', 'IOVA', scope),
            gpa: this.lowerAligned(statement.gpa, statement, 'gpa', 'GPA', scope),
            length: this.lowerAligned(statement.length, statement, 'length', 'length', scope, true),
            read: none || permissions.includes('read'),
            write: none || permissions.includes('write'),
        };
    }

    /**
     * The HWPT of a guest-map/unmap. A name bound by a statement whose value cannot be a nested
     * HWPT (an fd, an address, another object's id, a NEST_PARENT or data-less HWPT_ALLOC) is an
     * error here; anything else is checked when the step runs.
     */
    protected lowerHwpt(statement: GuestMapStatement | GuestUnmapStatement, scope: Scope): EngineExpr {
        const expr = statement.hwpt;
        const target = isNameRef(expr) ? expr.ref.ref : undefined;
        const name = isNameRef(expr) ? expr.ref.$refText : '';
        const notHwpt = (what: string) => this.reportOnce('error', IommuCodes.NotANestedHwpt,
            `'${name}' is ${what}, not a nested HWPT: the guest's stage-1 table belongs to a HWPT from IOMMU_HWPT_ALLOC on a NEST_PARENT HWPT or a vIOMMU`,
            statement, 'hwpt');
        if (isOpenStatement(target) || isMemfdStatement(target)) {
            notHwpt('a file descriptor');
        } else if (isMmapStatement(target)) {
            notHwpt('an address in process memory');
        } else if (isSvaBindStatement(target)) {
            notHwpt('a PASID');
        } else if (isIoctlStatement(target)) {
            const ioctl = findIoctl(target.ioctl);
            if (ioctl?.main !== undefined && ioctl.main !== 'out_hwpt_id' && ioctl.main !== 'pt_id') {
                notHwpt(`the ${ioctl.main} of ${ioctl.name}`);
            } else if (ioctl?.name === 'IOMMU_HWPT_ALLOC') {
                const arg = (field: string) => target.args.find(a => a.field === field)?.value;
                const flags = arg('flags');
                const dataType = arg('data_type');
                const flagValue = flags && !isStringLiteral(flags) && !isArrayLiteral(flags) ? staticValue(flags) : undefined;
                const typeValue = dataType && !isStringLiteral(dataType) && !isArrayLiteral(dataType) ? staticValue(dataType) : undefined;
                if (flagValue !== undefined && (flagValue & 1n) !== 0n) {
                    notHwpt('a NEST_PARENT HWPT: stage 2, the VMM\'s mapping of guest memory');
                } else if (dataType === undefined || typeValue === 0n) {
                    notHwpt('a paging HWPT (allocated without stage-1 data_type)');
                }
            }
        }
        return this.lowerExpr(expr, scope);
    }

    /** An address or length of a guest-map: constant ones must be 4 KiB aligned (and lengths positive). */
    protected lowerAligned(expr: Expr, statement: GuestMapStatement | GuestUnmapStatement, property: string, what: string, scope: Scope, positive = false): EngineExpr {
        const lowered = this.lowerExpr(expr, scope);
        const value = evaluateConstant(lowered);
        if (value !== undefined && (value % 4096n !== 0n || (positive && value <= 0n))) {
            this.reportOnce('error', IommuCodes.GuestMapMisaligned,
                value % 4096n !== 0n
                    ? `${what} 0x${value.toString(16)} is not 4 KiB aligned: a stage-1 table maps whole pages`
                    : `a ${what} of ${value}: the guest maps whole pages`,
                statement, property);
        }
        return lowered;
    }

    protected lowerMmap(statement: MmapStatement, scope: Scope): StepOp {
        const memfd = this.memfdOf(statement.source, scope);
        if (!memfd) {
            if (statement.length !== undefined || statement.offset !== undefined) {
                this.report('warning', IommuCodes.UnexpectedArgument,
                    "'len' and 'offset' apply to the mmap of a memfd; this maps anonymous memory of the given size", statement);
            }
            return compact<StepOp>({
                op: 'mmap',
                size: this.lowerExpr(statement.source, scope),
                hugepage: this.optionalExpr(statement.hugepage, scope),
            });
        }
        let size = this.optionalExpr(statement.length, scope);
        if (size === undefined) {
            const known = staticValue(memfd.size);
            if (known === undefined) {
                this.report('error', IommuCodes.MmapSizeUnknown,
                    `the size of '${memfd.name}' is not a constant: write \`mmap ${memfd.name} len SIZE\``, statement, 'source');
            }
            size = { kind: 'int', value: known ?? 0n };
        }
        return compact<StepOp>({
            op: 'mmap',
            size,
            hugepage: this.optionalExpr(statement.hugepage, scope),
            file: this.lowerExpr(statement.source, scope),
            offset: this.optionalExpr(statement.offset, scope),
        });
    }

    /** The `memfd` statement a bare name stands for (through sends and parameters), if any. */
    protected memfdOf(expr: Expr, scope: Scope | undefined): MemfdStatement | undefined {
        if (!isNameRef(expr)) {
            return undefined;
        }
        let target: AstNode | undefined = expr.ref.ref;
        for (let hops = 0; target && hops < 16; hops++) {
            if (isMemfdStatement(target)) {
                return target;
            }
            if (isSendStatement(target) && isNameRef(target.fd)) {
                target = target.fd.ref.ref;
            } else if (isParameter(target) && scope) {
                const value = scope.env.get(target);
                target = value?.kind === 'expr' ? value.origin : undefined;
                scope = undefined;
            } else {
                return undefined;
            }
        }
        return undefined;
    }

    // -----------------------------------------------------------------------------------------
    // Values

    protected lowerExpectation(expectation: Expectation, scope: Scope): EngineExpectation | undefined {
        let outcome: EngineExpectation['outcome'];
        if (expectation.outcome === 'ok') {
            outcome = { kind: 'ok' };
        } else if (expectation.outcome === 'fault') {
            outcome = { kind: 'fault' };
        } else {
            const errno = expectation.errno === undefined ? undefined : parseErrno(expectation.errno);
            if (!errno) {
                return undefined; // the scenario validator reports the unknown errno
            }
            outcome = { kind: 'errno', errno };
        }
        return compact<EngineExpectation>({
            outcome,
            fields: expectation.fields.map(field => compact({
                field: field.field,
                op: field.op === 'has' ? 'has' as const : 'eq' as const,
                value: this.lowerExpr(field.value, scope),
                loc: locationOf(field),
            })),
            loc: locationOf(expectation),
        });
    }

    /** An ioctl argument: a number, a string, a device, or an array of structs. */
    protected lowerArg(value: ArgValue, scope: Scope, ioctl: string, field: string | undefined): EngineArg {
        const loc = locationOf(value);
        if (isArrayLiteral(value)) {
            return compact<EngineArg>({ kind: 'array', items: this.lowerItems(value, scope, ioctl, field), loc });
        }
        const lowered = this.lowerValue(value, scope);
        switch (lowered.kind) {
            case 'expr': return compact<EngineArg>({ kind: 'expr', expr: lowered.expr, loc });
            case 'string': return compact<EngineArg>({ kind: 'string', value: lowered.value, loc });
            case 'device': return compact<EngineArg>({ kind: 'device', device: lowered.device, loc });
            case 'array': return compact<EngineArg>({ kind: 'array', items: lowered.items, loc });
        }
    }

    protected lowerItems(array: ArrayLiteral, scope: Scope, ioctl: string, field: string | undefined): ArrayItems {
        const elementField = field === undefined ? undefined : scalarElementField(ioctl, field);
        return array.items.map(item => {
            if (isStructLiteral(item)) {
                return this.lowerStruct(item, scope, ioctl, field);
            }
            return { [elementField ?? 'value']: this.lowerArg(item, scope, ioctl, undefined) };
        });
    }

    protected lowerStruct(struct: StructLiteral, scope: Scope, ioctl: string, field: string | undefined): Record<string, EngineArg> {
        const record: Record<string, EngineArg> = {};
        for (const member of struct.fields) {
            record[member.field] = this.lowerArg(member.value, scope, ioctl, field === undefined ? undefined : `${field}.${member.field}`);
        }
        return record;
    }

    /** What an argument stands for: a bare device name or parameter keeps its kind. */
    protected lowerValue(value: ArgValue, scope: Scope): Value {
        if (isStringLiteral(value)) {
            return { kind: 'string', value: value.value };
        }
        if (isArrayLiteral(value)) {
            return { kind: 'array', items: this.lowerItems(value, scope, '', undefined) };
        }
        if (isNameRef(value)) {
            const target = value.ref.ref;
            if (isParameter(target)) {
                const bound = scope.env.get(target);
                if (bound) {
                    return bound;
                }
            } else if (isDeviceNode(target)) {
                return { kind: 'device', device: target.name ?? value.ref.$refText };
            }
            return { kind: 'expr', expr: this.lowerExpr(value, scope), origin: target };
        }
        return { kind: 'expr', expr: this.lowerExpr(value, scope) };
    }

    protected optionalExpr(expr: Expr | undefined, scope: Scope): EngineExpr | undefined {
        return expr === undefined ? undefined : this.lowerExpr(expr, scope);
    }

    /** An integer expression: constants become numbers, bindings become their slots. */
    protected lowerExpr(expr: Expr, scope: Scope): EngineExpr {
        switch (expr.$type) {
            case 'NumberLiteral':
                return { kind: 'int', value: expr.value };
            case 'BinaryExpr':
                return {
                    kind: 'binary',
                    op: expr.op,
                    left: this.lowerExpr(expr.left, scope),
                    right: this.lowerExpr(expr.right, scope),
                };
            case 'UnaryExpr':
                return { kind: 'unary', op: expr.op, operand: this.lowerExpr(expr.operand, scope) };
            case 'NameRef':
                return this.lowerName(expr, scope);
        }
    }

    protected lowerName(ref: NameRef, scope: Scope): EngineExpr {
        const target = ref.ref.ref;
        const zero: EngineExpr = { kind: 'int', value: 0n };
        if (!target) {
            return zero; // reported by the linker
        }
        if (isKernelConstant(target)) {
            return { kind: 'int', value: target.value };
        }
        if (isForStatement(target) || isParameter(target)) {
            const value = scope.env.get(target);
            if (value?.kind === 'expr') {
                return value.expr;
            }
            if (value) {
                this.report('error', IommuCodes.NotANumber,
                    `'${ref.ref.$refText}' stands for ${describeValue(value)} here, not a number`, ref);
            }
            return zero;
        }
        if (isDeviceNode(target)) {
            this.report('error', IommuCodes.NotANumber, `'${ref.ref.$refText}' is a device, not a number`, ref);
            return zero;
        }
        const name = (target as LetStatement | { name?: string }).name ?? ref.ref.$refText;
        const slot = scope.process.slots.get(target) ?? name;
        return compact<EngineExpr>({ kind: 'var', name: slot, loc: locationOf(ref) });
    }

    /** The device a device position names, after parameter substitution. */
    protected deviceName(reference: Reference<DeviceTarget>, node: AstNode, property: string, scope: Scope): string {
        const target = reference.ref;
        if (isParameter(target)) {
            const value = scope.env.get(target);
            if (value?.kind === 'device') {
                return value.device;
            }
            if (value?.kind === 'string') {
                return value.value;
            }
            if (value) {
                this.report('error', IommuCodes.NotADevice,
                    `'${reference.$refText}' stands for ${describeValue(value)} here, not a device`, node, property);
            }
            return reference.$refText;
        }
        return target?.name ?? reference.$refText;
    }

    protected report(severity: LoweringDiagnostic['severity'], code: IommuCode, message: string, node: AstNode, property?: string): void {
        this.diagnostics.push(compact<LoweringDiagnostic>({ severity, code, message, node, property }));
    }

    /** {@link report}, once per node, property and message (a statement in a loop or procedure lowers many times). */
    protected reportOnce(severity: LoweringDiagnostic['severity'], code: IommuCode, message: string, node: AstNode, property?: string): void {
        if (!this.diagnostics.some(d => d.node === node && d.property === property && d.message === message)) {
            this.report(severity, code, message, node, property);
        }
    }
}

/**
 * Counts the steps statements unroll to, without making them; stops early once past `limit`.
 * Loop bounds are evaluated as lowering evaluates them (numbers, constants, loop variables and
 * parameters bound to numbers); a loop whose body unrolls alike at its first and last value
 * is counted as iterations × body.
 */
class StepCounter {
    constructor(protected readonly limit: bigint) { }

    statements(statements: readonly Statement[], env: ReadonlyMap<AstNode, Value>, calls: readonly Procedure[]): bigint {
        let total = 0n;
        for (const statement of statements) {
            total += this.statement(statement, env, calls);
            if (total > this.limit) {
                break;
            }
        }
        return total;
    }

    statement(statement: Statement, env: ReadonlyMap<AstNode, Value>, calls: readonly Procedure[]): bigint {
        if (isForStatement(statement)) {
            const first = this.value(statement.first, env);
            const last = this.value(statement.last, env);
            if (first === undefined || last === undefined || last < first) {
                return 0n;
            }
            const at = (value: bigint) => this.statements(statement.body, withValue(env, statement, value), calls);
            const head = at(first);
            if (head === at(last)) {
                return (last - first + 1n) * head;
            }
            let total = head;
            for (let value = first + 1n; value <= last && total <= this.limit; value++) {
                total += at(value);
            }
            return total;
        }
        if (isRepeatStatement(statement)) {
            const count = this.value(statement.count, env);
            return count === undefined || count <= 0n ? 0n : count * this.statements(statement.body, env, calls);
        }
        if (isCallStatement(statement)) {
            const procedure = statement.procedure.ref;
            if (!procedure || calls.includes(procedure)) {
                return 0n;
            }
            const inner = new Map<AstNode, Value>();
            procedure.params.forEach((param, i) => {
                const arg = statement.args[i];
                const value = arg && !isStringLiteral(arg) && !isArrayLiteral(arg) ? this.value(arg, env) : undefined;
                if (value !== undefined) {
                    inner.set(param, { kind: 'expr', expr: { kind: 'int', value } });
                }
            });
            return this.statements(procedure.body, inner, [...calls, procedure]);
        }
        return isCapsStatement(statement) ? 0n : 1n;
    }

    /** The value of a bound, as far as it is known here. */
    protected value(expr: Expr, env: ReadonlyMap<AstNode, Value>): bigint | undefined {
        if (isNameRef(expr)) {
            const bound = expr.ref.ref && env.get(expr.ref.ref);
            return bound?.kind === 'expr' ? evaluateConstant(bound.expr) : staticValue(expr);
        }
        if (isBinaryExpr(expr)) {
            const left = this.value(expr.left, env);
            const right = this.value(expr.right, env);
            return left === undefined || right === undefined ? undefined : applyBinary(expr.op, left, right);
        }
        if (isUnaryExpr(expr)) {
            const operand = this.value(expr.operand, env);
            return operand === undefined ? undefined : expr.op === '-' ? -operand : ~operand;
        }
        return staticValue(expr);
    }
}

function withValue(env: ReadonlyMap<AstNode, Value>, node: AstNode, value: bigint): Map<AstNode, Value> {
    const next = new Map(env);
    next.set(node, { kind: 'expr', expr: { kind: 'int', value } });
    return next;
}

function describeValue(value: Value): string {
    switch (value.kind) {
        case 'expr': return 'a number';
        case 'string': return `the string "${value.value}"`;
        case 'device': return `the device '${value.device}'`;
        case 'array': return 'an array';
    }
}

/** `caps none` is the empty set. */
function capabilities(caps: readonly string[]): string[] {
    return caps.filter(cap => cap !== 'none');
}
