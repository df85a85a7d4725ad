/**
 * In-order traversal of the entries covering an IOVA range (`for_each_pt_level_entry` with
 * `pt_descend`): yields runs of consecutive non-table slots of one table page, in IOVA order, and
 * descends into tables between them. Consumers loop over the slots of each run themselves, so a
 * full-table pass costs one generator step per run, not per entry.
 */

import { DIV, ENTRIES_PER_TABLE } from './bits.js';
import { ENTRY_TABLE } from './format.js';
import { tableOfPfn, topSlots } from './pt-context.js';
import type { PtContext, PtVersion } from './pt-context.js';
import type { ReadonlyPage } from './table-store.js';

/** Consecutive non-table slots `[first, last]` of one table page. */
export interface SlotRun {
    readonly table: number;
    readonly level: number;
    readonly page: ReadonlyPage;
    /** IOVA frame of slot 0 of this page. */
    readonly base: number;
    readonly first: number;
    readonly last: number;
}

function* walkTable(
    ctx: PtContext,
    read: (t: number) => ReadonlyPage | undefined,
    t: number,
    level: number,
    slots: number,
    base: number,
    start: number,
    last: number,
): Generator<SlotRun> {
    const page = read(t);
    if (page === undefined) {
        return;
    }
    const { fmt } = ctx;
    const div = DIV[level];
    const first = Math.max(0, Math.floor((start - base) / div));
    const end = Math.min(slots - 1, Math.floor((last - base) / div));
    let runStart = first;
    for (let i = first; i <= end; i++) {
        const lo = page[2 * i];
        const hi = page[2 * i + 1];
        if (fmt.kind(lo, hi, level) !== ENTRY_TABLE) {
            continue;
        }
        if (runStart < i) {
            yield { table: t, level, page, base, first: runStart, last: i - 1 };
        }
        const entryBase = base + i * div;
        const child = tableOfPfn(ctx, fmt.tablePfn(lo, hi));
        yield* walkTable(ctx, read, child, level - 1, ENTRIES_PER_TABLE, entryBase, Math.max(start, entryBase), Math.min(last, entryBase + div - 1));
        runStart = i + 1;
    }
    if (runStart <= end) {
        yield { table: t, level, page, base, first: runStart, last: end };
    }
}

/** Runs of non-table slots covering frames `[start, last]`, in IOVA order. */
export function* slotRuns(
    ctx: PtContext,
    version: PtVersion,
    read: (t: number) => ReadonlyPage | undefined,
    start: number,
    last: number,
): Generator<SlotRun> {
    const top = version.top;
    const slots = topSlots(ctx, top);
    const perPage = Math.min(ENTRIES_PER_TABLE, slots);
    const pageSpan = DIV[top] * perPage;
    const pages = Math.max(1, slots / ENTRIES_PER_TABLE);
    for (let p = 0; p < pages; p++) {
        const base = p * pageSpan;
        if (base > last || base + pageSpan - 1 < start) {
            continue;
        }
        yield* walkTable(ctx, read, version.root + p, top, perPage, base, Math.max(start, base), Math.min(last, base + pageSpan - 1));
    }
}
