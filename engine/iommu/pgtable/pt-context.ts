/**
 * The fixed facts of one table lineage (format, layout, allowed page sizes, where table pages
 * live) and the per-version state every operation reads and produces.
 */

import { DIV, ENTRIES_PER_TABLE, PAGE_SHIFT } from './bits.js';
import type { PtFormat } from './format.js';
import { layoutOf } from './geometry.js';
import type { TableLayout } from './geometry.js';
import { emptyStore, StoreTxn } from './table-store.js';
import type { StoreState } from './table-store.js';
import { MapError } from './types.js';
import type { PageTableConfig } from './types.js';

/** One immutable version of a table. */
export interface PtVersion {
    /** Level of the root (AMD v1 raises it on demand). */
    readonly top: number;
    /** Table number of the root (its first page when an ARM pgd is concatenated). */
    readonly root: number;
    readonly store: StoreState;
    /** 4 KiB pages mapped by leaves. */
    readonly mappedPages: number;
}

/** Facts fixed for a table's life. */
export interface PtContext {
    readonly config: PageTableConfig;
    readonly layout: TableLayout;
    readonly fmt: PtFormat;
    /** Frame number of table 0. */
    readonly basePfn: number;
    /** Leaf sizes (log2 pages) allowed: the format's sizes intersected with the domain's bitmap, ascending. */
    readonly pageSizes: readonly number[];
    /** `bestSize[k]`: the largest allowed size ≤ k (log2 pages), or -1 (pt_compute_best_pgsize). */
    readonly bestSize: Int8Array;
    /** `levelOfSize[s]`: the level a leaf of 2^s pages is installed at. */
    readonly levelOfSize: Int8Array;
    /** log2 of the smallest allowed page, in pages. */
    readonly minPageLg2: number;
}

/** Builds the context for `config`; throws `MapError('EINVAL')` for an unusable configuration. */
export function makeContext(config: PageTableConfig): PtContext {
    const layout = layoutOf(config.format, config.ias);
    const fmt = layout.fmt;
    if (!Number.isInteger(config.tablePaBase) || config.tablePaBase < 0 || config.tablePaBase % 4096 !== 0) {
        throw new MapError('EINVAL', `tablePaBase 0x${config.tablePaBase.toString(16)} is not a 4 KiB aligned physical address`);
    }
    const levelOfSize = new Int8Array(64).fill(-1);
    const sizes: number[] = [];
    for (let level = 0; level <= layout.maxTop; level++) {
        for (const s of fmt.possibleSizes(level)) {
            // The domain's pgsize_bitmap narrows what the format could do (compute_best_pgsize).
            if ((config.pgsizeBitmap >> BigInt(s + PAGE_SHIFT)) & 1n) {
                levelOfSize[s] = level;
                sizes.push(s);
            }
        }
    }
    sizes.sort((a, b) => a - b);
    if (sizes.length === 0) {
        throw new MapError('EINVAL', `pgsize_bitmap 0x${config.pgsizeBitmap.toString(16)} has no page size the ${config.format} format can hold`);
    }
    const bestSize = new Int8Array(64).fill(-1);
    for (let k = 0; k < 64; k++) {
        for (const s of sizes) {
            if (s <= k) {
                bestSize[k] = s;
            }
        }
    }
    return {
        config,
        layout,
        fmt,
        basePfn: config.tablePaBase / 4096,
        pageSizes: sizes,
        bestSize,
        levelOfSize,
        minPageLg2: sizes[0] ?? 0,
    };
}

/** Entries in the top table when the root is at `top`. */
export function topSlots(ctx: PtContext, top: number): number {
    return 2 ** ctx.layout.topSlotsLg2(top);
}

/** Table pages the root occupies (more than one only for a concatenated ARM stage-2 pgd). */
export function rootPages(ctx: PtContext, top: number): number {
    return Math.max(1, topSlots(ctx, top) / ENTRIES_PER_TABLE);
}

/** Frames the table can index with its root at `top` (before the sign-extension cut). */
export function coverPages(ctx: PtContext, top: number): number {
    return DIV[top] * topSlots(ctx, top);
}

/** Index of `ipfn` in the top table (may exceed 511 for a concatenated pgd). */
export function topIndex(ctx: PtContext, top: number, ipfn: number): number {
    return Math.floor(ipfn / DIV[top]) % topSlots(ctx, top);
}

/** Highest frame the version can translate now: the aperture, cut to the current top for AMD. */
export function lastTranslatablePfn(ctx: PtContext, top: number): number {
    return Math.min(ctx.layout.apertureEndPfn, coverPages(ctx, top) - 1);
}

/** Table number of the table whose frame number is `pfn`. */
export function tableOfPfn(ctx: PtContext, pfn: number): number {
    return pfn - ctx.basePfn;
}

/** The first version of a table: only the root, at table number 0 (an ARM concatenated pgd takes 0..n-1). */
export function emptyVersion(ctx: PtContext): PtVersion {
    const top = ctx.layout.initialTop;
    const txn = new StoreTxn(emptyStore());
    const root = txn.allocContiguous(rootPages(ctx, top), top);
    return { top, root, store: txn.commit(), mappedPages: 0 };
}
