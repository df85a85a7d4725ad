/**
 * Dirty tracking round trips: the hardware sets A/D (or clears ARM's AP[2]) on access,
 * read_and_clear_dirty reports each dirty leaf whole and cleans it unless told not to.
 */

import { describe, expect, it } from 'vitest';
import { MapError } from '../../../../engine/iommu/pgtable/index.js';
import { contiguous, leafEntry, RO, RW, SZ_2M, SZ_4K, SZ_4M, SZ_8K, table, tableOn } from './helpers.js';

describe('vtd-ss dirty tracking', () => {
    const base = table('vtd-ss', 48)
        .map(0n, SZ_4K, contiguous(0x5000), RW)
        .map(SZ_4K, SZ_4K, contiguous(0x6000), RO)
        .map(SZ_2M, SZ_2M, contiguous(0x4000_0000), RW);

    it('sets A on every entry of the walk for a read, and D on the leaf for a write', () => {
        const read = base.recordAccess(SZ_2M + 0x1000n, 'read');
        expect(leafEntry(read, SZ_2M).raw).toBe(0x4000_0183n);
        expect(read.entries(read.root(), 0, 1)[0].accessed).toBe(true);
        expect(read.walk(SZ_2M, 'read')).toMatchObject({ ok: true, dirty: false });
        const written = read.recordAccess(SZ_2M + 0x5000n, 'write');
        expect(leafEntry(written, SZ_2M).raw).toBe(0x4000_0383n);
        expect(written.walk(SZ_2M, 'read')).toMatchObject({ ok: true, dirty: true });
        // The earlier versions are untouched.
        expect(leafEntry(base, SZ_2M).raw).toBe(0x4000_0083n);
        expect(read.walk(SZ_2M, 'read')).toMatchObject({ dirty: false });
    });

    it('changes nothing for a faulting access or bits already set', () => {
        expect(base.recordAccess(SZ_4K, 'write')).toBe(base);
        expect(base.recordAccess(3n * SZ_4K, 'read')).toBe(base);
        const once = base.recordAccess(0n, 'write');
        expect(once.recordAccess(0n, 'write')).toBe(once);
    });

    it('reports a dirty 2M leaf as 2M, cleans it, and keeps it with noClear', () => {
        const dirty = base.recordAccess(SZ_2M + 0x5000n, 'write').recordAccess(0n, 'write');
        const peek = dirty.readAndClearDirty(0n, SZ_4M, true);
        expect(peek.dirty).toEqual([
            { iova: 0n, size: SZ_4K },
            { iova: SZ_2M, size: SZ_2M },
        ]);
        expect(peek.table).toBe(dirty);
        const cleared = dirty.readAndClearDirty(SZ_2M + SZ_4K, SZ_4K, false);
        expect(cleared.dirty).toEqual([{ iova: SZ_2M, size: SZ_2M }]);
        expect(cleared.table.walk(SZ_2M, 'read')).toMatchObject({ dirty: false });
        expect(cleared.table.walk(0n, 'read')).toMatchObject({ dirty: true });
        expect(dirty.walk(SZ_2M, 'read')).toMatchObject({ dirty: true });
        expect(cleared.table.clearAllDirty().readAndClearDirty(0n, SZ_4M, true).dirty).toEqual([]);
        expect([...dirty.leaves(0n, SZ_4M)].map((l) => l.dirty)).toEqual([true, false, true]);
    });
});

describe('amd-v1 dirty tracking', () => {
    it('reports a contiguous 8K leaf whole when the IOMMU dirtied one of its slots', () => {
        const t = table('amd-v1', 64).map(SZ_8K, SZ_8K, contiguous(0x8000), RW).recordAccess(0x3000n, 'write');
        const slots = t.entries(tableOn(t, SZ_8K, 0), 2, 2);
        expect(slots.map((e) => e.dirty)).toEqual([false, true]);
        expect(t.walk(SZ_8K, 'read')).toMatchObject({ ok: true, dirty: true });
        const r = t.readAndClearDirty(0n, SZ_2M, false);
        expect(r.dirty).toEqual([{ iova: SZ_8K, size: SZ_8K }]);
        expect(r.table.entries(tableOn(r.table, SZ_8K, 0), 2, 2).map((e) => e.dirty)).toEqual([false, false]);
    });
});

describe('arm-lpae-s1 dirty tracking (HTTU)', () => {
    const t = table('arm-lpae-s1', 48, { dirtyCapable: true }).map(0n, SZ_4K, contiguous(0x5000), RW).map(SZ_4K, SZ_4K, contiguous(0x6000), RO);

    it('starts writable leaves dirty; clearing sets AP[2] (writable-clean) and a write clears it', () => {
        expect(t.readAndClearDirty(0n, SZ_2M, true).dirty).toEqual([{ iova: 0n, size: SZ_4K }]);
        const clean = t.clearAllDirty();
        expect(leafEntry(clean, 0n).raw).toBe(0x0008_0000_0000_5ec3n);
        expect(clean.walk(0n, 'write')).toMatchObject({ ok: true, dirty: false, prot: { write: true } });
        const written = clean.recordAccess(0n, 'write');
        expect(leafEntry(written, 0n).raw).toBe(0x0008_0000_0000_5e43n);
        expect(written.readAndClearDirty(0n, SZ_2M, false).dirty).toEqual([{ iova: 0n, size: SZ_4K }]);
        expect(clean.recordAccess(SZ_4K, 'write')).toBe(clean);
        expect(clean.walk(SZ_4K, 'write')).toMatchObject({ ok: false, fault: 'write-to-read-only' });
    });

    it('has no dirty tracking at stage 2 (arm_lpae_read_and_clear_dirty takes stage 1 only)', () => {
        const s2 = table('arm-lpae-s2', 48).map(0n, SZ_4K, contiguous(0x5000), RW);
        expect(() => s2.readAndClearDirty(0n, SZ_4K, false)).toThrow(MapError);
        expect(s2.recordAccess(0n, 'write')).toBe(s2);
    });
});
