/**
 * Whole-subtree helpers: does a table hold any leaf (generic_pt `__collect_tables` with
 * `check_mapped`), and free a table with everything below it (`__arm_lpae_free_pgtable`).
 */

import { DIV, ENTRIES_PER_TABLE } from './bits.js';
import { ENTRY_LEAF, ENTRY_TABLE } from './format.js';
import { tableOfPfn } from './pt-context.js';
import type { PtContext } from './pt-context.js';
import type { StoreTxn } from './table-store.js';

/** Whether table `t` at `level`, or any table below it, holds a leaf. */
export function subtreeHasLeaf(ctx: PtContext, txn: StoreTxn, t: number, level: number): boolean {
    const page = txn.read(t);
    if (page === undefined) {
        return false;
    }
    for (let i = 0; i < ENTRIES_PER_TABLE; i++) {
        const lo = page[2 * i];
        const hi = page[2 * i + 1];
        const kind = ctx.fmt.kind(lo, hi, level);
        if (kind === ENTRY_LEAF) {
            return true;
        }
        if (kind === ENTRY_TABLE && subtreeHasLeaf(ctx, txn, tableOfPfn(ctx, ctx.fmt.tablePfn(lo, hi)), level - 1)) {
            return true;
        }
    }
    return false;
}

/** Frees table `t` at `level` and every table below it; returns the 4 KiB pages its leaves mapped. */
export function releaseSubtree(ctx: PtContext, txn: StoreTxn, t: number, level: number): number {
    const page = txn.read(t);
    let pages = 0;
    if (page !== undefined) {
        for (let i = 0; i < ENTRIES_PER_TABLE; i++) {
            const lo = page[2 * i];
            const hi = page[2 * i + 1];
            const kind = ctx.fmt.kind(lo, hi, level);
            if (kind === ENTRY_LEAF) {
                // Each slot of an AMD contiguous leaf maps one item's worth of the leaf.
                pages += DIV[level];
            } else if (kind === ENTRY_TABLE) {
                pages += releaseSubtree(ctx, txn, tableOfPfn(ctx, ctx.fmt.tablePfn(lo, hi)), level - 1);
            }
        }
    }
    txn.release(t);
    return pages;
}
