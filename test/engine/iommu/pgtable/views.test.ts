/**
 * Debugger views: table pages and decoded entries, as the debug adapter will show them.
 */

import { describe, expect, it } from 'vitest';
import { contiguous, RO, RW, SZ_1G, SZ_2M, SZ_4K, table, TABLE_BASE } from './helpers.js';

describe('page-table views', () => {
    const t = table('vtd-ss', 48, { forceSnoop: true })
        .map(SZ_2M, SZ_2M, contiguous(0x4000_0000), RO)
        .map(SZ_1G, SZ_4K, contiguous(0x5000), RW);

    it('shows the root page', () => {
        expect(table('vtd-ss', 48).root()).toEqual({ level: 3, pa: TABLE_BASE, iova: 0n, slots: 512, present: 0 });
        expect(t.root()).toEqual({ level: 3, pa: TABLE_BASE, iova: 0n, slots: 512, present: 1 });
    });

    it('decodes table, leaf and empty entries', () => {
        const [top, empty] = t.entries(t.root(), 0, 2);
        expect(top).toEqual({
            index: 0,
            raw: BigInt(TABLE_BASE + 0x1000) | 3n,
            present: true,
            leaf: false,
            address: TABLE_BASE + 0x1000,
            read: true,
            write: true,
            dirty: false,
            accessed: false,
            size: 1n << 39n,
            iova: 0n,
            flags: [],
        });
        expect(empty).toMatchObject({ index: 1, raw: 0n, present: false, leaf: false, address: 0, size: 1n << 39n, iova: 1n << 39n, flags: [] });
        const l2 = t.tableAt(top.address);
        expect(l2).toEqual({ level: 2, pa: TABLE_BASE + 0x1000, iova: 0n, slots: 512, present: 2 });
        const l1 = t.tableAt(t.entries(l2!, 0, 1)[0].address)!;
        expect(t.entries(l1, 0, 512, true)).toEqual([
            {
                index: 1,
                raw: 0x4000_0881n,
                present: true,
                leaf: true,
                address: 0x4000_0000,
                read: true,
                write: false,
                dirty: false,
                accessed: false,
                size: SZ_2M,
                iova: SZ_2M,
                flags: ['PS', 'SNP'],
            },
        ]);
    });

    it('returns nothing for addresses that are not live table pages', () => {
        expect(t.tableAt(TABLE_BASE + 0x800)).toBeUndefined();
        expect(t.tableAt(TABLE_BASE - 0x1000)).toBeUndefined();
        expect(t.tableAt(TABLE_BASE + 0x100_0000)).toBeUndefined();
        // A 1G range of 2M leaves lives in one level-1 table; unmapping all of it frees the table.
        const full = t.map(2n * SZ_1G, SZ_1G, contiguous(0x8020_0000), RW);
        const freed = full.tableAt(TABLE_BASE + 0x5000);
        expect(freed).toEqual({ level: 1, pa: TABLE_BASE + 0x5000, iova: 2n * SZ_1G, slots: 512, present: 512 });
        const after = full.unmap(2n * SZ_1G, SZ_1G);
        expect(after.unmapped).toBe(SZ_1G);
        expect(after.table.tableCount).toBe(full.tableCount - 1);
        expect(after.table.tableAt(TABLE_BASE + 0x5000)).toBeUndefined();
        expect(full.tableAt(TABLE_BASE + 0x5000)).toEqual(freed);
    });

    it('clips entry ranges to the table', () => {
        expect(t.entries(t.root(), 510, 10).map((e) => e.index)).toEqual([510, 511]);
    });

    it('lists leaves in IOVA order within a range', () => {
        expect([...t.leaves(0n, (1n << 48n) - 1n)].map((l) => [l.iova, l.size, l.pa, l.prot.write])).toEqual([
            [SZ_2M, SZ_2M, 0x4000_0000, false],
            [SZ_1G, SZ_4K, 0x5000, true],
        ]);
        expect([...t.leaves(SZ_2M + SZ_4K, SZ_2M + SZ_4K)].map((l) => l.iova)).toEqual([SZ_2M]);
        expect([...t.leaves(SZ_1G + SZ_4K, SZ_1G * 2n)]).toEqual([]);
    });
});
