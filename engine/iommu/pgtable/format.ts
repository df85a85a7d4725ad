/**
 * What the table code needs to know about one hardware entry format: how to encode table and
 * leaf entries, how the IOMMU decodes them, and which bits the hardware sets on access. The
 * walker, mapper and unmapper are format-agnostic and call these (the role of the `pt_*` hooks a
 * `generic_pt/fmt/*.h` header provides, and of io-pgtable-arm.c's iopte helpers).
 *
 * Levels use generic_pt numbering everywhere: level 0 holds 4 KiB entries (ARM's lookup level 3).
 * Entries are read and written as two 32-bit words, `lo` = bits 31:0, `hi` = bits 63:32.
 */

import type { PageTableFormat } from '../../state.js';
import type { PageTableConfig, Prot } from './types.js';

/** The entry decodes as not present (empty or invalid encoding). */
export const ENTRY_EMPTY = 0;
/** The entry points to a next-level table. */
export const ENTRY_TABLE = 1;
/** The entry translates (a page, a block, or one slot of an AMD contiguous leaf). */
export const ENTRY_LEAF = 2;
/** `enum pt_entry_type` (pt_defs.h): what one entry is. */
export type EntryKind = typeof ENTRY_EMPTY | typeof ENTRY_TABLE | typeof ENTRY_LEAF;

/** Which Linux library the format's map/unmap rules come from. */
export type PtFamily = 'generic-pt' | 'io-pgtable-arm';

/** The two words of an entry. */
export interface EntryWords {
    readonly lo: number;
    readonly hi: number;
}

/** Per-format encode/decode hooks. */
export interface PtFormat {
    readonly format: PageTableFormat;
    readonly family: PtFamily;
    /** Mask of the address bits kept in the high word (bits 51:32 → 0xfffff; ARM 47:32 → 0xffff). */
    readonly addrHiMask: number;
    /** Output address bits the entries can hold (`PT_MAX_OUTPUT_ADDRESS_LG2`; ARM `oas`). */
    readonly oasLg2: number;
    /** errno for mapping over a present leaf: generic_pt says EADDRINUSE, io-pgtable-arm EEXIST. */
    readonly overlapErrno: 'EADDRINUSE' | 'EEXIST';
    /** Whether Linux implements `read_and_clear_dirty` for the format. */
    readonly hasDirtyTracking: boolean;
    /** Leaf sizes (log2 of 4 KiB pages) a `level` can hold (`pt_possible_sizes`), empty if none. */
    possibleSizes(level: number): readonly number[];
    /** How the IOMMU reads an entry found at `level`. */
    kind(lo: number, hi: number, level: number): EntryKind;
    /** Frame number of the next table (table entries). */
    tablePfn(lo: number, hi: number): number;
    /** Size of the leaf this entry belongs to, log2 of pages (AMD NextLevel 7 sizes included). */
    leafSizeLg2(lo: number, hi: number, level: number): number;
    /** Frame number where the leaf starts (AMD: the contiguous block's first page). */
    leafPfn(lo: number, hi: number, level: number): number;
    /** Writes a table entry at `level` pointing at table frame `pfn` (`pt_install_table`). */
    writeTable(page: Uint32Array, slot: number, level: number, pfn: number): void;
    /**
     * Attribute bits of a leaf (`pt_iommu_set_prot` + `pt_install_leaf_entry`), without the
     * address: for a leaf of `sizeLg2` pages at `level`.
     */
    leafTemplate(level: number, sizeLg2: number, prot: Prot, config: PageTableConfig): EntryWords;
    /** The address field value for a leaf at `pfn` (AMD NextLevel 7 folds the size into it). */
    leafPfnField(pfn: number, level: number, sizeLg2: number): number;
    /** Permissions and attributes the IOMMU applies for a leaf (write-clean ARM leaves count as writable). */
    leafProt(lo: number, hi: number): Prot;
    /** Dirty as `pt_entry_is_write_dirty` / `iopte_writeable_dirty` sees it. */
    isDirty(lo: number, hi: number): boolean;
    /** Accessed (A / AF). */
    isAccessed(lo: number, hi: number): boolean;
    /** The entry after the hardware used it for an access (A on the path, D or AP[2] clear on a leaf write). */
    afterAccess(lo: number, hi: number, leaf: boolean, write: boolean): EntryWords;
    /** The entry made write-clean (`pt_entry_make_write_clean` / `iopte_set_writeable_clean`). */
    writeClean(lo: number, hi: number): EntryWords;
    /** Names of the other set bits, for the debugger's view. */
    flags(lo: number, hi: number, level: number, kind: EntryKind): string[];
}
