/**
 * Page-table benchmark: 64 GiB mapped with 4 KiB pages from physically non-contiguous memory
 * into a VT-d second-stage table (16.8M leaves), its memory per entry, a 1M-entry map with a walk
 * of every IOVA, and one unmap of the whole 64 GiB.
 */

import { createIoPageTable } from '../../engine/iommu/pgtable/index.js';
import type { IoPageTable, PhysSource } from '../../engine/iommu/pgtable/index.js';

const PAGE = 4096n;
const GiB = 1n << 30n;
const PA_BASE = 0x1_0000_0000;
const RW = { read: true, write: true } as const;

/** Every other physical page: each run is a single 4 KiB page. */
const everyOtherPage: PhysSource = (offset) => ({ pa: PA_BASE + Number(offset) * 2, length: PAGE });

function newTable(): IoPageTable {
    return createIoPageTable({ format: 'vtd-ss', ias: 48, pgsizeBitmap: 0x4020_1000n, tablePaBase: 0x10_0000_0000 });
}

function settle(): NodeJS.MemoryUsage {
    globalThis.gc?.();
    globalThis.gc?.();
    return process.memoryUsage();
}

const MiB = (bytes: number): number => bytes / (1 << 20);

/** Runs the page-table benchmark. */
export async function run(): Promise<Record<string, number | string>> {
    const out: Record<string, number | string> = {};

    // 64 GiB of single 4K pages.
    const size = 64n * GiB;
    let table: IoPageTable | undefined = newTable();
    const before = settle();
    let t0 = performance.now();
    table = table.map(0n, size, everyOtherPage, RW);
    out['64G map: time (ms)'] = Math.round(performance.now() - t0);
    const after = settle();
    const leaves = Number(table.mappedBytes / PAGE);
    out['64G map: leaves'] = leaves;
    out['64G map: tables'] = table.tableCount;
    out['64G map: table bytes (MiB)'] = MiB(table.tableBytes);
    out['64G map: heap growth (MiB)'] = MiB(after.heapUsed - before.heapUsed);
    out['64G map: ArrayBuffer growth (MiB)'] = MiB(after.arrayBuffers - before.arrayBuffers);
    out['64G map: bytes per entry'] = (after.heapUsed - before.heapUsed + after.arrayBuffers - before.arrayBuffers) / leaves;
    const probe = table.walk(size - 1n, 'write');
    out['64G map: last IOVA translates to'] = probe.ok ? `0x${probe.pa.toString(16)} (${probe.pageSize} B page)` : probe.fault;

    t0 = performance.now();
    let counted = 0;
    for (const _ of table.leaves(0n, size - 1n)) {
        counted++;
    }
    out['64G leaves() iteration: time (ms)'] = Math.round(performance.now() - t0);
    out['64G leaves() iteration: leaves'] = counted;

    t0 = performance.now();
    const unmapped = table.unmap(0n, size);
    out['64G unmap: time (ms)'] = Math.round(performance.now() - t0);
    out['64G unmap: bytes unmapped'] = unmapped.unmapped.toString();
    out['64G unmap: tables left'] = unmapped.table.tableCount;
    out['64G unmap: old version still maps (leaves)'] = Number(table.mappedBytes / PAGE);
    table = undefined;

    // 1M entries, then a walk of every mapped IOVA.
    const million = 1n << 20n;
    t0 = performance.now();
    const small = newTable().map(0n, million * PAGE, everyOtherPage, RW);
    out['1M map: time (ms)'] = Math.round(performance.now() - t0);
    t0 = performance.now();
    let bad = 0;
    let iova = 8n;
    for (let i = 0; i < Number(million); i++, iova += PAGE) {
        const r = small.walk(iova, 'read');
        if (!r.ok || r.pa !== PA_BASE + i * 2 * 4096 + 8) {
            bad++;
        }
    }
    const walkMs = performance.now() - t0;
    out['1M walk: time (ms)'] = Math.round(walkMs);
    out['1M walk: ns per walk'] = Math.round((walkMs * 1e6) / Number(million));
    out['1M walk: wrong translations'] = bad;
    return out;
}
