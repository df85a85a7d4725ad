/**
 * ARM LPAE with the 4K granule (io-pgtable-arm.c), stage 1 and stage 2: descriptors, levels from
 * ias (with stage-2 pgd concatenation), permissions, and io-pgtable-arm's unmap rules.
 */

import { describe, expect, it } from 'vitest';
import { contiguous, leafEntry, RO, RW, SZ_1G, SZ_2M, SZ_4K, table, TABLE_BASE, WO } from './helpers.js';

const XN = 0x0060_0000_0000_0000n;
const DBM = 0x0008_0000_0000_0000n;

describe('arm-lpae-s1 descriptors', () => {
    it('writes pages as type 3 with AF, nG, AP[1], SH and AttrIndx; AP[2] makes them read-only', () => {
        const t = table('arm-lpae-s1', 48)
            .map(0n, SZ_4K, contiguous(0x5000), RW)
            .map(SZ_4K, SZ_4K, contiguous(0x6000), RO)
            .map(2n * SZ_4K, SZ_4K, contiguous(0x7000), { read: true, write: true, cache: true });
        expect(leafEntry(t, 0n)).toEqual({ raw: 0x5e43n, level: 0, flags: ['page', 'AttrIndx=0', 'AP[1]', 'SH=OS', 'nG'] });
        expect(leafEntry(t, SZ_4K)).toEqual({ raw: 0x6ec3n, level: 0, flags: ['page', 'AttrIndx=0', 'AP[1]', 'AP[2]', 'SH=OS', 'nG'] });
        expect(leafEntry(t, 2n * SZ_4K)).toEqual({ raw: 0x7f47n, level: 0, flags: ['page', 'AttrIndx=1', 'AP[1]', 'SH=IS', 'nG'] });
        expect(t.entries(t.root(), 0, 1)[0].raw).toBe(BigInt(TABLE_BASE + 0x1000) | 3n);
    });

    it('writes 2M and 1G blocks as type 1', () => {
        const t = table('arm-lpae-s1', 48).map(SZ_2M, SZ_2M, contiguous(0x60_0000), RW).map(SZ_1G, SZ_1G, contiguous(0x8000_0000), RO);
        expect(leafEntry(t, SZ_2M)).toEqual({ raw: 0x60_0e41n, level: 1, flags: ['block', 'AttrIndx=0', 'AP[1]', 'SH=OS', 'nG'] });
        expect(leafEntry(t, SZ_1G).raw).toBe(0x8000_0ec1n);
    });

    it('cannot express write-only: a WRITE-only map is read/write', () => {
        const t = table('arm-lpae-s1', 48).map(0n, SZ_4K, contiguous(0x5000), WO);
        expect(leafEntry(t, 0n).raw).toBe(0x5e43n);
        expect(t.walk(0n, 'read')).toMatchObject({ ok: true, prot: { read: true, write: true } });
    });

    it('faults writes to AP[2] read-only pages', () => {
        const t = table('arm-lpae-s1', 48).map(0n, SZ_4K, contiguous(0x5000), RO);
        expect(t.walk(0n, 'write')).toEqual({ ok: false, fault: 'write-to-read-only', level: 0 });
    });

    it('sets XN for IOMMU_NOEXEC', () => {
        const t = table('arm-lpae-s1', 48).map(0n, SZ_4K, contiguous(0x5000), { read: true, write: true, noexec: true });
        expect(leafEntry(t, 0n).raw).toBe(XN | 0x5e43n);
        expect(t.walk(0n, 'read')).toMatchObject({ ok: true, prot: { noexec: true } });
    });

    it('with HTTU, installs writable leaves with DBM and AP[2] clear (as arm_lpae_prot_to_pte does)', () => {
        const t = table('arm-lpae-s1', 48, { dirtyCapable: true }).map(0n, SZ_4K, contiguous(0x5000), RW).map(SZ_4K, SZ_4K, contiguous(0x6000), RO);
        expect(leafEntry(t, 0n).raw).toBe(DBM | 0x5e43n);
        expect(leafEntry(t, 0n).flags).toContain('DBM');
        expect(leafEntry(t, SZ_4K).raw).toBe(0x6ec3n);
    });
});

describe('arm-lpae-s2 descriptors', () => {
    it('encodes permissions in HAP (read bit 6, write bit 7) and MemAttr', () => {
        const t = table('arm-lpae-s2', 48)
            .map(0n, SZ_4K, contiguous(0x5000), RO)
            .map(SZ_4K, SZ_4K, contiguous(0x6000), WO)
            .map(2n * SZ_4K, SZ_4K, contiguous(0x7000), { read: true, write: true, cache: true });
        expect(leafEntry(t, 0n)).toEqual({ raw: 0x5657n, level: 0, flags: ['page', 'MemAttr=0x5', 'SH=OS'] });
        expect(leafEntry(t, SZ_4K).raw).toBe(0x6697n);
        expect(leafEntry(t, 2n * SZ_4K)).toEqual({ raw: 0x77ffn, level: 0, flags: ['page', 'MemAttr=0xf', 'SH=IS'] });
    });

    it('expresses read-only and write-only', () => {
        const t = table('arm-lpae-s2', 48).map(0n, SZ_4K, contiguous(0x5000), RO).map(SZ_4K, SZ_4K, contiguous(0x6000), WO);
        expect(t.walk(0n, 'write')).toEqual({ ok: false, fault: 'write-to-read-only', level: 0 });
        expect(t.walk(SZ_4K, 'read')).toEqual({ ok: false, fault: 'read-from-write-only', level: 0 });
        expect(t.walk(SZ_4K, 'write')).toMatchObject({ ok: true, pa: 0x6000 });
    });
});

describe('ARM levels', () => {
    it('derives the levels and the pgd size from ias', () => {
        expect([39, 40, 48, 32].map((ias) => [table('arm-lpae-s1', ias).levels, table('arm-lpae-s1', ias).root().slots])).toEqual([
            [3, 512],
            [4, 2],
            [4, 512],
            [3, 4],
        ]);
    });

    it('concatenates two level-1 tables for a 40-bit stage 2 instead of a 2-entry level 0', () => {
        const t = table('arm-lpae-s2', 40).map(1n << 39n, SZ_1G, contiguous(0x4000_0000), RW);
        expect(t.levels).toBe(3);
        expect(t.tableBytes).toBe(2 * 4096);
        expect(t.tableAt(TABLE_BASE + 0x1000)).toEqual({ level: 2, pa: TABLE_BASE + 0x1000, iova: 1n << 39n, slots: 512, present: 1 });
        expect(t.walk((1n << 39n) + 5n, 'read')).toMatchObject({ ok: true, pa: 0x4000_0005, level: 2 });
    });

    it('faults beyond ias and refuses to map there (ERANGE)', () => {
        const t = table('arm-lpae-s1', 48);
        expect(t.walk(1n << 48n, 'read')).toEqual({ ok: false, fault: 'beyond-address-width' });
        expect(() => t.map(1n << 48n, SZ_4K, contiguous(0), RW)).toThrow(expect.objectContaining({ errno: 'ERANGE' }));
    });
});

describe('ARM map and unmap (io-pgtable-arm)', () => {
    it('refuses to map over a leaf with EEXIST', () => {
        const t = table('arm-lpae-s1', 48).map(0n, SZ_2M, contiguous(0), RW);
        expect(() => t.map(SZ_4K, SZ_4K, contiguous(0x5000), RW)).toThrow(expect.objectContaining({ errno: 'EEXIST' }));
    });

    it('unmaps nothing when the chunk is smaller than the block it hits ("partial large IOPTE")', () => {
        const t = table('arm-lpae-s1', 48).map(SZ_2M, SZ_2M, contiguous(0x60_0000), RW);
        expect(t.unmap(SZ_2M, SZ_4K).unmapped).toBe(0n);
        expect(t.unmap(SZ_2M + SZ_4K, SZ_4K).unmapped).toBe(0n);
        expect(t.unmap(SZ_2M, SZ_2M).unmapped).toBe(SZ_2M);
    });

    it('frees a whole table where the chunk is a block, counting the full block', () => {
        const t = table('arm-lpae-s1', 48).map(SZ_2M + SZ_4K, SZ_4K, contiguous(0x5000), RW);
        const r = t.unmap(SZ_2M, SZ_2M);
        expect(r.unmapped).toBe(SZ_2M);
        expect(r.table.mappedBytes).toBe(0n);
        expect(r.table.tableCount).toBe(t.tableCount - 1);
    });

    it('stops at a hole', () => {
        const t = table('arm-lpae-s1', 48).map(0n, SZ_4K, contiguous(0x5000), RW).map(2n * SZ_4K, SZ_4K, contiguous(0x7000), RW);
        const r = t.unmap(0n, 3n * SZ_4K);
        expect(r.unmapped).toBe(SZ_4K);
        expect(r.table.walk(2n * SZ_4K, 'read').ok).toBe(true);
    });

    it('replaces a table with a block, dropping what the table mapped (arm_lpae_init_pte)', () => {
        const t = table('arm-lpae-s1', 48).map(SZ_2M + SZ_4K, SZ_4K, contiguous(0x5000), RW).map(SZ_2M, SZ_2M, contiguous(0x40_0000), RW);
        expect(t.walk(SZ_2M + SZ_4K, 'read')).toMatchObject({ ok: true, pa: 0x40_1000, pageSize: SZ_2M });
        expect(t.mappedBytes).toBe(SZ_2M);
    });
});
