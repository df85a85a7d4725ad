/**
 * Words for the engine's predictions, shared by inlay hints and hovers: the short form of a
 * result (`ok fd=3`, `EPERM`, `pa 0x3ffffe000`), where a repeated statement's run happened
 * (`i = 2`, `in setup called on line 30`), and a summary of many runs (`15 ok, 1 EINVAL`).
 * Everything here formats engine results; nothing decides a result.
 */

import { findIoctl } from '../../engine/uapi/index.js';
import type { OutValue, Step, StepResult } from '../../engine/step.js';
import { formatSource } from '../../engine/errno.js';
import { hex } from '../../engine/u64.js';

/** Out-values that are the main value of statements other than ioctls. */
const MAIN_VALUE: Readonly<Record<string, string>> = {
    open: 'fd', memfd: 'fd', mmap: 'addr', dma: 'pa', 'sva-bind': 'pasid', fork: 'pid', send: 'fd',
};

/** The name of the out-value a step's `let` would bind, or that best says what it did. */
export function mainValueName(step: Step): string | undefined {
    if (step.op === 'ioctl') {
        const def = findIoctl(step.ioctl);
        if (!def?.main) {
            return undefined;
        }
        return def.main === 'ret' ? def.retName ?? 'ret' : def.main;
    }
    return MAIN_VALUE[step.op];
}

/** An out-value as a short word: fds and small numbers in decimal, addresses in hex, flags by name. */
export function shortValue(name: string, value: OutValue): string {
    if (name === 'fd' || name === 'pid') {
        return `${value.value}`;
    }
    return value.display ?? (value.value < 0n || value.value > 9n ? hex(value.value) : `${value.value}`);
}

/** The outcome as one word: `ok`, the errno name, `fault`, `blocked`, `not run`, `invalid`. */
export function outcomeWord(result: StepResult): string {
    switch (result.outcome) {
        case 'errno':
            return result.errno ?? 'errno';
        case 'not-run':
            return 'not run';
        default:
            return result.outcome;
    }
}

/** `ok fd=3`, `ok flags=VIABLE`, `pa 0x3ffffe000`, `EPERM`, `fault`, `blocked`. */
export function shortResult(step: Step, result: StepResult): string {
    if (result.outcome !== 'ok') {
        return outcomeWord(result);
    }
    const name = mainValueName(step);
    const value = name === undefined ? undefined : result.values[name];
    if (name === undefined || value === undefined) {
        return 'ok';
    }
    if (step.op === 'dma') {
        return `pa ${shortValue(name, value)}`;
    }
    return `ok ${name}=${shortValue(name, value)}`;
}

/** Where a run of a repeated statement happened: loop variables and the calling line. */
export function runContext(step: Step): string {
    const parts: string[] = [];
    if (step.iteration) {
        const vars = Object.entries(step.iteration).map(([k, v]) => `${k} = ${v}`);
        if (vars.length > 0) {
            parts.push(vars.join(', '));
        }
    }
    const frame = step.frames?.[step.frames.length - 1];
    if (frame) {
        parts.push(`in ${frame.procedure}${frame.callLoc ? ` called on line ${frame.callLoc.start.line + 1}` : ''}`);
    }
    return parts.join('; ');
}

/** `3 × EBADF`, `15 ok, 1 EINVAL` (`ok` for one run): how many runs had each outcome, most frequent first. */
export function summarizeOutcomes(results: readonly StepResult[]): string {
    const counts = new Map<string, number>();
    for (const r of results) {
        const word = outcomeWord(r);
        counts.set(word, (counts.get(word) ?? 0) + 1);
    }
    const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1]);
    if (results.length === 1) {
        return sorted[0]![0];
    }
    if (sorted.length === 1) {
        return `${sorted[0]![1]} × ${sorted[0]![0]}`;
    }
    return sorted.map(([word, n]) => `${n} ${word}`).join(', ');
}

/** `EPERM: why (drivers/vfio/group.c:func)`, `fault: why`, or `ok`. */
export function resultSentence(result: StepResult): string {
    const why = result.reason ? `: ${result.reason}` : '';
    const where = result.source ? ` (${formatSource(result.source)})` : '';
    return `${outcomeWord(result)}${why}${where}`;
}
