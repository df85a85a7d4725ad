/**
 * `__iommu_unmap` over an io-pgtable-arm table: the core splits the range into `iommu_pgsize`
 * chunks and calls `arm_lpae_unmap_pages` for each, stopping at the first chunk that unmaps
 * nothing. Per chunk (`__arm_lpae_unmap`):
 *
 * - a non-present entry on the way, or at the first slot, unmaps nothing;
 * - a leaf bigger than the chunk's page size unmaps nothing ("Unmap of a partial large IOPTE is
 *   not allowed" - the split-on-unmap behaviour was removed in 6.13);
 * - at the chunk's level, up to `count` entries to the end of the table page are cleared, stopping
 *   at an empty one; a table entry there is freed with everything below it and counts as a full
 *   page of the chunk's size, whatever it mapped.
 */

import { DIV, ENTRIES_PER_TABLE, PAGE_SHIFT } from './bits.js';
import { ENTRY_EMPTY, ENTRY_LEAF, ENTRY_TABLE } from './format.js';
import { iommuPgsize } from './page-size.js';
import { tableOfPfn, topIndex, topSlots } from './pt-context.js';
import type { PtContext, PtVersion } from './pt-context.js';
import { releaseSubtree } from './subtree.js';
import { StoreTxn } from './table-store.js';
import type { UnmapResult } from './unmap-generic.js';

/** `__arm_lpae_unmap` for one chunk; returns [frames reported unmapped, frames leaves really mapped]. */
function unmapChunk(ctx: PtContext, txn: StoreTxn, version: PtVersion, ipfn: number, sizeLg2: number, count: number): [number, number] {
    const { fmt } = ctx;
    const target = ctx.levelOfSize[sizeLg2];
    let level = version.top;
    const ti = topIndex(ctx, version.top, ipfn);
    let t = version.root + Math.floor(ti / ENTRIES_PER_TABLE);
    for (;;) {
        const slot = Math.floor(ipfn / DIV[level]) % ENTRIES_PER_TABLE;
        const page = txn.read(t);
        const lo = page === undefined ? 0 : page[2 * slot];
        const hi = page === undefined ? 0 : page[2 * slot + 1];
        const kind = fmt.kind(lo, hi, level);
        if (kind === ENTRY_EMPTY) {
            return [0, 0];
        }
        if (level === target) {
            // arm_lpae_max_entries: never past the end of this table page (or of a small pgd).
            const pageSlots = level === version.top ? Math.min(ENTRIES_PER_TABLE, topSlots(ctx, version.top)) : ENTRIES_PER_TABLE;
            const n = Math.min(count, pageSlots - slot);
            const w = txn.write(t);
            let removed = 0;
            let i = 0;
            for (; i < n; i++) {
                const elo = w[2 * (slot + i)];
                const ehi = w[2 * (slot + i) + 1];
                const ekind = fmt.kind(elo, ehi, level);
                if (ekind === ENTRY_EMPTY) {
                    break;
                }
                if (ekind === ENTRY_TABLE) {
                    removed += releaseSubtree(ctx, txn, tableOfPfn(ctx, fmt.tablePfn(elo, ehi)), level - 1);
                } else {
                    removed += DIV[level];
                }
                w[2 * (slot + i)] = 0;
                w[2 * (slot + i) + 1] = 0;
            }
            return [i * DIV[level], removed];
        }
        if (kind === ENTRY_LEAF) {
            return [0, 0];
        }
        t = tableOfPfn(ctx, fmt.tablePfn(lo, hi));
        level--;
    }
}

/** Unmaps `[iova, iova + size)` the io-pgtable-arm way. */
export function unmapArm(ctx: PtContext, version: PtVersion, iova: bigint, size: bigint): UnmapResult {
    const none = { version, pages: 0 };
    const minBytes = 4096n << BigInt(ctx.minPageLg2);
    if (size <= 0n || iova < 0n || iova % minBytes !== 0n || size % minBytes !== 0n) {
        return none;
    }
    const iasPages = 2 ** (ctx.layout.ias - PAGE_SHIFT);
    let cur = Number(iova >> BigInt(PAGE_SHIFT));
    let remaining = Number(size >> BigInt(PAGE_SHIFT));
    const txn = new StoreTxn(version.store);
    let total = 0;
    let removed = 0;
    while (remaining > 0) {
        // arm_lpae_unmap_pages: an IOVA beyond ias (iaext) unmaps nothing.
        if (cur >= iasPages) {
            break;
        }
        const chunk = iommuPgsize(ctx.pageSizes, cur, cur, remaining);
        const [reported, really] = unmapChunk(ctx, txn, version, cur, chunk.sizeLg2, chunk.count);
        if (reported === 0) {
            break;
        }
        cur += reported;
        total += reported;
        remaining -= reported;
        removed += really;
    }
    if (total === 0) {
        return none;
    }
    return {
        version: { ...version, store: txn.commit(), mappedPages: version.mappedPages - removed },
        pages: total,
    };
}
