/**
 * Dirty tracking over a table: `read_and_clear_dirty` (generic_pt `__read_and_clear_dirty` +
 * `record_dirty`, io-pgtable-arm `visit_dirty`). A dirty leaf is reported whole, once (an AMD
 * contiguous leaf is dirty when any of its slots has D, and all its slots are cleaned).
 */

import { DIV, PAGE_SHIFT } from './bits.js';
import { ENTRY_LEAF } from './format.js';
import { slotRuns } from './iterate.js';
import { lastTranslatablePfn } from './pt-context.js';
import type { PtContext, PtVersion } from './pt-context.js';
import { StoreTxn } from './table-store.js';
import type { ReadonlyPage } from './table-store.js';
import { MapError } from './types.js';

/** One dirty leaf. */
export interface DirtyLeaf {
    readonly iova: bigint;
    readonly size: bigint;
}

/** Throws unless Linux implements dirty tracking for the format. */
function requireDirtyTracking(ctx: PtContext): void {
    if (!ctx.fmt.hasDirtyTracking) {
        // x86_64.h has no pt_entry_is_write_dirty (-EOPNOTSUPP); arm_lpae_read_and_clear_dirty
        // only takes ARM_64_LPAE_S1 (-EINVAL). iommufd never gets here: such domains have no dirty_ops.
        throw new MapError('EINVAL', `the ${ctx.config.format} format has no hardware dirty tracking in Linux`);
    }
}

/** Dirty leaves in frames `[start, last]`, cleaned unless `noClear`. */
export function readAndClearDirtyFrames(ctx: PtContext, version: PtVersion, start: number, last: number, noClear: boolean): { version: PtVersion; dirty: DirtyLeaf[] } {
    requireDirtyTracking(ctx);
    const { fmt } = ctx;
    const dirty: DirtyLeaf[] = [];
    let txn: StoreTxn | undefined;
    const read = (t: number): ReadonlyPage | undefined => (txn ? txn.read(t) : version.store.pages.get(t));
    for (const run of slotRuns(ctx, version, read, start, last)) {
        const { page, level } = run;
        const div = DIV[level];
        for (let i = run.first; i <= run.last; i++) {
            const lo = page[2 * i];
            const hi = page[2 * i + 1];
            if (fmt.kind(lo, hi, level) !== ENTRY_LEAF) {
                continue;
            }
            const sizeLg2 = fmt.leafSizeLg2(lo, hi, level);
            const n = 2 ** (sizeLg2 - 9 * level);
            const g = i - (i % n);
            let isDirty = false;
            for (let j = g; j < g + n; j++) {
                if (fmt.isDirty(page[2 * j], page[2 * j + 1])) {
                    isDirty = true;
                    break;
                }
            }
            if (isDirty) {
                dirty.push({
                    iova: BigInt(run.base + g * div) << BigInt(PAGE_SHIFT),
                    size: 1n << BigInt(sizeLg2 + PAGE_SHIFT),
                });
                if (!noClear) {
                    txn ??= new StoreTxn(version.store);
                    const w = txn.write(run.table);
                    for (let j = g; j < g + n; j++) {
                        const clean = fmt.writeClean(w[2 * j], w[2 * j + 1]);
                        w[2 * j] = clean.lo;
                        w[2 * j + 1] = clean.hi;
                    }
                }
            }
            i = g + n - 1;
        }
    }
    return { version: txn ? { ...version, store: txn.commit() } : version, dirty };
}

/** `read_and_clear_dirty(iova, size, flags)`; throws `MapError` for an empty or out-of-range span. */
export function readAndClearDirty(ctx: PtContext, version: PtVersion, iova: bigint, size: bigint, noClear: boolean): { version: PtVersion; dirty: DirtyLeaf[] } {
    requireDirtyTracking(ctx);
    if (size <= 0n || iova < 0n) {
        throw new MapError('EINVAL', 'read_and_clear_dirty needs a non-empty range');
    }
    const lastByte = iova + size - 1n;
    const last = lastByte > ctx.layout.apertureEnd ? Infinity : Number(lastByte >> BigInt(PAGE_SHIFT));
    if (last > lastTranslatablePfn(ctx, version.top)) {
        throw new MapError(ctx.fmt.family === 'generic-pt' ? 'ERANGE' : 'EINVAL', `[0x${iova.toString(16)}, 0x${lastByte.toString(16)}] is beyond what the table translates (pt_check_range)`);
    }
    return readAndClearDirtyFrames(ctx, version, Number(iova >> BigInt(PAGE_SHIFT)), last, noClear);
}

/** Cleans every dirty leaf (turning tracking on starts from clean: iopt_clear_dirty_data). */
export function clearAllDirty(ctx: PtContext, version: PtVersion): PtVersion {
    return readAndClearDirtyFrames(ctx, version, 0, lastTranslatablePfn(ctx, version.top), false).version;
}
