/**
 * VT-d second stage (generic_pt/fmt/vtdss.h): entry bits, levels, faults, and generic_pt's
 * map/unmap rules as a user of the table sees them.
 */

import { describe, expect, it } from 'vitest';
import { MapError } from '../../../../engine/iommu/pgtable/index.js';
import { contiguous, leafEntry, pages, RO, RW, SZ_1G, SZ_2M, SZ_4K, table, TABLE_BASE, WO } from './helpers.js';

describe('vtd-ss entries', () => {
    it('writes a 4K leaf as address | R | W (no present bit) under R|W table entries', () => {
        const t = table('vtd-ss', 48).map(0x1000n, SZ_4K, contiguous(0x1234_5000), RW);
        expect(leafEntry(t, 0x1000n)).toEqual({ raw: 0x1234_5003n, level: 0, flags: [] });
        // Root → table 1 → table 2 → table 3, each entry R|W and the next table's address.
        const [top] = t.entries(t.root(), 0, 1);
        expect(top.raw).toBe(BigInt(TABLE_BASE + 0x1000) | 3n);
        expect(t.walk(0x1abcn, 'write')).toEqual({
            ok: true,
            pa: 0x1234_5abc,
            pageSize: SZ_4K,
            level: 0,
            prot: { read: true, write: true, cache: false },
            dirty: false,
        });
    });

    it('writes 2M and 1G leaves with PS at levels 1 and 2', () => {
        const t = table('vtd-ss', 48)
            .map(0x20_0000n, SZ_2M, contiguous(0x4000_0000), RW)
            .map(0x4000_0000n, SZ_1G, contiguous(0x8000_0000), RO);
        expect(leafEntry(t, 0x20_0000n)).toEqual({ raw: 0x4000_0083n, level: 1, flags: ['PS'] });
        expect(leafEntry(t, 0x4000_0000n)).toEqual({ raw: 0x8000_0081n, level: 2, flags: ['PS'] });
        expect(t.walk(0x7fff_fff0n, 'read')).toMatchObject({ ok: true, pa: 0xbfff_fff0, pageSize: SZ_1G, level: 2 });
    });

    it('maps a 2M-aligned IOVA over a PA that is not 2M aligned with 4K leaves', () => {
        const t = table('vtd-ss', 48).map(0x20_0000n, SZ_2M, contiguous(0x4000_1000), RW);
        expect(t.walk(0x20_0000n, 'read')).toMatchObject({ ok: true, pa: 0x4000_1000, pageSize: SZ_4K, level: 0 });
        expect([...t.leaves(0n, 0xffff_ffffn)]).toHaveLength(512);
    });

    it('uses 4K leaves when the physical memory is only 4K contiguous', () => {
        const pas = Array.from({ length: 512 }, (_, i) => 0x8000_0000 + i * 0x2000);
        const t = table('vtd-ss', 48).map(0x20_0000n, SZ_2M, pages(pas), RW);
        expect(t.walk(0x20_3004n, 'read')).toMatchObject({ ok: true, pa: 0x8000_6004, pageSize: SZ_4K });
    });

    it('sets SNP on leaves under forceSnoop, and a read-only leaf refuses writes', () => {
        const t = table('vtd-ss', 48, { forceSnoop: true }).map(0n, SZ_4K, contiguous(0x5000), RO);
        expect(leafEntry(t, 0n)).toEqual({ raw: 0x5801n, level: 0, flags: ['SNP'] });
        expect(t.walk(0n, 'write')).toEqual({ ok: false, fault: 'write-to-read-only', level: 0 });
        expect(t.walk(0n, 'read')).toMatchObject({ ok: true, prot: { read: true, write: false, cache: true } });
    });

    it('expresses write-only: reads fault', () => {
        const t = table('vtd-ss', 48).map(0n, SZ_4K, contiguous(0x5000), WO);
        expect(leafEntry(t, 0n).raw).toBe(0x5002n);
        expect(t.walk(0n, 'read')).toEqual({ ok: false, fault: 'read-from-write-only', level: 0 });
        expect(t.walk(0n, 'write').ok).toBe(true);
    });

    it('refuses a leaf with neither R nor W (EINVAL)', () => {
        expect(() => table('vtd-ss', 48).map(0n, SZ_4K, contiguous(0x5000), { read: false, write: false }))
            .toThrow(expect.objectContaining({ errno: 'EINVAL' }));
    });

    it('refuses unaligned IOVAs, sizes and PAs (EINVAL)', () => {
        const t = table('vtd-ss', 48);
        expect(() => t.map(0x800n, SZ_4K, contiguous(0x5000), RW)).toThrow(MapError);
        expect(() => t.map(0n, 0x1800n, contiguous(0x5000), RW)).toThrow(MapError);
        expect(() => t.map(0n, SZ_4K, contiguous(0x5800), RW)).toThrow(expect.objectContaining({ errno: 'EINVAL' }));
    });
});

describe('vtd-ss levels and width', () => {
    it('has 3, 4 and 5 levels for 39, 48 and 57-bit input', () => {
        expect(table('vtd-ss', 39).levels).toBe(3);
        expect(table('vtd-ss', 48).levels).toBe(4);
        expect(table('vtd-ss', 57).levels).toBe(5);
        expect(table('vtd-ss', 46).root().slots).toBe(128);
    });

    it('translates above 2^48 with 5 levels', () => {
        const t = table('vtd-ss', 57).map(1n << 56n, SZ_4K, contiguous(0x7000), RW);
        expect(t.root().level).toBe(4);
        expect(t.entries(t.root(), 256, 1)[0].present).toBe(true);
        expect(t.walk((1n << 56n) + 8n, 'read')).toMatchObject({ ok: true, pa: 0x7008 });
        expect(t.tableCount).toBe(5);
    });

    it('faults beyond the input width and refuses to map there (ERANGE)', () => {
        const t = table('vtd-ss', 39);
        expect(t.walk(1n << 39n, 'read')).toEqual({ ok: false, fault: 'beyond-address-width' });
        expect(t.walk((1n << 39n) - 1n, 'read')).toEqual({ ok: false, fault: 'not-present', level: 2 });
        expect(() => t.map((1n << 39n) - SZ_4K, 2n * SZ_4K, contiguous(0), RW)).toThrow(expect.objectContaining({ errno: 'ERANGE' }));
    });
});

describe('vtd-ss map and unmap (generic_pt)', () => {
    it('refuses to map over a present entry with EADDRINUSE and leaves the table as it was', () => {
        const t = table('vtd-ss', 48).map(0x20_0000n, SZ_2M, contiguous(0x4000_0000), RW);
        expect(() => t.map(0x20_1000n, SZ_4K, contiguous(0x9000), RW)).toThrow(expect.objectContaining({ errno: 'EADDRINUSE' }));
        expect(() => t.map(0n, 4n * SZ_2M, contiguous(0x1_0000_0000), RW)).toThrow(expect.objectContaining({ errno: 'EADDRINUSE' }));
        expect(t.walk(0n, 'read')).toMatchObject({ ok: false, fault: 'not-present' });
        expect(t.mappedBytes).toBe(SZ_2M);
    });

    it('unmaps nothing when the range starts inside a large leaf', () => {
        const t = table('vtd-ss', 48).map(0x20_0000n, SZ_2M, contiguous(0x4000_0000), RW);
        const r = t.unmap(0x20_1000n, SZ_4K);
        expect(r.unmapped).toBe(0n);
        expect(r.table.walk(0x20_1000n, 'read').ok).toBe(true);
    });

    it('removes a large leaf whole when the range covers only its start', () => {
        const t = table('vtd-ss', 48).map(0x20_0000n, SZ_2M, contiguous(0x4000_0000), RW);
        const r = t.unmap(0x20_0000n, SZ_4K);
        expect(r.unmapped).toBe(SZ_2M);
        expect(r.table.walk(0x3f_f000n, 'read')).toEqual({ ok: false, fault: 'not-present', level: 1 });
        expect(r.table.mappedBytes).toBe(0n);
    });

    it('stops at the first hole and keeps what follows it', () => {
        const t = table('vtd-ss', 48)
            .map(0n, 3n * SZ_4K, contiguous(0x10_0000), RW)
            .map(4n * SZ_4K, SZ_4K, contiguous(0x20_0000), RW);
        const r = t.unmap(0n, 5n * SZ_4K);
        expect(r.unmapped).toBe(3n * SZ_4K);
        expect(r.table.walk(4n * SZ_4K, 'read').ok).toBe(true);
        expect(t.unmap(3n * SZ_4K, 2n * SZ_4K).unmapped).toBe(0n);
    });

    it('frees the tables an unmap covers and keeps partly covered ones, even empty', () => {
        let t = table('vtd-ss', 48).map(0n, SZ_4K, contiguous(0x5000), RW);
        expect(t.tableCount).toBe(4);
        t = t.unmap(0n, SZ_4K).table;
        // The range did not cover the whole level-0 table: it stays, empty.
        expect(t.tableCount).toBe(4);
        expect(t.walk(0n, 'read')).toEqual({ ok: false, fault: 'not-present', level: 0 });
        t = t.map(0n, SZ_2M, contiguous(0x20_0000), RW);
        // clear_contig: a 2M leaf replaces the empty table.
        expect(t.tableCount).toBe(3);
        t = t.map(SZ_2M, SZ_2M, contiguous(0x5000_0000 + 0x1000), RW);
        expect(t.tableCount).toBe(4);
        t = t.unmap(0n, 2n * SZ_2M).table;
        expect(t.tableCount).toBe(3);
        expect(t.tableBytes).toBe(3 * 4096);
    });

    it('returns 0 for an empty, unaligned or out-of-range unmap', () => {
        const t = table('vtd-ss', 39).map(0n, SZ_4K, contiguous(0x5000), RW);
        expect(t.unmap(0n, 0n).unmapped).toBe(0n);
        expect(t.unmap(0x800n, SZ_4K).unmapped).toBe(0n);
        expect(t.unmap(0n, 1n << 40n).unmapped).toBe(0n);
    });
});
