/**
 * The breakpoint condition language: small boolean expressions over the kernel state at a
 * statement, the thread's process and the statement's result. Also what the debug console
 * evaluates. Knows nothing of the Debug Adapter Protocol.
 *
 * ```
 * viable(nic0)                      group(nic0) == 2          driver(nic0) == "vfio-pci"
 * !viable(nic0) && open(group)      mapped(nic0, 0x1000)      mapped(dsa0, 0x1000, 1)
 * errno == EBUSY                    result == fault           pa(nic0, ram + 4K) > 0x1000_0000
 * (errno == EBUSY || errno == EINVAL) && process == qemu
 * ```
 *
 * Values are numbers (`4096`, `0x1000`, `4K`, `2M`, `0x4000_0000`), strings (`"vfio-pci"`),
 * booleans and `none`. A bare name is a `let` binding of the thread's process (a number) when
 * there is one, one of the variables below, or else stands for itself (`EBUSY`, `fault`, `nic0`).
 * Operators: `!`, `&&`, `||`, `==`, `!=`, `<`, `<=`, `>`, `>=`, `+`, `-`, `*`, `/`, `%`, parentheses.
 */

import { groupViability } from '../../engine/inspect/kernel-views.js';
import type { KernelState } from '../../engine/state.js';
import { hex } from '../../engine/u64.js';
import { translateDevice } from './memory.js';

/** A value of the condition language. */
export type ConditionValue = bigint | string | boolean | null;

/** What a condition is evaluated against. */
export interface ConditionContext {
    readonly kernel: KernelState;
    /** The thread's process. */
    readonly process?: string;
    /** The process's `let` bindings by the names the user wrote (latest binding of a name). */
    readonly bindings?: ReadonlyMap<string, bigint>;
    /** The result of the statement the condition is checked at (`errno`, `result`). */
    readonly result?: { readonly outcome: string; readonly errno?: string };
}

/** A syntax or evaluation error, with the offset in the text where it was found. */
export class ConditionError extends Error {
    constructor(message: string, readonly offset?: number) {
        super(message);
        this.name = 'ConditionError';
    }
}

type Expr =
    | { readonly kind: 'literal'; readonly value: ConditionValue }
    | { readonly kind: 'name'; readonly name: string; readonly offset: number }
    | { readonly kind: 'call'; readonly fn: string; readonly args: readonly Expr[]; readonly offset: number }
    | { readonly kind: 'not'; readonly operand: Expr }
    | { readonly kind: 'binary'; readonly op: string; readonly left: Expr; readonly right: Expr; readonly offset: number };

/** A parsed condition, ready to evaluate many times. */
export interface Condition {
    readonly text: string;
    readonly expr: Expr;
}

/** The functions of the language, for `help` and error messages. */
export const CONDITION_FUNCTIONS: ReadonlyArray<{ readonly signature: string; readonly doc: string }> = [
    { signature: 'viable(dev)', doc: "the device's IOMMU group is viable for VFIO (no kernel driver in it does DMA)" },
    { signature: 'group(dev)', doc: "the device's IOMMU group id, or none" },
    { signature: 'driver(dev)', doc: 'the driver bound to the device ("vfio-pci"), or none' },
    { signature: 'domain(dev)', doc: "the id of the domain the device's group is attached to, or none" },
    { signature: 'exists(dev)', doc: 'the device exists (VFs and mdevs appear at run time)' },
    { signature: 'open(name)', doc: "the `let` binding `name` of the thread's process is an open fd" },
    { signature: 'mapped(dev, iova [, pasid])', doc: 'a read of that IOVA by the device translates (no IOMMU fault)' },
    { signature: 'pa(dev, iova [, pasid])', doc: 'the physical address the IOVA translates to, or none' },
];

/** The variables of the language. */
export const CONDITION_VARIABLES: ReadonlyArray<{ readonly name: string; readonly doc: string }> = [
    { name: 'errno', doc: "the errno the statement returns (EBUSY...), or none" },
    { name: 'result', doc: 'ok, an errno name, fault, blocked or invalid' },
    { name: 'process', doc: "the thread's process name" },
];

// ---------------------------------------------------------------------------------------------
// Parsing

type Token = { readonly kind: 'num' | 'str' | 'id' | 'op' | 'end'; readonly text: string; readonly offset: number; readonly value?: ConditionValue };

const SIZE_SUFFIX: Record<string, bigint> = { K: 1n << 10n, M: 1n << 20n, G: 1n << 30n, T: 1n << 40n };

function tokenize(text: string): Token[] {
    const out: Token[] = [];
    let i = 0;
    while (i < text.length) {
        const c = text[i]!;
        if (/\s/.test(c)) {
            i++;
            continue;
        }
        const rest = text.slice(i);
        let m: RegExpExecArray | null;
        if ((m = /^(0x[0-9a-fA-F_]+|\d[\d_]*)(KiB|MiB|GiB|TiB|K|M|G|T)?(?![A-Za-z0-9_])/.exec(rest))) {
            let v = BigInt(m[1]!.replace(/_/g, ''));
            if (m[2]) {
                v *= SIZE_SUFFIX[m[2][0]!]!;
            }
            out.push({ kind: 'num', text: m[0], offset: i, value: v });
            i += m[0].length;
        } else if ((m = /^"((?:[^"\\]|\\.)*)"/.exec(rest))) {
            out.push({ kind: 'str', text: m[0], offset: i, value: m[1]!.replace(/\\(.)/g, '$1') });
            i += m[0].length;
        } else if ((m = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*/.exec(rest))) {
            out.push({ kind: 'id', text: m[0], offset: i });
            i += m[0].length;
        } else if ((m = /^(&&|\|\||==|!=|<=|>=|[!<>()+,*/%-])/.exec(rest))) {
            out.push({ kind: 'op', text: m[0], offset: i });
            i += m[0].length;
        } else {
            throw new ConditionError(`unexpected '${c}'`, i);
        }
    }
    out.push({ kind: 'end', text: '', offset: text.length });
    return out;
}

/** Parses a condition; throws a {@link ConditionError} naming what is wrong and where. */
export function parseCondition(text: string): Condition {
    const tokens = tokenize(text);
    let pos = 0;
    const peek = () => tokens[pos]!;
    const take = () => tokens[pos++]!;
    const expectOp = (op: string) => {
        const t = take();
        if (t.kind !== 'op' || t.text !== op) {
            throw new ConditionError(`expected '${op}'${t.kind === 'end' ? ' at the end' : ` but found '${t.text}'`}`, t.offset);
        }
    };
    const isOp = (...ops: string[]) => peek().kind === 'op' && ops.includes(peek().text);

    const or = (): Expr => {
        let left = and();
        while (isOp('||')) {
            const t = take();
            left = { kind: 'binary', op: '||', left, right: and(), offset: t.offset };
        }
        return left;
    };
    const and = (): Expr => {
        let left = unary();
        while (isOp('&&')) {
            const t = take();
            left = { kind: 'binary', op: '&&', left, right: unary(), offset: t.offset };
        }
        return left;
    };
    const unary = (): Expr => {
        if (isOp('!')) {
            take();
            return { kind: 'not', operand: unary() };
        }
        return comparison();
    };
    const comparison = (): Expr => {
        const left = additive();
        if (isOp('==', '!=', '<', '<=', '>', '>=')) {
            const t = take();
            return { kind: 'binary', op: t.text, left, right: additive(), offset: t.offset };
        }
        return left;
    };
    const additive = (): Expr => {
        let left = multiplicative();
        while (isOp('+', '-')) {
            const t = take();
            left = { kind: 'binary', op: t.text, left, right: multiplicative(), offset: t.offset };
        }
        return left;
    };
    const multiplicative = (): Expr => {
        let left = primary();
        while (isOp('*', '/', '%')) {
            const t = take();
            left = { kind: 'binary', op: t.text, left, right: primary(), offset: t.offset };
        }
        return left;
    };
    const primary = (): Expr => {
        const t = take();
        switch (t.kind) {
            case 'num':
            case 'str':
                return { kind: 'literal', value: t.value! };
            case 'id': {
                if (isOp('(')) {
                    take();
                    const args: Expr[] = [];
                    if (!isOp(')')) {
                        args.push(or());
                        while (isOp(',')) {
                            take();
                            args.push(or());
                        }
                    }
                    expectOp(')');
                    return { kind: 'call', fn: t.text, args, offset: t.offset };
                }
                if (t.text === 'true' || t.text === 'false') {
                    return { kind: 'literal', value: t.text === 'true' };
                }
                if (t.text === 'none') {
                    return { kind: 'literal', value: null };
                }
                return { kind: 'name', name: t.text, offset: t.offset };
            }
            case 'op':
                if (t.text === '(') {
                    const e = or();
                    expectOp(')');
                    return e;
                }
                if (t.text === '-') {
                    return { kind: 'binary', op: '-', left: { kind: 'literal', value: 0n }, right: primary(), offset: t.offset };
                }
                throw new ConditionError(`unexpected '${t.text}'`, t.offset);
            case 'end':
                throw new ConditionError('the condition ends too early', t.offset);
        }
    };
    if (peek().kind === 'end') {
        throw new ConditionError('the condition is empty', 0);
    }
    const expr = or();
    if (peek().kind !== 'end') {
        throw new ConditionError(`unexpected '${peek().text}'`, peek().offset);
    }
    return { text, expr };
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/** Truthiness: `false`, `none`, `0` and `""` are false. */
export function isTruthy(v: ConditionValue): boolean {
    return v !== null && v !== false && v !== 0n && v !== '';
}

/** Evaluates a parsed condition; throws a {@link ConditionError} for type errors. */
export function evaluateCondition(condition: Condition, ctx: ConditionContext): ConditionValue {
    return evaluate(condition.expr, ctx);
}

/** Parses and evaluates `text` in one go (the debug console). */
export function evaluateConditionText(text: string, ctx: ConditionContext): ConditionValue {
    return evaluateCondition(parseCondition(text), ctx);
}

/** Shows a value as the console prints it. */
export function formatConditionValue(v: ConditionValue): string {
    if (v === null) {
        return 'none';
    }
    if (typeof v === 'bigint') {
        // Ids and counts read best in decimal, addresses in hex.
        return v >= 0n && v <= 0xffffn ? `${v}` : hex(v);
    }
    return typeof v === 'string' ? JSON.stringify(v) : `${v}`;
}

function evaluate(e: Expr, ctx: ConditionContext): ConditionValue {
    switch (e.kind) {
        case 'literal':
            return e.value;
        case 'name':
            return nameValue(e.name, ctx);
        case 'not':
            return !isTruthy(evaluate(e.operand, ctx));
        case 'call':
            return call(e, ctx);
        case 'binary': {
            if (e.op === '&&') {
                return isTruthy(evaluate(e.left, ctx)) && isTruthy(evaluate(e.right, ctx));
            }
            if (e.op === '||') {
                return isTruthy(evaluate(e.left, ctx)) || isTruthy(evaluate(e.right, ctx));
            }
            const a = evaluate(e.left, ctx);
            const b = evaluate(e.right, ctx);
            switch (e.op) {
                case '==':
                    return a === b;
                case '!=':
                    return a !== b;
                default: {
                    if (typeof a !== 'bigint' || typeof b !== 'bigint') {
                        throw new ConditionError(`'${e.op}' needs two numbers, not ${formatConditionValue(a)} and ${formatConditionValue(b)}`, e.offset);
                    }
                    switch (e.op) {
                        case '+': return a + b;
                        case '-': return a - b;
                        case '*': return a * b;
                        case '/':
                        case '%':
                            if (b === 0n) {
                                throw new ConditionError('division by zero', e.offset);
                            }
                            return e.op === '/' ? a / b : a % b;
                        case '<': return a < b;
                        case '<=': return a <= b;
                        case '>': return a > b;
                        default: return a >= b;
                    }
                }
            }
        }
    }
}

function nameValue(name: string, ctx: ConditionContext): ConditionValue {
    const bound = ctx.bindings?.get(name);
    if (bound !== undefined) {
        return bound;
    }
    switch (name) {
        case 'errno':
            return ctx.result?.errno ?? null;
        case 'result':
            return ctx.result ? ctx.result.errno ?? ctx.result.outcome : null;
        case 'process':
            return ctx.process ?? null;
        default:
            // Errno names, `fault`, device names... stand for themselves.
            return name;
    }
}

/** A device argument: a bare name or a string names the device. */
function deviceArg(e: Expr | undefined, fn: string, ctx: ConditionContext): string {
    if (e?.kind === 'name') {
        return e.name;
    }
    const v = e ? evaluate(e, ctx) : undefined;
    if (typeof v !== 'string') {
        throw new ConditionError(`${fn}() takes a device name first`);
    }
    return v;
}

function numberArg(e: Expr | undefined, fn: string, what: string, ctx: ConditionContext): bigint {
    const v = e ? evaluate(e, ctx) : undefined;
    if (typeof v !== 'bigint') {
        throw new ConditionError(`${fn}() needs a number for ${what}${e?.kind === 'name' ? ` ('${e.name}' is not a binding of ${ctx.process ?? 'this process'})` : ''}`);
    }
    return v;
}

function call(e: Extract<Expr, { kind: 'call' }>, ctx: ConditionContext): ConditionValue {
    const k = ctx.kernel;
    const arity = (min: number, max = min) => {
        if (e.args.length < min || e.args.length > max) {
            const sig = CONDITION_FUNCTIONS.find((f) => f.signature.startsWith(`${e.fn}(`))!.signature;
            throw new ConditionError(`${sig} takes ${min === max ? min : `${min} or ${max}`} argument${max === 1 ? '' : 's'}`, e.offset);
        }
    };
    switch (e.fn) {
        case 'viable': {
            arity(1);
            const d = k.devices.get(deviceArg(e.args[0], e.fn, ctx));
            const g = d?.group === undefined ? undefined : k.groups.get(d.group);
            return g ? groupViability(k, g).viable : false;
        }
        case 'group': {
            arity(1);
            const d = k.devices.get(deviceArg(e.args[0], e.fn, ctx));
            return d?.group === undefined ? null : BigInt(d.group);
        }
        case 'driver': {
            arity(1);
            return k.devices.get(deviceArg(e.args[0], e.fn, ctx))?.driver ?? null;
        }
        case 'domain': {
            arity(1);
            const d = k.devices.get(deviceArg(e.args[0], e.fn, ctx));
            const g = d?.group === undefined ? undefined : k.groups.get(d.group);
            return g && g.domain >= 0 ? BigInt(g.domain) : null;
        }
        case 'exists':
            arity(1);
            return k.devices.has(deviceArg(e.args[0], e.fn, ctx));
        case 'open': {
            arity(1);
            const arg = e.args[0]!;
            if (arg.kind !== 'name') {
                throw new ConditionError('open() takes the name of a `let` binding', e.offset);
            }
            const fd = ctx.bindings?.get(arg.name);
            const proc = ctx.process === undefined ? undefined : k.processes.get(ctx.process);
            return fd !== undefined && proc !== undefined && !proc.exited && proc.fds.has(Number(fd));
        }
        case 'mapped':
        case 'pa': {
            arity(2, 3);
            const device = deviceArg(e.args[0], e.fn, ctx);
            const iova = numberArg(e.args[1], e.fn, 'the IOVA', ctx);
            const pasid = e.args[2] ? numberArg(e.args[2], e.fn, 'the PASID', ctx) : undefined;
            const t = translateDevice(k, device, iova, { pasid });
            return e.fn === 'mapped' ? t.ok : t.ok ? t.pa : null;
        }
        default:
            throw new ConditionError(`unknown function ${e.fn}(); there are ${CONDITION_FUNCTIONS.map((f) => f.signature.slice(0, f.signature.indexOf('('))).join(', ')}`, e.offset);
    }
}
