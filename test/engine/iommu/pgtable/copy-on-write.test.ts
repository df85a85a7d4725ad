/**
 * Copy on write per table page: an edit copies only the pages the previous version shares, each
 * at most once per edit, and pages a fully covered unmap frees are not copied at all.
 */

import { afterEach, describe, expect, it, vi } from 'vitest';
import { mapRange } from '../../../../engine/iommu/pgtable/map.js';
import { emptyVersion, makeContext } from '../../../../engine/iommu/pgtable/pt-context.js';
import type { PtVersion } from '../../../../engine/iommu/pgtable/pt-context.js';
import { emptyStore, StoreTxn } from '../../../../engine/iommu/pgtable/table-store.js';
import { unmapGeneric } from '../../../../engine/iommu/pgtable/unmap-generic.js';
import { contiguous, PGSIZES_4K_2M_1G, RW, SZ_1G, SZ_2M, SZ_4K, TABLE_BASE } from './helpers.js';

const ctx = makeContext({ format: 'vtd-ss', ias: 48, pgsizeBitmap: PGSIZES_4K_2M_1G, tablePaBase: TABLE_BASE });

/** Table numbers whose page differs between two versions. */
function changedPages(a: PtVersion, b: PtVersion): number[] {
    const out: number[] = [];
    for (let t = 0; t < Math.max(a.store.pages.size, b.store.pages.size); t++) {
        if (a.store.pages.get(t) !== b.store.pages.get(t)) {
            out.push(t);
        }
    }
    return out;
}

afterEach(() => {
    vi.restoreAllMocks();
});

describe('StoreTxn', () => {
    it('copies a shared page on the first write only and leaves the base version alone', () => {
        const setup = new StoreTxn(emptyStore());
        const t = setup.alloc(0, 0);
        setup.write(t)[0] = 7;
        const base = setup.commit();
        const txn = new StoreTxn(base);
        const first = txn.write(t);
        expect(first).not.toBe(base.pages.get(t));
        first[0] = 8;
        expect(txn.write(t)).toBe(first);
        const next = txn.commit();
        expect(base.pages.get(t)?.[0]).toBe(7);
        expect(next.pages.get(t)?.[0]).toBe(8);
    });

    it('reuses freed table numbers, newest first', () => {
        const txn = new StoreTxn(emptyStore());
        const [a, b] = [txn.alloc(0, 0), txn.alloc(0, 1)];
        txn.release(a);
        txn.release(b);
        expect(txn.alloc(0, 2)).toBe(b);
        expect(txn.tableCount).toBe(1);
    });
});

describe('copy on write through map and unmap', () => {
    const v1 = mapRange(ctx, emptyVersion(ctx), 0n, 2n * SZ_2M, contiguous(0x10_1000), RW);

    it('shares every page the edit does not touch', () => {
        // A new 1G region under the same root entry: the level-2 table is copied, new level-1/0
        // tables appear; the root and the first region's tables are shared.
        const v2 = mapRange(ctx, v1, SZ_1G, SZ_4K, contiguous(0x5000), RW);
        expect(changedPages(v1, v2)).toEqual([1, 5, 6]);
        expect(v1.store.tableCount).toBe(5);
        expect(v2.store.tableCount).toBe(7);
    });

    it('copies a shared leaf table once however many entries one map writes into it', () => {
        const v = mapRange(ctx, emptyVersion(ctx), 0n, SZ_4K, contiguous(0x10_0000), RW);
        const slice = vi.spyOn(Uint32Array.prototype, 'slice');
        mapRange(ctx, v, SZ_4K, 511n * SZ_4K, contiguous(0x20_1000), RW);
        expect(slice).toHaveBeenCalledTimes(1);
    });

    it('does not copy the pages of tables a fully covering unmap frees', () => {
        const v = mapRange(ctx, v1, 8n * SZ_2M, SZ_4K, contiguous(0x5000), RW);
        const slice = vi.spyOn(Uint32Array.prototype, 'slice');
        const r = unmapGeneric(ctx, v, 0n, 2n * SZ_2M);
        expect(r.pages).toBe(1024);
        // Only the level-1 table is rewritten (its two entries cleared); both leaf tables are freed unread-modified.
        expect(slice).toHaveBeenCalledTimes(1);
        expect(r.version.store.tableCount).toBe(v.store.tableCount - 2);
    });
});
