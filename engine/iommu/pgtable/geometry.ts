/**
 * Levels, top-table size, aperture and page sizes of each format for an input address width:
 * `pt_iommu_fmt_init` + `_pt_top_range` + `get_info` of generic_pt, and `arm_lpae_alloc_pgtable`
 * for io-pgtable-arm.
 */

import type { PageTableFormat } from '../../state.js';
import { PAGE_SHIFT } from './bits.js';
import type { PtFormat } from './format.js';
import { amdv1Format } from './fmt-amdv1.js';
import { armS1Format, armS2Format } from './fmt-arm-lpae.js';
import { vtdssFormat } from './fmt-vtdss.js';
import { x86_64Format } from './fmt-x86-64.js';
import { MapError } from './types.js';

/** What a format looks like at one input width; for domain setup and for views. */
export interface PageTableGeometry {
    /** Levels the table has when created (AMD v1 starts at 3 and grows on demand). */
    readonly levels: number;
    /** Levels the table can grow to (equal to `levels` except for AMD v1). */
    readonly maxLevels: number;
    /** Input address bits the table translates (vasz / ias). */
    readonly ias: number;
    /** IOVAs the table can translate: the domain's `geometry.aperture_start/end`. */
    readonly aperture: { readonly start: bigint; readonly end: bigint };
    /** Page sizes the format offers at this width (`pgsize_bitmap` before driver narrowing). */
    readonly pgsizeBitmap: bigint;
}

/** The internal shape of one table lineage (fixed for its life; AMD's top level is per version). */
export interface TableLayout {
    readonly fmt: PtFormat;
    readonly ias: number;
    /** Top level at creation. */
    readonly initialTop: number;
    /** Highest top level (PT_FEAT_DYNAMIC_TOP grows up to it). */
    readonly maxTop: number;
    /** IOVA of the aperture's last byte, and its frame number. */
    readonly apertureEnd: bigint;
    readonly apertureEndPfn: number;
    /** log2 of the entries in the top table at top level `top` (may exceed 9: ARM S2 concatenation). */
    topSlotsLg2(top: number): number;
}

const FORMATS: Readonly<Record<PageTableFormat, PtFormat>> = {
    'vtd-ss': vtdssFormat,
    'x86-64': x86_64Format,
    'amd-v1': amdv1Format,
    'arm-lpae-s1': armS1Format,
    'arm-lpae-s2': armS2Format,
};

/** The entry format of `format`. */
export function formatOf(format: PageTableFormat): PtFormat {
    return FORMATS[format];
}

function invalid(message: string): MapError {
    return new MapError('EINVAL', message);
}

/** Input bits left for the top table once the levels below it took 9 each. */
function topBits(ias: number, top: number): number {
    return ias - PAGE_SHIFT - 9 * top;
}

function vtdssLayout(ias: number): Pick<TableLayout, 'initialTop' | 'maxTop' | 'topSlotsLg2'> {
    // vtdss_pt_iommu_fmt_init: >48 bits: 5 levels, >39: 4, >30: 3, else -EOPNOTSUPP.
    if (ias > 57 || ias <= 30) {
        throw invalid(`vtd-ss cannot translate ${ias} input bits (vtdss_pt_iommu_fmt_init: 31..57)`);
    }
    const top = ias > 48 ? 4 : ias > 39 ? 3 : 2;
    return { initialTop: top, maxTop: top, topSlotsLg2: (t) => Math.min(9, topBits(ias, t)) };
}

function x86Layout(ias: number): Pick<TableLayout, 'initialTop' | 'maxTop' | 'topSlotsLg2'> {
    // x86_64_pt_iommu_fmt_init: top level (vasz - 31) / 9 + 2 for vasz 31..57.
    if (ias < 31 || ias > 57) {
        throw invalid(`x86-64 cannot translate ${ias} input bits (x86_64_pt_iommu_fmt_init: 31..57)`);
    }
    const top = Math.floor((ias - 31) / 9) + 2;
    return { initialTop: top, maxTop: top, topSlotsLg2: (t) => Math.min(9, topBits(ias, t)) };
}

function amdv1Layout(ias: number): Pick<TableLayout, 'initialTop' | 'maxTop' | 'topSlotsLg2'> {
    // amd/iommu.c: starting_level 2 with PT_FEAT_DYNAMIC_TOP; increase_top() stops at
    // PT_MAX_TOP_LEVEL (5) or once the item size reaches max_vasz_lg2.
    if (ias < 31 || ias > 64) {
        throw invalid(`amd-v1 cannot translate ${ias} input bits (31..64)`);
    }
    let maxTop = 2;
    while (maxTop < 5 && topBits(ias, maxTop) > 9) {
        maxTop++;
    }
    // Level 5 decodes IOVA bits 63:57 only (amdv1pt_num_items_lg2).
    return { initialTop: 2, maxTop, topSlotsLg2: (t) => Math.min(t === 5 ? 7 : 9, topBits(ias, t)) };
}

function armLayout(ias: number, stage2: boolean): Pick<TableLayout, 'initialTop' | 'maxTop' | 'topSlotsLg2'> {
    // arm_lpae_alloc_pgtable: levels = DIV_ROUND_UP(ias - 12, 9); the pgd takes what is left.
    if (ias < 21 || ias > 48) {
        throw invalid(`ARM LPAE (4K granule) cannot translate ${ias} input bits (arm_lpae_alloc_pgtable: up to 48)`);
    }
    const vaBits = ias - PAGE_SHIFT;
    let levels = Math.ceil(vaBits / 9);
    let pgdBits = vaBits - 9 * (levels - 1);
    // arm_64_lpae_alloc_pgtable_s2 + arm_lpae_concat_mandatory: with a 4K granule a walk that
    // would start at level 0 for a 40/42-bit output size concatenates level-1 tables instead.
    // The table has no separate oas, so oas = ias is assumed.
    if (stage2 && levels === 4 && (ias === 40 || ias === 42)) {
        levels--;
        pgdBits += 9;
    }
    const top = levels - 1;
    return { initialTop: top, maxTop: top, topSlotsLg2: () => pgdBits };
}

/** The layout of a table of `format` translating `ias` input bits. */
export function layoutOf(format: PageTableFormat, ias: number): TableLayout {
    if (!Number.isInteger(ias)) {
        throw invalid(`input address width ${ias} is not an integer`);
    }
    let shape: Pick<TableLayout, 'initialTop' | 'maxTop' | 'topSlotsLg2'>;
    switch (format) {
        case 'vtd-ss':
            shape = vtdssLayout(ias);
            break;
        case 'x86-64':
            shape = x86Layout(ias);
            break;
        case 'amd-v1':
            shape = amdv1Layout(ias);
            break;
        case 'arm-lpae-s1':
            shape = armLayout(ias, false);
            break;
        case 'arm-lpae-s2':
            shape = armLayout(ias, true);
            break;
    }
    // PT_FEAT_SIGN_EXTEND (x86-64): only the lower half, [0, 2^(vasz-1) - 1], is the aperture.
    const usable = format === 'x86-64' ? ias - 1 : ias;
    const apertureEnd = (1n << BigInt(usable)) - 1n;
    return {
        fmt: formatOf(format),
        ias,
        ...shape,
        apertureEnd,
        apertureEndPfn: Number(apertureEnd >> BigInt(PAGE_SHIFT)),
    };
}

/** Page sizes (log2 of 4 KiB pages) the format offers at `layout`'s width, all levels. */
function formatPageSizes(layout: TableLayout): number[] {
    const out: number[] = [];
    for (let level = 0; level <= layout.maxTop; level++) {
        // get_info with PT_FEAT_DYNAMIC_TOP: only levels whose item is narrower than max_vasz.
        if (PAGE_SHIFT + 9 * level >= layout.ias) {
            break;
        }
        for (const s of layout.fmt.possibleSizes(level)) {
            // Hide page sizes larger than the maximum OA (get_info's oalog2_mod).
            if (s + PAGE_SHIFT < layout.fmt.oasLg2 && !out.includes(s)) {
                out.push(s);
            }
        }
    }
    return out.sort((a, b) => a - b);
}

/**
 * The geometry of `format` at `addressWidth` input bits: levels (vtd-ss 39/48/57 → 3/4/5,
 * x86-64 48/57 → 4/5, AMD v1 starts at 3 and grows to cover up to the width, ARM LPAE from ias),
 * the aperture (x86-64 keeps only the lower, non sign-extended half), and the format's page sizes
 * (4K|2M|1G, or for AMD v1 every power of two from 4K to 2^51 except 512G that fits the width).
 * Throws `MapError('EINVAL')` for a width the format cannot translate.
 */
export function pageTableGeometry(format: PageTableFormat, addressWidth: number): PageTableGeometry {
    const layout = layoutOf(format, addressWidth);
    let bitmap = 0n;
    for (const s of formatPageSizes(layout)) {
        bitmap |= 1n << BigInt(s + PAGE_SHIFT);
    }
    return {
        levels: layout.initialTop + 1,
        maxLevels: layout.maxTop + 1,
        ias: layout.ias,
        aperture: { start: 0n, end: layout.apertureEnd },
        pgsizeBitmap: bitmap,
    };
}
