/**
 * AMD IOMMU v1 host page-table entries (drivers/iommu/generic_pt/fmt/amdv1.h; AMD IOMMU spec
 * 2.2.3). NextLevel 0 is a leaf of the level's natural size, 1-6 a table, 7 a leaf whose size is
 * the run of 1s at the bottom of the address field plus one (8K, 16K, ... 4M, ...), replicated over
 * every slot it covers.
 */

import { entryPfn, pfnHi, pfnLo, trailingOnes } from './bits.js';
import { ENTRY_EMPTY, ENTRY_LEAF, ENTRY_TABLE } from './format.js';
import type { EntryKind, EntryWords, PtFormat } from './format.js';
import type { PageTableConfig, Prot } from './types.js';

const PR = 1 << 0;
/** Accessed: AMD spec PTE/PDE bit 5 (set by the IOMMU when DTE.HAD enables it; amdv1.h does not name it). */
const A = 1 << 5;
const D = 1 << 6;
const NL_SHIFT = 9;
const NL_SIZE = 7;
/** U (bit 59), FC (60), IR (61), IW (62) sit in the high word. */
const U_HI = 1 << 27;
const FC_HI = 1 << 28;
const IR_HI = 1 << 29;
const IW_HI = 1 << 30;
const ADDR_HI = 0xf_ffff;
/** 512G pages are not supported "due to a hardware bug" (amdv1pt_possible_sizes): 2^27 pages. */
const SZ_512G_LG2 = 27;
/** PT_MAX_TOP_LEVEL: the level-5 table cannot hold leaves. */
const MAX_TOP_LEVEL = 5;

function nextLevel(lo: number): number {
    return (lo >>> NL_SHIFT) & 7;
}

/** The AMD v1 format. */
export const amdv1Format: PtFormat = {
    format: 'amd-v1',
    family: 'generic-pt',
    addrHiMask: ADDR_HI,
    oasLg2: 52,
    overlapErrno: 'EADDRINUSE',
    hasDirtyTracking: true,

    possibleSizes(level: number): readonly number[] {
        // amdv1pt_possible_sizes: every power of two from the item size up to 8 doublings,
        // capped at 2^51 bytes (2^39 pages), without 512G; none at the top-most level.
        if (level >= MAX_TOP_LEVEL) {
            return [];
        }
        const out: number[] = [];
        for (let s = 9 * level; s <= Math.min(39, 9 * level + 8); s++) {
            if (s !== SZ_512G_LG2) {
                out.push(s);
            }
        }
        return out;
    },

    kind(lo: number, _hi: number, level: number): EntryKind {
        // amdv1pt_load_entry_raw.
        if ((lo & PR) === 0) {
            return ENTRY_EMPTY;
        }
        const nl = nextLevel(lo);
        if (level === 0 || nl === 0 || nl === NL_SIZE) {
            return ENTRY_LEAF;
        }
        return ENTRY_TABLE;
    },

    tablePfn(lo: number, hi: number): number {
        return entryPfn(lo, hi, ADDR_HI);
    },

    leafSizeLg2(lo: number, hi: number, level: number): number {
        // amdv1pt_entry_num_contig_lg2: the size is encoded by the string of 1s in the low OA bits.
        if (nextLevel(lo) === NL_SIZE) {
            return trailingOnes(entryPfn(lo, hi, ADDR_HI)) + 1;
        }
        return 9 * level;
    },

    leafPfn(lo: number, hi: number): number {
        // amdv1pt_entry_oa: clear the run of 1s to get the start of the contiguous page.
        const field = entryPfn(lo, hi, ADDR_HI);
        if (nextLevel(lo) === NL_SIZE) {
            return field - (2 ** trailingOnes(field) - 1);
        }
        return field;
    },

    writeTable(page: Uint32Array, slot: number, level: number, pfn: number): void {
        // amdv1pt_install_table: NextLevel = this level, IR|IW always ("IR and IW are ANDed").
        page[2 * slot] = PR | (level << NL_SHIFT) | pfnLo(pfn);
        page[2 * slot + 1] = IR_HI | IW_HI | pfnHi(pfn, ADDR_HI);
    },

    leafTemplate(level: number, sizeLg2: number, prot: Prot, config: PageTableConfig): EntryWords {
        // amdv1pt_iommu_set_prot + amdv1pt_install_leaf_entry.
        const lo = PR | (sizeLg2 === 9 * level ? 0 : NL_SIZE << NL_SHIFT);
        let hi = 0;
        if (config.forceSnoop) {
            hi |= FC_HI;
        }
        if (prot.read) {
            hi |= IR_HI;
        }
        if (prot.write) {
            hi |= IW_HI;
        }
        return { lo, hi };
    },

    leafPfnField(pfn: number, level: number, sizeLg2: number): number {
        // NextLevel 7: OA |= 2^(oasz_lg2 - 12 - 1) - 1 (the frame is aligned, so OR is an add).
        if (sizeLg2 === 9 * level) {
            return pfn;
        }
        return pfn + (2 ** (sizeLg2 - 1) - 1);
    },

    leafProt(_lo: number, hi: number): Prot {
        return { read: (hi & IR_HI) !== 0, write: (hi & IW_HI) !== 0, cache: (hi & FC_HI) !== 0 };
    },

    isDirty(lo: number): boolean {
        return (lo & D) !== 0;
    },

    isAccessed(lo: number): boolean {
        return (lo & A) !== 0;
    },

    afterAccess(lo: number, hi: number, leaf: boolean, write: boolean): EntryWords {
        return { lo: lo | A | (leaf && write ? D : 0), hi };
    },

    writeClean(lo: number, hi: number): EntryWords {
        return { lo: lo & ~D, hi };
    },

    flags(lo: number, hi: number): string[] {
        const out: string[] = [`NextLevel=${nextLevel(lo)}`];
        if ((hi & FC_HI) !== 0) {
            out.push('FC');
        }
        if ((hi & U_HI) !== 0) {
            out.push('U');
        }
        return out;
    },
};
