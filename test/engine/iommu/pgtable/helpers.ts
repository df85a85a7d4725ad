/**
 * Builders for page-table tests: tables per format, physical sources, hex printing.
 */

import { createIoPageTable } from '../../../../engine/iommu/pgtable/index.js';
import type { IoPageTable, PageTableConfig, PageTableView, PhysSource, Prot } from '../../../../engine/iommu/pgtable/index.js';
import type { PageTableFormat } from '../../../../engine/state.js';

export const SZ_4K = 0x1000n;
export const SZ_8K = 0x2000n;
export const SZ_2M = 0x20_0000n;
export const SZ_4M = 0x40_0000n;
export const SZ_1G = 0x4000_0000n;

/** 4K | 2M | 1G, as VT-d (with SLLPS), x86 first stage and ARM 4K granule offer. */
export const PGSIZES_4K_2M_1G = SZ_4K | SZ_2M | SZ_1G;
/** AMD_IOMMU_PGSIZES: every power of two from 4K to 2^51 except 512G. */
export const AMD_PGSIZES = ((1n << 52n) - 1n) & ~0xfffn & ~(1n << 39n);

export const RW: Prot = { read: true, write: true };
export const RO: Prot = { read: true, write: false };
export const WO: Prot = { read: false, write: true };

/** Where test tables put their table pages. */
export const TABLE_BASE = 0x100_0000;

/** A table with the usual page sizes for its format. */
export function table(format: PageTableFormat, ias: number, extra: Partial<PageTableConfig> = {}): IoPageTable {
    return createIoPageTable({
        format,
        ias,
        pgsizeBitmap: format === 'amd-v1' ? AMD_PGSIZES : PGSIZES_4K_2M_1G,
        tablePaBase: TABLE_BASE,
        ...extra,
    });
}

/** Physically contiguous memory from `pa`. */
export function contiguous(pa: number): PhysSource {
    return (offset) => ({ pa: pa + Number(offset), length: (1n << 62n) - offset });
}

/** One 4 KiB page per run, at the given frame addresses in order. */
export function pages(pas: readonly number[]): PhysSource {
    return (offset) => ({ pa: pas[Number(offset / SZ_4K)], length: SZ_4K });
}

/** `0x...` for test messages. */
export function hex(v: bigint | number): string {
    return `0x${v.toString(16)}`;
}

/** The raw entry of the leaf translating `iova`, found through the views (root → tables → leaf). */
export function leafEntry(t: IoPageTable, iova: bigint): { raw: bigint; level: number; flags: readonly string[] } {
    let view = t.root();
    for (;;) {
        const itemShift = BigInt(9 * view.level + 12);
        let index = Number((iova - view.iova) >> itemShift);
        if (index >= view.slots) {
            // A concatenated ARM stage-2 pgd: the next root page follows this one.
            const next = t.tableAt(view.pa + 4096 * Math.floor(index / view.slots));
            if (!next) {
                throw new Error(`no root page for ${hex(iova)}`);
            }
            view = next;
            index %= view.slots;
        }
        const [e] = t.entries(view, index, 1);
        if (!e || !e.present) {
            throw new Error(`no entry for ${hex(iova)} at level ${view.level}`);
        }
        if (e.leaf) {
            return { raw: e.raw, level: view.level, flags: e.flags };
        }
        const next = t.tableAt(e.address);
        if (!next) {
            throw new Error(`table entry at level ${view.level} points to nothing`);
        }
        view = next;
    }
}

/** The table page at `level` on the walk of `iova` (through table entries only). */
export function tableOn(t: IoPageTable, iova: bigint, level: number): PageTableView {
    let view = t.root();
    while (view.level > level) {
        const index = Number((iova - view.iova) >> BigInt(9 * view.level + 12));
        const [e] = t.entries(view, index, 1);
        const next = e && e.present && !e.leaf ? t.tableAt(e.address) : undefined;
        if (!next) {
            throw new Error(`no table at level ${view.level - 1} for ${hex(iova)}`);
        }
        view = next;
    }
    return view;
}
