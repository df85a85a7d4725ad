/**
 * The contract of an IOMMU page table in the engine. A table is an immutable value: every edit
 * returns a new table that shares all untouched table pages with the old one (copy on write per
 * 4 KiB table page), so the runner's per-step snapshots stay cheap. Entries are stored as the
 * hardware stores them (8 bytes each, in typed arrays allocated on first touch).
 *
 * IOVAs are bigint (the input space may be 57 or 64 bits); physical addresses are numbers
 * (below 2^52).
 */

import type { PageTableFormat } from '../../state.js';

export interface Prot {
    readonly read: boolean;
    readonly write: boolean;
    /** IOMMU_CACHE: snoop (VT-d SNP when the domain enforces coherency, AMD FC, ARM shareability). */
    readonly cache?: boolean;
    readonly noexec?: boolean;
}

/** A physically contiguous run: the PA at some offset of a mapping, and how many bytes follow it. */
export interface PhysRun {
    readonly pa: number;
    readonly length: bigint;
}

/** Gives the physical memory behind `offset` bytes into a mapping (what pinning returned). */
export type PhysSource = (offset: bigint) => PhysRun;

export interface PageTableConfig {
    readonly format: PageTableFormat;
    /** Input address bits the table translates (vasz). For x86-64 format, the sign-extended half is excluded by the caller's aperture. */
    readonly ias: number;
    /** Page sizes the domain allows (pgsize_bitmap). */
    readonly pgsizeBitmap: bigint;
    /** Physical address of this table's first table page; table page i lives at `tablePaBase + i * 4096`. */
    readonly tablePaBase: number;
    /** Set SNP (VT-d SS) / FC (AMD v1) on every leaf: the domain enforces cache coherency. */
    readonly forceSnoop?: boolean;
    /** Hardware dirty tracking available (SSADS, AMD HD, ARM HTTU/DBM). */
    readonly dirtyCapable?: boolean;
}

export type WalkFault = 'not-present' | 'write-to-read-only' | 'read-from-write-only' | 'beyond-address-width';

export type WalkResult =
    | {
        readonly ok: true;
        readonly pa: number;
        /** Leaf size that translated the address. */
        readonly pageSize: bigint;
        /** Level of the leaf (0 = 4K level). */
        readonly level: number;
        readonly prot: Prot;
        readonly dirty: boolean;
    }
    | { readonly ok: false; readonly fault: WalkFault; readonly level?: number };

/** One decoded entry, for the debugger's page-table view. */
export interface PageTableEntryView {
    readonly index: number;
    /** Raw 64-bit value. */
    readonly raw: bigint;
    readonly present: boolean;
    readonly leaf: boolean;
    /** Leaf: output PA; table: next table's PA. */
    readonly address: number;
    readonly read: boolean;
    readonly write: boolean;
    readonly dirty: boolean;
    readonly accessed: boolean;
    /** Leaf size (leaf entries), or the span a table entry covers. */
    readonly size: bigint;
    /** First IOVA this entry covers. */
    readonly iova: bigint;
    /** Other format bits worth showing (SNP, FC, PS, AP, nG...). */
    readonly flags: readonly string[];
}

/** A table page, for views: its level, PA, and the IOVA it starts at. */
export interface PageTableView {
    readonly level: number;
    readonly pa: number;
    readonly iova: bigint;
    /** Number of entry slots (512 for 4K-granule tables; may be fewer for ARM's top level). */
    readonly slots: number;
    /** Number of present entries. */
    readonly present: number;
}

export class MapError extends Error {
    constructor(
        readonly errno: 'EINVAL' | 'EEXIST' | 'EADDRINUSE' | 'ENOMEM' | 'ERANGE',
        message: string,
    ) {
        super(message);
        this.name = 'MapError';
    }
}

export interface IoPageTable {
    readonly config: PageTableConfig;
    /** Number of levels and the level index of the root. */
    readonly levels: number;
    /** Bytes of table memory in use (8 per entry slot of allocated tables). */
    readonly tableBytes: number;
    readonly tableCount: number;
    /** Bytes currently mapped. */
    readonly mappedBytes: bigint;

    /**
     * `iommu_map`: maps [iova, iova+size) to the physical memory `phys` describes, choosing for
     * each piece the largest page size allowed by the bitmap, the alignment of IOVA and PA, and
     * the remaining contiguous length. iova/size/pa must be aligned to the smallest page size
     * (`MapError('EINVAL')`); mapping over a present entry fails, leaving the table unchanged:
     * `MapError('EADDRINUSE')` for the generic_pt formats (vtd-ss, x86-64, amd-v1),
     * `MapError('EEXIST')` for io-pgtable-arm (arm-lpae-s1/s2).
     */
    map(iova: bigint, size: bigint, phys: PhysSource, prot: Prot): IoPageTable;

    /**
     * `iommu_unmap`: removes the leaves covering [iova, iova+size); a leaf partly inside the range
     * is removed whole (as Linux does). Returns the new table and the bytes unmapped.
     */
    unmap(iova: bigint, size: bigint): { readonly table: IoPageTable; readonly unmapped: bigint };

    /** The walk the IOMMU hardware does for one access. Pure: use `recordAccess` for A/D bits. */
    walk(iova: bigint, access: 'read' | 'write'): WalkResult;

    /** Sets the accessed (and, for writes, dirty) bits the hardware sets when dirty tracking is on. */
    recordAccess(iova: bigint, access: 'read' | 'write'): IoPageTable;

    /**
     * `read_and_clear_dirty`: the dirty leaves in [iova, iova+size) (each reported whole), and
     * the table with their dirty bits cleared unless `noClear`.
     */
    readAndClearDirty(iova: bigint, size: bigint, noClear: boolean): {
        readonly table: IoPageTable;
        readonly dirty: ReadonlyArray<{ readonly iova: bigint; readonly size: bigint }>;
    };

    /** Clears every dirty bit (enabling tracking starts clean). */
    clearAllDirty(): IoPageTable;

    /** Leaves intersecting [start, last], in IOVA order. */
    leaves(start: bigint, last: bigint): Iterable<{ readonly iova: bigint; readonly size: bigint; readonly pa: number; readonly prot: Prot; readonly dirty: boolean }>;

    /** The root table page. */
    root(): PageTableView;
    /** The table page at a physical address (from a table entry's `address`). */
    tableAt(pa: number): PageTableView | undefined;
    /** Decoded entries of a table page: slots [start, start+count), present entries only when `presentOnly`. */
    entries(table: PageTableView, start: number, count: number, presentOnly?: boolean): PageTableEntryView[];
}
