/**
 * IOMMU page tables in their hardware formats (VT-d second stage, x86-64 first stage / AMD v2,
 * AMD v1, ARM LPAE stage 1 and 2), stored compactly and copy-on-write per 4 KiB table page.
 *
 * - `createIoPageTable(config)`: an empty table; every edit returns a new `IoPageTable`.
 * - `pageTableGeometry(format, addressWidth)`: levels, input width, aperture and the format's page
 *   sizes, for the code that sets up a domain.
 */

export { createIoPageTable } from './io-page-table.js';
export { pageTableGeometry } from './geometry.js';
export type { PageTableGeometry } from './geometry.js';
export { MapError } from './types.js';
export type {
    IoPageTable,
    PageTableConfig,
    PageTableEntryView,
    PageTableView,
    PhysRun,
    PhysSource,
    Prot,
    WalkFault,
    WalkResult,
} from './types.js';
