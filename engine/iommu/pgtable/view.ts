/**
 * Debugger views of a table: table pages and their decoded entries, and the list of leaves.
 */

import { DIV, ENTRIES_PER_TABLE, PAGE_SHIFT, rawEntry } from './bits.js';
import { ENTRY_EMPTY, ENTRY_LEAF, ENTRY_TABLE } from './format.js';
import { slotRuns } from './iterate.js';
import { lastTranslatablePfn, topSlots } from './pt-context.js';
import type { PtContext, PtVersion } from './pt-context.js';
import { metaLevel, metaSpanIndex, storeMeta } from './table-store.js';
import type { PageTableEntryView, PageTableView, Prot } from './types.js';

/** One leaf as `IoPageTable.leaves` yields it. */
export interface LeafInfo {
    readonly iova: bigint;
    readonly size: bigint;
    readonly pa: number;
    readonly prot: Prot;
    readonly dirty: boolean;
}

function pageOf(version: PtVersion, t: number): { readonly [w: number]: number } | undefined {
    return version.store.pages.get(t);
}

function countPresent(ctx: PtContext, version: PtVersion, t: number, level: number, slots: number): number {
    const page = pageOf(version, t);
    if (page === undefined) {
        return 0;
    }
    let n = 0;
    for (let i = 0; i < slots; i++) {
        if (ctx.fmt.kind(page[2 * i], page[2 * i + 1], level) !== ENTRY_EMPTY) {
            n++;
        }
    }
    return n;
}

/** Slots of table page `t` (the root may be smaller than a page). */
function slotsOf(ctx: PtContext, version: PtVersion, t: number): number {
    const rootSlots = topSlots(ctx, version.top);
    const isRoot = t >= version.root && t < version.root + Math.max(1, rootSlots / ENTRIES_PER_TABLE);
    return isRoot ? Math.min(ENTRIES_PER_TABLE, rootSlots) : ENTRIES_PER_TABLE;
}

/** The view of table page `t`, or undefined if no table lives there. */
export function tableView(ctx: PtContext, version: PtVersion, t: number): PageTableView | undefined {
    if (!Number.isInteger(t) || t < 0) {
        return undefined;
    }
    const meta = storeMeta(version.store, t);
    if (meta < 0) {
        return undefined;
    }
    const level = metaLevel(meta);
    const slots = slotsOf(ctx, version, t);
    return {
        level,
        pa: ctx.config.tablePaBase + t * 4096,
        iova: BigInt(metaSpanIndex(meta)) << BigInt(9 * (level + 1) + PAGE_SHIFT),
        slots,
        present: countPresent(ctx, version, t, level, slots),
    };
}

/** The decoded entries `[start, start + count)` of `table`. */
export function entryViews(ctx: PtContext, version: PtVersion, table: PageTableView, start: number, count: number, presentOnly: boolean): PageTableEntryView[] {
    const t = (table.pa - ctx.config.tablePaBase) / 4096;
    const page = pageOf(version, t);
    const { fmt } = ctx;
    const level = table.level;
    const itemShift = BigInt(9 * level + PAGE_SHIFT);
    const out: PageTableEntryView[] = [];
    const end = Math.min(table.slots, start + count);
    for (let i = Math.max(0, start); i < end; i++) {
        const lo = page === undefined ? 0 : page[2 * i];
        const hi = page === undefined ? 0 : page[2 * i + 1];
        const kind = fmt.kind(lo, hi, level);
        if (presentOnly && kind === ENTRY_EMPTY) {
            continue;
        }
        const slotIova = table.iova + (BigInt(i) << itemShift);
        if (kind === ENTRY_LEAF) {
            const sizeLg2 = fmt.leafSizeLg2(lo, hi, level);
            const size = 1n << BigInt(sizeLg2 + PAGE_SHIFT);
            const prot = fmt.leafProt(lo, hi);
            out.push({
                index: i,
                raw: rawEntry(lo, hi),
                present: true,
                leaf: true,
                address: fmt.leafPfn(lo, hi, level) * 4096,
                read: prot.read,
                write: prot.write,
                dirty: fmt.isDirty(lo, hi),
                accessed: fmt.isAccessed(lo, hi),
                size,
                // An AMD contiguous slot translates the whole contiguous page.
                iova: slotIova - (slotIova % size),
                flags: fmt.flags(lo, hi, level, kind),
            });
        } else {
            const table = kind === ENTRY_TABLE;
            out.push({
                index: i,
                raw: rawEntry(lo, hi),
                present: table,
                leaf: false,
                address: table ? fmt.tablePfn(lo, hi) * 4096 : 0,
                // Every format writes table entries that do not restrict access (R|W, P|RW, IR|IW).
                read: table,
                write: table,
                dirty: false,
                accessed: table && fmt.isAccessed(lo, hi),
                size: 1n << itemShift,
                iova: slotIova,
                flags: table ? fmt.flags(lo, hi, level, kind) : [],
            });
        }
    }
    return out;
}

/** Leaves intersecting IOVAs `[start, last]`, in IOVA order. */
export function* leafInfos(ctx: PtContext, version: PtVersion, start: bigint, last: bigint): Generator<LeafInfo> {
    if (last < start || start > ctx.layout.apertureEnd) {
        return;
    }
    const first = Number((start < 0n ? 0n : start) >> BigInt(PAGE_SHIFT));
    const lastPfn = Math.min(lastTranslatablePfn(ctx, version.top), last > ctx.layout.apertureEnd ? Infinity : Number(last >> BigInt(PAGE_SHIFT)));
    const { fmt } = ctx;
    for (const run of slotRuns(ctx, version, (t) => version.store.pages.get(t), first, lastPfn)) {
        const { page, level } = run;
        for (let i = run.first; i <= run.last; i++) {
            const lo = page[2 * i];
            const hi = page[2 * i + 1];
            if (fmt.kind(lo, hi, level) !== ENTRY_LEAF) {
                continue;
            }
            const sizeLg2 = fmt.leafSizeLg2(lo, hi, level);
            const n = 2 ** (sizeLg2 - 9 * level);
            const g = i - (i % n);
            let dirty = false;
            for (let j = g; j < g + n; j++) {
                dirty ||= fmt.isDirty(page[2 * j], page[2 * j + 1]);
            }
            yield {
                iova: BigInt(run.base + g * DIV[level]) << BigInt(PAGE_SHIFT),
                size: 1n << BigInt(sizeLg2 + PAGE_SHIFT),
                pa: fmt.leafPfn(lo, hi, level) * 4096,
                prot: fmt.leafProt(lo, hi),
                dirty,
            };
            i = g + n - 1;
        }
    }
}
