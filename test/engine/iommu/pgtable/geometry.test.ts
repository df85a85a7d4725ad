/**
 * `pageTableGeometry`: levels, aperture and page sizes per format and width, and the
 * configurations `createIoPageTable` refuses.
 */

import { describe, expect, it } from 'vitest';
import { createIoPageTable, MapError, pageTableGeometry } from '../../../../engine/iommu/pgtable/index.js';
import { AMD_PGSIZES, PGSIZES_4K_2M_1G, SZ_4K } from './helpers.js';

const U64_MAX = (1n << 64n) - 1n;

describe('pageTableGeometry', () => {
    it('gives VT-d second stage 3/4/5 levels for 39/48/57 bits, aperture [0, 2^vasz - 1]', () => {
        expect(pageTableGeometry('vtd-ss', 39)).toEqual({ levels: 3, maxLevels: 3, ias: 39, aperture: { start: 0n, end: (1n << 39n) - 1n }, pgsizeBitmap: PGSIZES_4K_2M_1G });
        expect(pageTableGeometry('vtd-ss', 48).levels).toBe(4);
        expect(pageTableGeometry('vtd-ss', 57).levels).toBe(5);
    });

    it('gives x86-64 the lower half of the sign-extended space', () => {
        expect(pageTableGeometry('x86-64', 48)).toMatchObject({ levels: 4, aperture: { start: 0n, end: (1n << 47n) - 1n } });
        expect(pageTableGeometry('x86-64', 57)).toMatchObject({ levels: 5, aperture: { start: 0n, end: (1n << 56n) - 1n } });
    });

    it('starts AMD v1 at 3 levels and lets it grow to cover the width', () => {
        expect(pageTableGeometry('amd-v1', 64)).toEqual({ levels: 3, maxLevels: 6, ias: 64, aperture: { start: 0n, end: U64_MAX }, pgsizeBitmap: AMD_PGSIZES });
        // get_info only offers sizes of levels narrower than the width: up to 2^47 at 48 bits.
        expect(pageTableGeometry('amd-v1', 48)).toMatchObject({ maxLevels: 4, pgsizeBitmap: ((1n << 48n) - 1n) & ~0xfffn & ~(1n << 39n) });
    });

    it('derives ARM LPAE levels from ias, concatenating at stage 2', () => {
        expect(pageTableGeometry('arm-lpae-s1', 48)).toMatchObject({ levels: 4, pgsizeBitmap: PGSIZES_4K_2M_1G });
        expect(pageTableGeometry('arm-lpae-s1', 40).levels).toBe(4);
        expect(pageTableGeometry('arm-lpae-s2', 40).levels).toBe(3);
    });

    it('refuses widths the format cannot translate', () => {
        expect(() => pageTableGeometry('vtd-ss', 64)).toThrow(MapError);
        expect(() => pageTableGeometry('x86-64', 30)).toThrow(MapError);
        expect(() => pageTableGeometry('arm-lpae-s1', 52)).toThrow(MapError);
    });
});

describe('createIoPageTable configuration', () => {
    it('refuses a bitmap with no size the format holds, and an unaligned table base', () => {
        expect(() => createIoPageTable({ format: 'vtd-ss', ias: 48, pgsizeBitmap: 1n << 13n, tablePaBase: 0 })).toThrow(expect.objectContaining({ errno: 'EINVAL' }));
        expect(() => createIoPageTable({ format: 'vtd-ss', ias: 48, pgsizeBitmap: SZ_4K, tablePaBase: 0x800 })).toThrow(expect.objectContaining({ errno: 'EINVAL' }));
    });

    it('narrows page sizes to the bitmap: 4K only means 4K leaves (intel_iommu=sp_off)', () => {
        const t = createIoPageTable({ format: 'vtd-ss', ias: 48, pgsizeBitmap: SZ_4K, tablePaBase: 0 });
        const mapped = t.map(0n, 1n << 21n, (off) => ({ pa: Number(off), length: (1n << 21n) - off }), { read: true, write: true });
        expect(mapped.walk(0n, 'read')).toMatchObject({ ok: true, pageSize: SZ_4K });
    });
});
