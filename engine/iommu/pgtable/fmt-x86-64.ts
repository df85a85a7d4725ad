/**
 * x86-64 paging entries as Intel VT-d first stage and AMD v2 use them
 * (drivers/iommu/generic_pt/fmt/x86_64.h). There is no "not readable" encoding: every present
 * leaf is readable, and a write-only map is read/write.
 */

import { entryPfn, pfnHi, pfnLo } from './bits.js';
import { ENTRY_EMPTY, ENTRY_LEAF, ENTRY_TABLE } from './format.js';
import type { EntryKind, EntryWords, PtFormat } from './format.js';
import type { Prot } from './types.js';

const P = 1 << 0;
const RW = 1 << 1;
const U = 1 << 2;
const A = 1 << 5;
const D = 1 << 6;
const PS = 1 << 7;
/** XD is bit 63: bit 31 of the high word. */
const XD_HI = 1 << 31;
const ADDR_HI = 0xf_ffff;

/** The x86-64 (first-stage / AMD v2) format. */
export const x86_64Format: PtFormat = {
    format: 'x86-64',
    family: 'generic-pt',
    addrHiMask: ADDR_HI,
    oasLg2: 52,
    overlapErrno: 'EADDRINUSE',
    // x86_64.h defines no pt_entry_is_write_dirty: read_and_clear_dirty is -EOPNOTSUPP.
    hasDirtyTracking: false,

    possibleSizes(level: number): readonly number[] {
        // x86_64_pt_can_have_leaf: levels 0-2.
        return level <= 2 ? [9 * level] : [];
    },

    kind(lo: number, _hi: number, level: number): EntryKind {
        if ((lo & P) === 0) {
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
        // x86_64_pt_install_table: P|RW|U|A.
        page[2 * slot] = P | RW | U | A | pfnLo(pfn);
        page[2 * slot + 1] = pfnHi(pfn, ADDR_HI);
    },

    leafTemplate(level: number, _sizeLg2: number, prot: Prot): EntryWords {
        // x86_64_pt_iommu_set_prot: U|A, plus RW|D when writable; install adds P (and PS above 0).
        let lo = P | U | A;
        if (prot.write) {
            lo |= RW | D;
        }
        if (level !== 0) {
            lo |= PS;
        }
        return { lo, hi: 0 };
    },

    leafPfnField(pfn: number): number {
        return pfn;
    },

    leafProt(lo: number, hi: number): Prot {
        return { read: true, write: (lo & RW) !== 0, noexec: (hi & XD_HI) !== 0 };
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

    flags(lo: number, hi: number, level: number, kind: EntryKind): string[] {
        const out: string[] = [];
        if ((lo & U) !== 0) {
            out.push('U');
        }
        if (kind === ENTRY_LEAF && level > 0 && (lo & PS) !== 0) {
            out.push('PS');
        }
        if ((hi & XD_HI) !== 0) {
            out.push('XD');
        }
        return out;
    },
};
