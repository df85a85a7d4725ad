/**
 * Intel VT-d second-stage entries (drivers/iommu/generic_pt/fmt/vtdss.h; VT-d spec 9.8).
 * No present bit: an entry is present iff R or W is set. Leaves at levels 1-2 carry PS.
 */

import { entryPfn, pfnHi, pfnLo } from './bits.js';
import { ENTRY_EMPTY, ENTRY_LEAF, ENTRY_TABLE } from './format.js';
import type { EntryKind, EntryWords, PtFormat } from './format.js';
import type { PageTableConfig, Prot } from './types.js';

const R = 1 << 0;
const W = 1 << 1;
const PS = 1 << 7;
const A = 1 << 8;
const D = 1 << 9;
const SNP = 1 << 11;
const ADDR_HI = 0xf_ffff;

/** The VT-d second-stage format. */
export const vtdssFormat: PtFormat = {
    format: 'vtd-ss',
    family: 'generic-pt',
    addrHiMask: ADDR_HI,
    oasLg2: 52,
    overlapErrno: 'EADDRINUSE',
    hasDirtyTracking: true,

    possibleSizes(level: number): readonly number[] {
        // vtdss_pt_can_have_leaf: levels 0-2 (4K, 2M with PS, 1G with PS).
        return level <= 2 ? [9 * level] : [];
    },

    kind(lo: number, _hi: number, level: number): EntryKind {
        // vtdss_pt_iommu_set_prot: "VTDSS does not have a present bit" - present iff R or W.
        if ((lo & (R | W)) === 0) {
            return ENTRY_EMPTY;
        }
        if (level === 0 || (level <= 2 && (lo & PS) !== 0)) {
            return ENTRY_LEAF;
        }
        return ENTRY_TABLE;
    },

    tablePfn(lo: number, hi: number): number {
        return entryPfn(lo, hi, ADDR_HI);
    },

    leafSizeLg2(_lo: number, _hi: number, level: number): number {
        return 9 * level;
    },

    leafPfn(lo: number, hi: number): number {
        return entryPfn(lo, hi, ADDR_HI);
    },

    writeTable(page: Uint32Array, slot: number, _level: number, pfn: number): void {
        // vtdss_pt_install_table: R|W and the table address.
        page[2 * slot] = R | W | pfnLo(pfn);
        page[2 * slot + 1] = pfnHi(pfn, ADDR_HI);
    },

    leafTemplate(level: number, _sizeLg2: number, prot: Prot, config: PageTableConfig): EntryWords {
        // vtdss_pt_iommu_set_prot + vtdss_pt_install_leaf_entry (PS above level 0).
        let lo = 0;
        if (prot.read) {
            lo |= R;
        }
        if (prot.write) {
            lo |= W;
        }
        if (config.forceSnoop) {
            lo |= SNP;
        }
        if (level !== 0) {
            lo |= PS;
        }
        return { lo, hi: 0 };
    },

    leafPfnField(pfn: number): number {
        return pfn;
    },

    leafProt(lo: number): Prot {
        return { read: (lo & R) !== 0, write: (lo & W) !== 0, cache: (lo & SNP) !== 0 };
    },

    isDirty(lo: number): boolean {
        return (lo & D) !== 0;
    },

    isAccessed(lo: number): boolean {
        return (lo & A) !== 0;
    },

    afterAccess(lo: number, hi: number, leaf: boolean, write: boolean): EntryWords {
        // With SSADE the IOMMU sets A in every second-stage entry it uses, and D on a written leaf.
        return { lo: lo | A | (leaf && write ? D : 0), hi };
    },

    writeClean(lo: number, hi: number): EntryWords {
        return { lo: lo & ~D, hi };
    },

    flags(lo: number, _hi: number, level: number, kind: EntryKind): string[] {
        const out: string[] = [];
        if (kind === ENTRY_LEAF && level > 0 && (lo & PS) !== 0) {
            out.push('PS');
        }
        if ((lo & SNP) !== 0) {
            out.push('SNP');
        }
        return out;
    },
};
