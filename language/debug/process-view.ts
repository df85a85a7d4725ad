/**
 * What the debugger shows of a thread: its process's `let` bindings (with what an fd refers to),
 * loop variables, fds and memory; and the result of a statement (errno, reason, kernel source,
 * out-values, DMA segments, whether it met its `expect`). Built from the run's snapshots and the
 * engine's inspect views. Knows nothing of the Debug Adapter Protocol.
 */

import { formatSource } from '../../engine/errno.js';
import { describeOpenFile, processNode } from '../../engine/inspect/kernel-views.js';
import { branch, leaf, type InspectNode } from '../../engine/inspect/tree.js';
import type { VarBinding } from '../../engine/runner.js';
import { opName } from '../../engine/runner.js';
import type { KernelState } from '../../engine/state.js';
import type { DmaFault, DmaSegment, Step } from '../../engine/step.js';
import { formatSize, hex } from '../../engine/u64.js';
import type { ScenarioTimeline, ThreadInfo } from './timeline.js';

/** A `let` binding as the user wrote it. */
export interface ProcessBinding {
    /** The name in the text (`group`), not the lowered slot (`group#2`). */
    readonly name: string;
    readonly value: bigint;
    readonly display?: string;
    /** The step that bound it. */
    readonly step: number;
}

/** The visible bindings of an environment: for each written name, its latest binding. */
export function processBindings(env: ReadonlyMap<string, VarBinding> | undefined): ProcessBinding[] {
    const byName = new Map<string, ProcessBinding>();
    for (const [slot, b] of env ?? []) {
        // Lowering gives the n-th `let` of a name the slot `name#n`.
        const name = slot.replace(/#\d+$/, '');
        const prev = byName.get(name);
        if (!prev || prev.step <= b.step) {
            byName.set(name, { name, value: b.value, display: b.display, step: b.step });
        }
    }
    return [...byName.values()].sort((a, b) => a.step - b.step);
}

/** Binding values by name, for conditions. */
export function bindingValues(env: ReadonlyMap<string, VarBinding> | undefined): Map<string, bigint> {
    return new Map(processBindings(env).map((b) => [b.name, b.value]));
}

/** Ioctls whose main value is a new fd. */
const FD_IOCTLS = new Set(['VFIO_GROUP_GET_DEVICE_FD', 'KVM_CREATE_VM', 'KVM_CREATE_DEVICE']);

/** Whether a binding made by `step` holds an fd. */
export function bindsFd(step: Step): boolean {
    return step.op === 'open' || step.op === 'memfd' || step.op === 'send' || (step.op === 'ioctl' && FD_IOCTLS.has(step.ioctl));
}

/** Small numbers (ids, counts) in decimal, addresses in hex. */
export function formatNumber(v: bigint): string {
    return v >= 0n && v <= 0xffffn ? `${v}` : hex(v);
}

/** A binding's value in words: what an fd refers to now, or the number. */
export function describeBinding(k: KernelState, process: string, b: ProcessBinding, step: Step): string {
    if (bindsFd(step) && b.value >= 0n) {
        const proc = k.processes.get(process);
        const fileId = proc?.fds.get(Number(b.value));
        const file = fileId === undefined ? undefined : k.files.get(fileId);
        return file ? `fd ${b.value} → ${describeOpenFile(k, file)}` : `fd ${b.value} (closed)`;
    }
    return b.display ?? formatNumber(b.value);
}

/**
 * The Process scope of a thread at a cursor: its bindings, the loop variables of the statement it
 * stands at, then what the kernel keeps for the process (pid, credentials, locked_vm, PASID, fds,
 * memory mappings).
 */
export function processScopeNode(timeline: ScenarioTimeline, cursor: number, thread: ThreadInfo): InspectNode {
    const state = timeline.stateAt(cursor);
    const k = state.kernel;
    const proc = k.processes.get(thread.process);
    const bindings = processBindings(state.env.get(thread.process));
    const pos = timeline.position(thread, cursor);
    const iteration = pos.state === 'finished' ? undefined : timeline.step(pos.step).iteration;
    return branch(`Process ${thread.process}`, proc ? (proc.exited ? 'exited' : `pid ${proc.pid}`) : 'not created yet', () => [
        ...bindings.map((b): InspectNode => {
            const step = timeline.step(b.step);
            const node = leaf(b.name, describeBinding(k, thread.process, b, step), bindsFd(step) ? 'fd' : 'binding');
            // An mmap binding is an address in the process: its memory can be read.
            return step.op === 'mmap' && b.value >= 0n ? { ...node, memoryReference: `proc:${thread.process}@${hex(b.value)}` } : node;
        }),
        ...Object.entries(iteration ?? {}).map(([name, v]) => leaf(`${name} (loop)`, formatNumber(v), 'loop')),
        ...(proc ? processNode(k, proc).children!() : []),
    ], 'process');
}

/**
 * A statement's result at a tick (`where` says which statement, as the user reads it): the
 * outcome, errno with reason and kernel source, return and out-values, DMA segments or fault,
 * and whether the statement met its `expect`.
 */
export function resultNode(timeline: ScenarioTimeline, tick: number, name: string, where: string): InspectNode | undefined {
    const t = timeline.tick(tick);
    if (!t) {
        return undefined;
    }
    const step = timeline.step(t.step);
    const o = t.outcome;
    const result = o.outcome === 'errno' ? o.errno! : o.outcome;
    const summary = o.outcome === 'ok'
        ? `ok${o.ret !== undefined ? ` (${formatNumber(o.ret)})` : ''}`
        : o.outcome === 'blocked' ? `blocked: ${o.waitingFor}` : `${result}: ${o.reason ?? ''}`;
    const final = timeline.result(t.step);
    const expectation = final && final.tick === tick ? final.expectation : undefined;
    return branch(name, summary, () => [
        leaf('statement', `${opName(step)} (${where})`),
        leaf('result', result),
        ...(t.kind === 'resume' ? [leaf('completes', 'the call that was blocked')] : []),
        ...(o.errno ? [leaf('errno', o.errno)] : []),
        ...(o.reason ? [leaf('reason', o.reason)] : []),
        ...(o.waitingFor ? [leaf('waiting for', o.waitingFor)] : []),
        ...(o.source ? [leaf('kernel source', formatSource(o.source))] : []),
        ...(o.ret !== undefined ? [leaf('return value', formatNumber(o.ret))] : []),
        ...(Object.keys(o.values).length > 0 ? [branch('values', Object.keys(o.values).join(', '), () => Object.entries(o.values).map(([n, v]) => leaf(n, v.display ?? formatNumber(v.value))), 'values')] : []),
        ...(o.dma ? [dmaNode(o.dma)] : []),
        ...(expectation ? [leaf('expectation', expectation.matched ? 'met' : `not met: ${expectation.message ?? ''}`)] : []),
    ], 'result');
}

function dmaNode(dma: { readonly segments: readonly DmaSegment[]; readonly fault?: DmaFault }): InspectNode {
    const segs = dma.segments;
    const segmentNode = (s: DmaSegment) => leaf(
        `${hex(s.iova)}-${hex(s.iova + s.length - 1n)}`,
        `PA ${hex(s.pa)}, ${formatSize(s.length)}${s.domain !== undefined ? ` in ${formatSize(s.pageSize)} pages of domain ${s.domain}` : ' (not translated)'}${s.pasid !== undefined ? `, PASID ${s.pasid}` : ''}`,
        'segment',
    );
    return branch('dma', `${segs.length} segment${segs.length === 1 ? '' : 's'}${dma.fault ? ', then a fault' : ''}`, () => [
        ...(segs.length > 100
            ? [{ name: 'segments', value: `${segs.length}`, indexed: { count: segs.length, get: (start: number, count: number) => segs.slice(start, start + count).map(segmentNode) } } satisfies InspectNode]
            : segs.map(segmentNode)),
        ...(dma.fault ? [branch('fault', dma.fault.reason, () => [
            leaf('reason', dma.fault!.reason),
            leaf('message', dma.fault!.message),
            leaf('iova', hex(dma.fault!.iova)),
            ...(dma.fault!.domain !== undefined ? [leaf('domain', `${dma.fault!.domain}`)] : []),
            ...(dma.fault!.level !== undefined ? [leaf('level', `${dma.fault!.level}`)] : []),
            ...(dma.fault!.pasid !== undefined ? [leaf('pasid', `${dma.fault!.pasid}`)] : []),
        ], 'fault')] : []),
    ], 'dma');
}
