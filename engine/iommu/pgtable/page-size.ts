/**
 * `iommu_pgsize` (drivers/iommu/iommu.c): the page size and count `__iommu_map` and
 * `__iommu_unmap` hand to an io-pgtable driver's `map_pages` / `unmap_pages` for the next chunk.
 * All values are in 4 KiB frames / log2 of frames.
 */

import { ctz, floorLog2 } from './bits.js';

/** One chunk: `count` pages of 2^`sizeLg2` frames. */
export interface PgsizeChunk {
    readonly sizeLg2: number;
    readonly count: number;
}

/**
 * The biggest page size in `sizes` (ascending log2 list) that fits `size` frames and the alignment
 * of `iova | paddr`, and how many of them to use before the next bigger size could start.
 */
export function iommuPgsize(sizes: readonly number[], iova: number, paddr: number, size: number): PgsizeChunk {
    const fit = floorLog2(size);
    const align = Math.min(ctz(iova), ctz(paddr));
    let pg = -1;
    for (const s of sizes) {
        if (s <= fit && s <= align) {
            pg = s;
        }
    }
    if (pg < 0) {
        // BUG_ON(!pgsizes): callers check alignment to the smallest page first.
        throw new Error(`iommu_pgsize: no page size fits 0x${size.toString(16)} frames at 0x${iova.toString(16)}`);
    }
    const next = sizes.find((s) => s > pg);
    let limit = size;
    if (next !== undefined) {
        const nextPages = 2 ** next;
        // "There's no point trying a bigger page size unless the virtual and physical addresses
        // are similarly offset within the larger page."
        if (iova % nextPages === paddr % nextPages) {
            const offset = nextPages - (iova % nextPages);
            if (offset + nextPages <= size) {
                limit = offset;
            }
        }
    }
    return { sizeLg2: pg, count: Math.floor(limit / 2 ** pg) };
}
