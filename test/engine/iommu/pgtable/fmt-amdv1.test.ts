/**
 * AMD v1 (generic_pt/fmt/amdv1.h): NextLevel encodings, contiguous (NextLevel 7) sizes, the
 * dynamic top, and the page sizes of AMD_IOMMU_PGSIZES.
 */

import { describe, expect, it } from 'vitest';
import { contiguous, leafEntry, RO, RW, SZ_1G, SZ_2M, SZ_4K, SZ_4M, SZ_8K, table, TABLE_BASE, tableOn, WO } from './helpers.js';

const IR_IW = 0x6000_0000_0000_0000n;
const FC = 0x1000_0000_0000_0000n;

describe('amd-v1 entries', () => {
    it('writes a 4K leaf as PR | address | IR | IW, with FC under forceSnoop', () => {
        const t = table('amd-v1', 64, { forceSnoop: true }).map(0n, SZ_4K, contiguous(0x5000), RW);
        expect(leafEntry(t, 0n)).toEqual({ raw: IR_IW | FC | 0x5001n, level: 0, flags: ['NextLevel=0', 'FC'] });
    });

    it('writes table entries with NextLevel = their level and IR|IW', () => {
        const t = table('amd-v1', 64).map(0n, SZ_4K, contiguous(0x5000), RW);
        const [top] = t.entries(t.root(), 0, 1);
        expect(top.raw).toBe(IR_IW | BigInt(TABLE_BASE + 0x1000) | (2n << 9n) | 1n);
        expect(top.flags).toEqual(['NextLevel=2']);
    });

    it('encodes an 8K page with NextLevel 7, replicated over both 4K slots', () => {
        const t = table('amd-v1', 64).map(SZ_8K, SZ_8K, contiguous(0x8000), RW);
        const raw = IR_IW | 0x8000n | (7n << 9n) | 1n;
        expect(leafEntry(t, SZ_8K)).toEqual({ raw, level: 0, flags: ['NextLevel=7'] });
        const slots = t.entries(tableOn(t, SZ_8K, 0), 2, 2);
        expect(slots.map((e) => e.raw)).toEqual([raw, raw]);
        expect(slots.map((e) => [e.iova, e.size])).toEqual([[SZ_8K, SZ_8K], [SZ_8K, SZ_8K]]);
        expect(t.walk(0x3004n, 'read')).toMatchObject({ ok: true, pa: 0x9004, pageSize: SZ_8K, level: 0 });
    });

    it('folds the size into the low address bits: 16K sets bit 12, 4M sets bits 20:12', () => {
        const t = table('amd-v1', 64)
            .map(0x1_0000n, 0x4000n, contiguous(0x1_0000), RO)
            .map(SZ_4M, SZ_4M, contiguous(0x80_0000), RW);
        expect(leafEntry(t, 0x1_0000n).raw).toBe(0x2000_0000_0000_0000n | 0x1_1000n | 0xe01n);
        expect(leafEntry(t, SZ_4M)).toEqual({ raw: IR_IW | 0x9f_f000n | 0xe01n, level: 1, flags: ['NextLevel=7'] });
        expect(t.walk(SZ_4M + 0x12_3456n, 'read')).toMatchObject({ ok: true, pa: 0x92_3456, pageSize: SZ_4M, level: 1 });
    });

    it('uses every power of two that fits: 4K, 8K, 16K for 28K at 4K', () => {
        const t = table('amd-v1', 64).map(0x1000n, 0x7000n, contiguous(0x1000), RW);
        expect([...t.leaves(0n, 0xffffn)].map((l) => [l.iova, l.size])).toEqual([
            [0x1000n, SZ_4K],
            [0x2000n, SZ_8K],
            [0x4000n, 0x4000n],
        ]);
    });

    it('writes natural 2M and 1G leaves with NextLevel 0', () => {
        const t = table('amd-v1', 64).map(SZ_2M, SZ_2M, contiguous(0x4000_0000), RW).map(SZ_1G, SZ_1G, contiguous(0x8000_0000), RW);
        expect(leafEntry(t, SZ_2M)).toEqual({ raw: IR_IW | 0x4000_0001n, level: 1, flags: ['NextLevel=0'] });
        // The 3-level table's top (level 2) holds the 1G leaf: only level 5 cannot hold leaves.
        expect(leafEntry(t, SZ_1G)).toEqual({ raw: IR_IW | 0x8000_0001n, level: 2, flags: ['NextLevel=0'] });
    });

    it('never uses 512G pages: an aligned 512G maps as two 256G leaves', () => {
        const size = 1n << 39n;
        const t = table('amd-v1', 64).map(size, size, contiguous(2 ** 39), RW);
        expect([...t.leaves(0n, (1n << 64n) - 1n)].map((l) => l.size)).toEqual([1n << 38n, 1n << 38n]);
        expect(t.walk(size, 'read')).toMatchObject({ ok: true, level: 2, pageSize: 1n << 38n });
    });

    it('expresses write-only: reads fault', () => {
        const t = table('amd-v1', 64).map(0n, SZ_4K, contiguous(0x5000), WO);
        expect(t.walk(0n, 'read')).toEqual({ ok: false, fault: 'read-from-write-only', level: 0 });
        expect(t.walk(0n, 'write').ok).toBe(true);
    });

    it('unmaps a contiguous leaf whole, and nothing from inside it', () => {
        const t = table('amd-v1', 64).map(SZ_8K, SZ_8K, contiguous(0x8000), RW);
        expect(t.unmap(0x3000n, SZ_4K).unmapped).toBe(0n);
        const r = t.unmap(SZ_8K, SZ_4K);
        expect(r.unmapped).toBe(SZ_8K);
        expect(r.table.walk(0x3000n, 'read')).toMatchObject({ ok: false, fault: 'not-present' });
    });
});

describe('amd-v1 dynamic top', () => {
    it('starts with 3 levels and adds levels to cover what is mapped', () => {
        let t = table('amd-v1', 64);
        expect(t.levels).toBe(3);
        expect(t.walk(1n << 40n, 'read')).toEqual({ ok: false, fault: 'not-present', level: 2 });
        t = t.map(1n << 40n, SZ_4K, contiguous(0x5000), RW);
        expect(t.levels).toBe(4);
        // The old root hangs at index 0 of the new one.
        expect(t.entries(t.root(), 0, 1)[0]).toMatchObject({ present: true, address: TABLE_BASE, flags: ['NextLevel=3'] });
        t = t.map(1n << 50n, SZ_4K, contiguous(0x6000), RW);
        expect(t.levels).toBe(5);
        t = t.map(0xffff_ffff_ffff_f000n, SZ_4K, contiguous(0x7000), RW);
        expect(t.levels).toBe(6);
        expect(t.root().slots).toBe(128);
        expect(t.walk(0xffff_ffff_ffff_fffen, 'read')).toMatchObject({ ok: true, pa: 0x7ffe });
        expect(t.walk(1n << 40n, 'read')).toMatchObject({ ok: true, pa: 0x5000 });
    });

    it('stops at the configured width', () => {
        const t = table('amd-v1', 48);
        expect(t.map((1n << 48n) - SZ_4K, SZ_4K, contiguous(0), RW).levels).toBe(4);
        expect(t.walk(1n << 48n, 'read')).toEqual({ ok: false, fault: 'beyond-address-width' });
        expect(() => t.map(1n << 48n, SZ_4K, contiguous(0), RW)).toThrow(expect.objectContaining({ errno: 'ERANGE' }));
    });

    it('unmaps nothing beyond the current top (pt_check_range)', () => {
        const t = table('amd-v1', 64).map(0n, SZ_4K, contiguous(0x5000), RW);
        expect(t.unmap(0n, 1n << 40n).unmapped).toBe(0n);
        expect(t.unmap(0n, 1n << 39n).unmapped).toBe(SZ_4K);
    });
});
