/**
 * The debug console's commands (also what hovers and watches evaluate): `translate DEV IOVA
 * [pasid P] [write]`, `groups`, `domain N`, `group N`, `pasids`, `fd N`, a binding or a device
 * name, `help`, and any expression of the condition language. Answers are text plus, where there
 * is more to see, an inspect node the session turns into expandable variables. Knows nothing of
 * the Debug Adapter Protocol.
 */

import { deviceNode, domainNode, describeOpenFile, groupNode, groupsNode, groupViability, deviceLabel, pasidsNode } from '../../engine/inspect/kernel-views.js';
import type { InspectNode } from '../../engine/inspect/tree.js';
import type { Device, KernelState } from '../../engine/state.js';
import { formatSize, hex } from '../../engine/u64.js';
import {
    CONDITION_FUNCTIONS, CONDITION_VARIABLES, ConditionError, evaluateConditionText, formatConditionValue, type ConditionContext,
} from './conditions.js';
import { translateDevice } from './memory.js';
import { describeBinding, processBindings } from './process-view.js';
import type { ScenarioTimeline, ThreadInfo } from './timeline.js';

/** What the console answers. */
export interface ConsoleAnswer {
    readonly text: string;
    /** More to expand (a group, a device, a domain). */
    readonly node?: InspectNode;
    readonly memoryReference?: string;
}

/** Where the console evaluates: the stop's cursor, the selected thread, the statement it stands at. */
export interface ConsoleScope {
    readonly timeline: ScenarioTimeline;
    readonly cursor: number;
    readonly thread?: ThreadInfo;
    /** For conditions: the context at the thread's current statement. */
    readonly context: ConditionContext;
}

/** Bare names the console evaluates as conditions. */
const CONSOLE_NAMES = new Set([...CONDITION_VARIABLES.map((v) => v.name), 'true', 'false', 'none']);

/** A console error the user should see as is. */
export class ConsoleError extends Error {}

/** What `help` prints: the commands, then the condition language's functions and variables. */
export const CONSOLE_HELP = [
    'Commands (evaluated at the current stop, for the selected thread):',
    '  translate DEV IOVA [pasid P] [write]   where the device\'s access lands (PA, page size) or why it faults',
    '  groups                                 the IOMMU groups, their devices and viability',
    '  group N | domain N                     one group, one domain (with its page table)',
    '  pasids                                 PASID tables per device and the global PASID space',
    '  fd N                                   what an fd of the thread\'s process refers to',
    '  NAME                                   a `let` binding of the thread\'s process, or a device',
    '  EXPRESSION                             a breakpoint condition, e.g. viable(nic0) && open(group)',
    'Condition functions:',
    ...CONDITION_FUNCTIONS.map((f) => `  ${f.signature.padEnd(30)} ${f.doc}`),
    'Condition variables:',
    ...CONDITION_VARIABLES.map((v) => `  ${v.name.padEnd(30)} ${v.doc}`),
].join('\n');

/**
 * Evaluates one console line. `hover` only answers names (bindings, devices), so that hovering
 * over other words shows nothing.
 */
export function evaluateConsole(expression: string, scope: ConsoleScope, mode: 'repl' | 'hover' | 'watch' = 'repl'): ConsoleAnswer {
    const text = expression.trim();
    const k = scope.context.kernel;
    if (text === '') {
        throw new ConsoleError('nothing to evaluate');
    }
    const named = nameAnswer(text, scope);
    if (named || mode === 'hover') {
        if (!named) {
            throw new ConsoleError(`'${text}' is not a binding or a device`);
        }
        return named;
    }
    const [command = '', ...rest] = text.split(/\s+/);
    switch (command) {
        case 'help':
        case '?':
            return { text: CONSOLE_HELP };
        case 'groups':
            return { text: describeGroups(k), node: groupsNode(k) };
        case 'pasids': {
            const node = pasidsNode(k);
            return { text: node.value, node };
        }
        case 'group':
        case 'domain':
            if (rest.length === 1 && /^\d+$/.test(rest[0]!)) {
                return objectAnswer(k, command, Number(rest[0]));
            }
            break;
        case 'fd':
            if (rest.length === 1 && /^\d+$/.test(rest[0]!)) {
                return fdAnswer(k, scope.thread, Number(rest[0]));
            }
            break;
        case 'translate':
            return translateAnswer(text, scope);
        default:
            break;
    }
    if (/^[A-Za-z_][\w.]*$/.test(text) && !CONSOLE_NAMES.has(text) && !scope.context.bindings?.has(text)) {
        // In a condition a bare name stands for itself (`errno == EBUSY`); alone it is a typo.
        throw new ConsoleError(`'${text}' is not a binding of ${scope.thread?.process ?? 'the selected thread'}, a device or a variable of the condition language`);
    }
    try {
        return { text: formatConditionValue(evaluateConditionText(text, scope.context)) };
    } catch (e) {
        if (e instanceof ConditionError) {
            throw new ConsoleError(`${e.message}${e.offset !== undefined ? ` (at column ${e.offset + 1})` : ''}; type help for the commands`);
        }
        throw e;
    }
}

function findDevice(k: KernelState, name: string): Device | undefined {
    const byName = k.devices.get(name);
    if (byName) {
        return byName;
    }
    const key = k.devicesByDevName.get(name);
    return key === undefined ? undefined : k.devices.get(key);
}

/** A binding of the thread's process, or a device. */
function nameAnswer(text: string, scope: ConsoleScope): ConsoleAnswer | undefined {
    // Names, and PCI addresses (`0000:02:00.0`) for devices.
    if (!/^[A-Za-z_][\w.-]*$/.test(text) && !/^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/.test(text)) {
        return undefined;
    }
    const k = scope.context.kernel;
    if (scope.thread) {
        const state = scope.timeline.stateAt(scope.cursor);
        const b = processBindings(state.env.get(scope.thread.process)).find((x) => x.name === text);
        if (b) {
            const step = scope.timeline.step(b.step);
            const memoryReference = step.op === 'mmap' && b.value >= 0n ? `proc:${scope.thread.process}@${hex(b.value)}` : undefined;
            return { text: describeBinding(k, scope.thread.process, b, step), memoryReference };
        }
    }
    const dev = findDevice(k, text);
    if (dev) {
        const node = deviceNode(k, dev);
        return { text: `${deviceLabel(dev)}: ${dev.driver ?? 'no driver'}${dev.group !== undefined ? `, group ${dev.group}` : ''}`, node, memoryReference: node.memoryReference };
    }
    return undefined;
}

function objectAnswer(k: KernelState, kind: 'group' | 'domain', id: number): ConsoleAnswer {
    if (kind === 'group') {
        const g = k.groups.get(id);
        if (!g) {
            throw new ConsoleError(`no IOMMU group ${id}; there are ${[...k.groups.keys()].sort((a, b) => a - b).join(', ') || 'none'}`);
        }
        const node = groupNode(k, g);
        return { text: `${node.name}: ${node.value}`, node };
    }
    const d = k.domains.get(id);
    if (!d) {
        throw new ConsoleError(`no domain ${id} at this point; there are ${[...k.domains.keys()].sort((a, b) => a - b).join(', ') || 'none'}`);
    }
    const node = domainNode(k, d);
    return { text: `${node.name}: ${node.value}`, node, memoryReference: `domain:${d.id}` };
}

function fdAnswer(k: KernelState, thread: ThreadInfo | undefined, fd: number): ConsoleAnswer {
    const proc = thread ? k.processes.get(thread.process) : undefined;
    if (!proc) {
        throw new ConsoleError('select a thread (process) first');
    }
    const id = proc.fds.get(fd);
    const file = id === undefined ? undefined : k.files.get(id);
    if (!file) {
        throw new ConsoleError(`fd ${fd} is not open in ${proc.name}`);
    }
    return { text: `fd ${fd} → ${describeOpenFile(k, file)}` };
}

function translateAnswer(text: string, scope: ConsoleScope): ConsoleAnswer {
    const m = /^translate\s+(\S+)\s+(.+?)(?:\s+pasid\s+(.+?))?(?:\s+(read|write))?\s*$/.exec(text);
    if (!m) {
        throw new ConsoleError('usage: translate DEV IOVA [pasid P] [write]');
    }
    const k = scope.context.kernel;
    const dev = findDevice(k, m[1]!);
    if (!dev) {
        throw new ConsoleError(`no device ${m[1]} at this point`);
    }
    const number = (expr: string, what: string): bigint => {
        let v;
        try {
            v = evaluateConditionText(expr, scope.context);
        } catch (e) {
            throw new ConsoleError(`${what}: ${(e as Error).message}`);
        }
        if (typeof v !== 'bigint') {
            throw new ConsoleError(`${what} must be a number, not ${formatConditionValue(v)}`);
        }
        return v;
    };
    const iova = number(m[2]!, 'IOVA');
    const pasid = m[3] === undefined ? undefined : number(m[3], 'PASID');
    const dir = m[4] === 'write' ? 'write' : 'read';
    const t = translateDevice(k, dev.name, iova, { pasid, dir });
    const what = `${dev.name} ${dir} ${hex(iova)}${pasid !== undefined ? ` pasid ${pasid}` : ''}`;
    if (!t.ok) {
        return { text: `${what}: fault: ${t.reason}` };
    }
    const page = t.domain !== undefined ? `${formatSize(t.pageSize)} page, domain ${t.domain}` : 'not translated: no IOMMU domain in the way';
    return { text: `${what} → PA ${hex(t.pa)} (${page})`, memoryReference: `dev:${dev.name}@${hex(iova)}` };
}

function describeGroups(k: KernelState): string {
    const groups = [...k.groups.values()].sort((a, b) => a.id - b.id);
    if (groups.length === 0) {
        return 'no IOMMU groups';
    }
    return groups.map((g) => {
        const v = groupViability(k, g);
        const devs = g.devices.map((n) => {
            const d = k.devices.get(n);
            return d ? `${deviceLabel(d)} [${d.driver ?? 'no driver'}]` : n;
        }).join(', ');
        return `group ${g.id}: ${devs} — ${v.viable ? 'viable' : `not viable: ${v.why}`}`;
    }).join('\n');
}
