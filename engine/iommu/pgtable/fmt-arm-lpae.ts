/**
 * ARM LPAE long descriptors with the 4 KiB granule (drivers/iommu/io-pgtable-arm.c), stage 1
 * and stage 2. Generic level 0 is ARM lookup level 3 (pages), 1 and 2 are lookup levels 2 and 1
 * (blocks). AF is always set; write-only cannot be expressed at stage 1.
 */

import { entryPfn, pfnHi, pfnLo } from './bits.js';
import { ENTRY_EMPTY, ENTRY_LEAF, ENTRY_TABLE } from './format.js';
import type { EntryKind, EntryWords, PtFormat } from './format.js';
import type { PageTableConfig, Prot } from './types.js';

const TYPE_MASK = 3;
const TYPE_BLOCK = 1;
/** ARM_LPAE_PTE_TYPE_TABLE and ARM_LPAE_PTE_TYPE_PAGE share the encoding 3. */
const TYPE_TABLE_OR_PAGE = 3;
const ATTRINDX_SHIFT = 2;
const ATTR_IDX_CACHE = 1;
const AP_UNPRIV = 1 << 6;
const AP_RDONLY = 1 << 7;
const HAP_READ = 1 << 6;
const HAP_WRITE = 1 << 7;
const MEMATTR_MASK = 0xf << 2;
const MEMATTR_OIWB = 0xf << 2;
const MEMATTR_NC = 0x5 << 2;
const SH_SHIFT = 8;
const SH_OS = 2 << SH_SHIFT;
const SH_IS = 3 << SH_SHIFT;
const AF = 1 << 10;
const NG = 1 << 11;
/** DBM is bit 51, XN bits 54:53: in the high word. */
const DBM_HI = 1 << 19;
const XN_HI = 3 << 21;
/** ARM_LPAE_PTE_ADDR_MASK is bits 47:12 with a 4 KiB granule. */
const ADDR_HI = 0xffff;

function armKind(lo: number, level: number): EntryKind {
    // iopte_leaf / iopte_table: type 3 is a page at the last level and a table above it.
    const type = lo & TYPE_MASK;
    if (level === 0) {
        return type === TYPE_TABLE_OR_PAGE ? ENTRY_LEAF : ENTRY_EMPTY;
    }
    if (type === TYPE_BLOCK) {
        return ENTRY_LEAF;
    }
    return type === TYPE_TABLE_OR_PAGE ? ENTRY_TABLE : ENTRY_EMPTY;
}

/** Shared parts of the stage-1 and stage-2 formats. */
const common = {
    family: 'io-pgtable-arm',
    addrHiMask: ADDR_HI,
    // The 4 KiB-granule descriptor holds address bits 47:12 (52-bit OA needs the 64 KiB granule).
    oasLg2: 48,
    overlapErrno: 'EEXIST',

    possibleSizes(level: number): readonly number[] {
        // arm_lpae_restrict_pgsizes: 4K | 2M | 1G with a 4 KiB granule.
        return level <= 2 ? [9 * level] : [];
    },

    kind(lo: number, _hi: number, level: number): EntryKind {
        return armKind(lo, level);
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
        // arm_lpae_install_table: the table address | ARM_LPAE_PTE_TYPE_TABLE.
        page[2 * slot] = TYPE_TABLE_OR_PAGE | pfnLo(pfn);
        page[2 * slot + 1] = pfnHi(pfn, ADDR_HI);
    },

    leafPfnField(pfn: number): number {
        return pfn;
    },

    isAccessed(lo: number): boolean {
        return (lo & AF) !== 0;
    },
} as const;

/** Bits every leaf gets (arm_lpae_prot_to_pte tail and __arm_lpae_init_pte). */
function leafCommon(level: number, prot: Prot): EntryWords {
    const lo = AF | (prot.cache ? SH_IS : SH_OS) | (level === 0 ? TYPE_TABLE_OR_PAGE : TYPE_BLOCK);
    return { lo, hi: prot.noexec ? XN_HI : 0 };
}

function typeFlag(level: number, kind: EntryKind): string {
    if (kind === ENTRY_TABLE) {
        return 'table';
    }
    return level === 0 ? 'page' : 'block';
}

function shFlag(lo: number): string | undefined {
    const sh = (lo >>> SH_SHIFT) & 3;
    return sh === 3 ? 'SH=IS' : sh === 2 ? 'SH=OS' : undefined;
}

/** ARM_64_LPAE_S1. */
export const armS1Format: PtFormat = {
    ...common,
    format: 'arm-lpae-s1',
    hasDirtyTracking: true,

    leafTemplate(level: number, _sizeLg2: number, prot: Prot, config: PageTableConfig): EntryWords {
        // arm_lpae_prot_to_pte, stage 1: nG; AP[2] (read-only) for READ without WRITE, else DBM
        // when IO_PGTABLE_QUIRK_ARM_HD (so writable leaves start writable-dirty); AP[1] unless
        // IOMMU_PRIV; AttrIndx 1 for IOMMU_CACHE.
        const base = leafCommon(level, prot);
        let lo = base.lo | NG | AP_UNPRIV;
        let hi = base.hi;
        if (!prot.write && prot.read) {
            lo |= AP_RDONLY;
        } else if (config.dirtyCapable) {
            hi |= DBM_HI;
        }
        if (prot.cache) {
            lo |= ATTR_IDX_CACHE << ATTRINDX_SHIFT;
        }
        return { lo, hi };
    },

    leafProt(lo: number, hi: number): Prot {
        // HTTU: a DBM leaf with AP[2] set is writable-clean; the write clears AP[2].
        const write = (lo & AP_RDONLY) === 0 || (hi & DBM_HI) !== 0;
        return {
            read: true,
            write,
            cache: ((lo >>> ATTRINDX_SHIFT) & 7) === ATTR_IDX_CACHE,
            noexec: (hi & XN_HI) !== 0,
        };
    },

    isDirty(lo: number, hi: number): boolean {
        // iopte_writeable_dirty: DBM set and AP[2] clear.
        return (hi & DBM_HI) !== 0 && (lo & AP_RDONLY) === 0;
    },

    afterAccess(lo: number, hi: number, leaf: boolean, write: boolean): EntryWords {
        if (leaf && write && (hi & DBM_HI) !== 0) {
            return { lo: lo & ~AP_RDONLY, hi };
        }
        return { lo, hi };
    },

    writeClean(lo: number, hi: number): EntryWords {
        // iopte_set_writeable_clean: set AP[2] back.
        if ((hi & DBM_HI) !== 0) {
            return { lo: lo | AP_RDONLY, hi };
        }
        return { lo, hi };
    },

    flags(lo: number, hi: number, level: number, kind: EntryKind): string[] {
        const out: string[] = [typeFlag(level, kind)];
        if (kind !== ENTRY_LEAF) {
            return out;
        }
        out.push(`AttrIndx=${(lo >>> ATTRINDX_SHIFT) & 7}`);
        if ((lo & AP_UNPRIV) !== 0) {
            out.push('AP[1]');
        }
        if ((lo & AP_RDONLY) !== 0) {
            out.push('AP[2]');
        }
        const sh = shFlag(lo);
        if (sh) {
            out.push(sh);
        }
        if ((lo & NG) !== 0) {
            out.push('nG');
        }
        if ((hi & DBM_HI) !== 0) {
            out.push('DBM');
        }
        if ((hi & XN_HI) !== 0) {
            out.push('XN');
        }
        return out;
    },
};

/** ARM_64_LPAE_S2. */
export const armS2Format: PtFormat = {
    ...common,
    format: 'arm-lpae-s2',
    // arm_lpae_read_and_clear_dirty refuses anything but ARM_64_LPAE_S1.
    hasDirtyTracking: false,

    leafTemplate(level: number, _sizeLg2: number, prot: Prot): EntryWords {
        // arm_lpae_prot_to_pte, stage 2: HAP from READ/WRITE, MemAttr OIWB for IOMMU_CACHE else NC.
        const base = leafCommon(level, prot);
        let lo = base.lo | (prot.cache ? MEMATTR_OIWB : MEMATTR_NC);
        if (prot.read) {
            lo |= HAP_READ;
        }
        if (prot.write) {
            lo |= HAP_WRITE;
        }
        return { lo, hi: base.hi };
    },

    leafProt(lo: number, hi: number): Prot {
        return {
            read: (lo & HAP_READ) !== 0,
            write: (lo & HAP_WRITE) !== 0,
            cache: (lo & MEMATTR_MASK) === MEMATTR_OIWB,
            noexec: (hi & XN_HI) !== 0,
        };
    },

    isDirty(): boolean {
        return false;
    },

    afterAccess(lo: number, hi: number): EntryWords {
        return { lo, hi };
    },

    writeClean(lo: number, hi: number): EntryWords {
        return { lo, hi };
    },

    flags(lo: number, hi: number, level: number, kind: EntryKind): string[] {
        const out: string[] = [typeFlag(level, kind)];
        if (kind !== ENTRY_LEAF) {
            return out;
        }
        out.push(`MemAttr=0x${((lo & MEMATTR_MASK) >>> 2).toString(16)}`);
        const sh = shFlag(lo);
        if (sh) {
            out.push(sh);
        }
        if ((hi & XN_HI) !== 0) {
            out.push('XN');
        }
        return out;
    },
};
