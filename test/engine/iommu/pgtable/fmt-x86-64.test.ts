/**
 * x86-64 format (VT-d first stage, AMD v2; generic_pt/fmt/x86_64.h): entry bits, sign-extended
 * aperture, and "every present leaf is readable".
 */

import { describe, expect, it } from 'vitest';
import { MapError } from '../../../../engine/iommu/pgtable/index.js';
import { contiguous, leafEntry, RO, RW, SZ_1G, SZ_2M, SZ_4K, table, TABLE_BASE, WO } from './helpers.js';

describe('x86-64 entries', () => {
    it('writes leaves as P|U|A, plus RW|D when writable, and tables as P|RW|U|A', () => {
        const t = table('x86-64', 48)
            .map(0n, SZ_4K, contiguous(0x5000), RW)
            .map(SZ_4K, SZ_4K, contiguous(0x6000), RO);
        expect(leafEntry(t, 0n)).toEqual({ raw: 0x5067n, level: 0, flags: ['U'] });
        expect(leafEntry(t, SZ_4K)).toEqual({ raw: 0x6025n, level: 0, flags: ['U'] });
        expect(t.entries(t.root(), 0, 1)[0].raw).toBe(BigInt(TABLE_BASE + 0x1000) | 0x27n);
    });

    it('writes 2M and 1G leaves with PS', () => {
        const t = table('x86-64', 48)
            .map(SZ_2M, SZ_2M, contiguous(0x60_0000), RO)
            .map(SZ_1G, SZ_1G, contiguous(0x8000_0000), RW);
        expect(leafEntry(t, SZ_2M)).toEqual({ raw: 0x60_00a5n, level: 1, flags: ['U', 'PS'] });
        expect(leafEntry(t, SZ_1G)).toEqual({ raw: 0x8000_00e7n, level: 2, flags: ['U', 'PS'] });
    });

    it('makes a WRITE-only map readable and writable (no "not readable" encoding)', () => {
        const t = table('x86-64', 48).map(0n, SZ_4K, contiguous(0x5000), WO);
        expect(leafEntry(t, 0n).raw).toBe(0x5067n);
        expect(t.walk(0n, 'read')).toMatchObject({ ok: true, prot: { read: true, write: true } });
    });

    it('faults a write to a READ-only leaf', () => {
        const t = table('x86-64', 48).map(0n, SZ_4K, contiguous(0x5000), RO);
        expect(t.walk(0x10n, 'write')).toEqual({ ok: false, fault: 'write-to-read-only', level: 0 });
        expect(t.walk(0x10n, 'read')).toMatchObject({ ok: true, pa: 0x5010 });
    });

    it('does not set XD for IOMMU_NOEXEC (x86_64_pt_iommu_set_prot ignores it)', () => {
        const t = table('x86-64', 48).map(0n, SZ_4K, contiguous(0x5000), { read: true, write: true, noexec: true });
        expect(leafEntry(t, 0n).raw).toBe(0x5067n);
    });
});

describe('x86-64 levels and the sign-extended aperture', () => {
    it('has 4 levels for 48-bit and 5 for 57-bit input', () => {
        expect(table('x86-64', 48).levels).toBe(4);
        expect(table('x86-64', 57).levels).toBe(5);
    });

    it('translates only the lower half: IOVA < 2^47 (4-level), < 2^56 (5-level)', () => {
        const t4 = table('x86-64', 48).map((1n << 47n) - SZ_4K, SZ_4K, contiguous(0x5000), RW);
        expect(t4.walk((1n << 47n) - 1n, 'read')).toMatchObject({ ok: true, pa: 0x5fff });
        expect(t4.walk(1n << 47n, 'read')).toEqual({ ok: false, fault: 'beyond-address-width' });
        expect(t4.walk(0xffff_8000_0000_0000n, 'read')).toEqual({ ok: false, fault: 'beyond-address-width' });
        expect(() => t4.map(1n << 47n, SZ_4K, contiguous(0), RW)).toThrow(expect.objectContaining({ errno: 'ERANGE' }));
        const t5 = table('x86-64', 57).map((1n << 56n) - SZ_2M, SZ_2M, contiguous(0x20_0000), RW);
        expect(t5.walk((1n << 56n) - 1n, 'read')).toMatchObject({ ok: true, level: 1 });
        expect(t5.walk(1n << 56n, 'read')).toEqual({ ok: false, fault: 'beyond-address-width' });
        // The lower half's last PML5 slot is 255.
        expect(t5.entries(t5.root(), 255, 1)[0].present).toBe(true);
    });

    it('has no dirty tracking (read_and_clear_dirty is not implemented for the format)', () => {
        const t = table('x86-64', 48).map(0n, SZ_4K, contiguous(0x5000), RW);
        expect(() => t.readAndClearDirty(0n, SZ_4K, false)).toThrow(MapError);
        expect(() => t.clearAllDirty()).toThrow(MapError);
        // The hardware's A/D are already set on a writable leaf: an access changes nothing.
        expect(t.recordAccess(0n, 'write')).toBe(t);
    });
});
