/**
 * `unmap_range` / `unmap_pages` of generic_pt (iommu_pt.h `__unmap_range`), used by vtd-ss,
 * x86-64 and amd-v1:
 *
 * - The range must start at the start of a leaf: starting inside a large (or AMD contiguous) leaf
 *   unmaps nothing ("when unmap reaches a partial unmap of the start of a large IOPTE", -EINVAL).
 * - Leaves are removed whole, so a leaf that crosses the end of the range goes entirely and its
 *   full size is counted.
 * - The walk stops at the first non-present entry (empty tables included): what was unmapped
 *   before it stays unmapped and is returned.
 * - A table is freed when the range covers all of it; tables the range only partly covers stay,
 *   even when left empty.
 * - A range outside what the table translates now (`pt_check_range`; AMD's current top) unmaps nothing.
 *
 * Tables that are about to be freed are only read (their pages are not copied to be zeroed).
 */

import { DIV, ENTRIES_PER_TABLE, PAGE_SHIFT } from './bits.js';
import { ENTRY_EMPTY, ENTRY_TABLE } from './format.js';
import { lastTranslatablePfn, tableOfPfn, topSlots } from './pt-context.js';
import type { PtContext, PtVersion } from './pt-context.js';
import { StoreTxn } from './table-store.js';

/** Result of one unmap. */
export interface UnmapResult {
    readonly version: PtVersion;
    /** 4 KiB pages unmapped (what `unmap_pages` returns, in pages). */
    readonly pages: number;
}

class GenericUnmapper {
    pages = 0;

    constructor(
        private readonly ctx: PtContext,
        private readonly txn: StoreTxn,
    ) {}

    /**
     * `__unmap_range` over one table: `va`..`last` (frames) within it. `willFree`: the caller frees
     * this table on success, so entries are cleared only if the walk stops early. Returns false
     * when the walk stopped (-EINVAL).
     */
    unmapTable(t: number, level: number, slots: number, va: number, last: number, willFree: boolean): boolean {
        const { ctx, txn } = this;
        const { fmt } = ctx;
        const div = DIV[level];
        const tableSpan = div * slots;
        const tableBase = va - (va % tableSpan);
        const start = Math.floor((va - tableBase) / div);
        const end = last - tableBase < tableSpan ? Math.floor((last - tableBase) / div) + 1 : slots;
        const page = txn.read(t);
        let writable: Uint32Array | undefined;
        let i = start;
        let ok = true;
        if (page === undefined) {
            return false;
        }
        {
            const lo = page[2 * i];
            const hi = page[2 * i + 1];
            const kind = fmt.kind(lo, hi, level);
            // "A starting index is in the middle of a contiguous entry": -EINVAL, nothing unmapped.
            if (kind !== ENTRY_EMPTY && kind !== ENTRY_TABLE && va % 2 ** fmt.leafSizeLg2(lo, hi, level) !== 0) {
                return false;
            }
        }
        while (i < end) {
            const src = writable ?? page;
            const lo = src[2 * i];
            const hi = src[2 * i + 1];
            const kind = fmt.kind(lo, hi, level);
            if (kind === ENTRY_EMPTY) {
                ok = false;
                break;
            }
            if (kind === ENTRY_TABLE) {
                const entryVa = i === start ? va : tableBase + i * div;
                const entryLast = tableBase + (i + 1) * div - 1;
                // pt_entry_fully_covered: the range spans the whole entry.
                const fully = entryVa % div === 0 && entryLast <= last;
                const child = tableOfPfn(ctx, fmt.tablePfn(lo, hi));
                if (!this.unmapTable(child, level - 1, ENTRIES_PER_TABLE, entryVa, Math.min(last, entryLast), fully)) {
                    ok = false;
                    break;
                }
                if (fully) {
                    // "If the unmapping range fully covers the table then we can free it as well."
                    txn.release(child);
                    if (!willFree) {
                        writable ??= txn.write(t);
                        writable[2 * i] = 0;
                        writable[2 * i + 1] = 0;
                    }
                }
                i++;
            } else {
                // A leaf goes whole (all slots of an AMD contiguous leaf), even past `last`.
                const n = 2 ** (fmt.leafSizeLg2(lo, hi, level) - 9 * level);
                this.pages += n * div;
                if (!willFree) {
                    writable ??= txn.write(t);
                    writable.fill(0, 2 * i, 2 * (i + n));
                }
                i += n;
            }
        }
        if (!ok && willFree && i > start) {
            // The table stays: clear what was unmapped before the walk stopped.
            txn.write(t).fill(0, 2 * start, 2 * i);
        }
        return ok;
    }
}

/** Unmaps `[iova, iova + size)` the generic_pt way. */
export function unmapGeneric(ctx: PtContext, version: PtVersion, iova: bigint, size: bigint): UnmapResult {
    const none = { version, pages: 0 };
    const minBytes = 4096n << BigInt(ctx.minPageLg2);
    // __iommu_unmap: unaligned → 0; make_range: zero length or overflow → 0.
    if (size <= 0n || iova < 0n || iova % minBytes !== 0n || size % minBytes !== 0n) {
        return none;
    }
    const lastByte = iova + size - 1n;
    if (lastByte > ctx.layout.apertureEnd) {
        return none;
    }
    const va = Number(iova >> BigInt(PAGE_SHIFT));
    const last = Number(lastByte >> BigInt(PAGE_SHIFT));
    if (last > lastTranslatablePfn(ctx, version.top)) {
        return none;
    }
    const txn = new StoreTxn(version.store);
    const unmapper = new GenericUnmapper(ctx, txn);
    // Only ARM concatenates root pages, so the generic root is one table page.
    unmapper.unmapTable(version.root, version.top, topSlots(ctx, version.top), va, last, false);
    if (unmapper.pages === 0) {
        return none;
    }
    return {
        version: { ...version, store: txn.commit(), mappedPages: version.mappedPages - unmapper.pages },
        pages: unmapper.pages,
    };
}
