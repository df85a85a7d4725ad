/**
 * `IoPageTable`: one immutable version of an IOMMU page table. Every edit returns a new version
 * sharing all untouched table pages with this one.
 */

import { PAGE_SHIFT } from './bits.js';
import { clearAllDirty, readAndClearDirty } from './dirty.js';
import { mapRange } from './map.js';
import { emptyVersion, makeContext, rootPages, topSlots } from './pt-context.js';
import type { PtContext, PtVersion } from './pt-context.js';
import type {
    IoPageTable,
    PageTableConfig,
    PageTableEntryView,
    PageTableView,
    PhysSource,
    Prot,
    WalkResult,
} from './types.js';
import { unmapArm } from './unmap-arm.js';
import { unmapGeneric } from './unmap-generic.js';
import { entryViews, leafInfos, tableView } from './view.js';
import type { LeafInfo } from './view.js';
import { recordAccess, walkIova } from './walk.js';

class PageTable implements IoPageTable {
    constructor(
        private readonly ctx: PtContext,
        private readonly v: PtVersion,
    ) {}

    get config(): PageTableConfig {
        return this.ctx.config;
    }

    get levels(): number {
        return this.v.top + 1;
    }

    get tableBytes(): number {
        const pages = rootPages(this.ctx, this.v.top);
        return (this.v.store.tableCount - pages) * 4096 + topSlots(this.ctx, this.v.top) * 8;
    }

    get tableCount(): number {
        return this.v.store.tableCount;
    }

    get mappedBytes(): bigint {
        return BigInt(this.v.mappedPages) << BigInt(PAGE_SHIFT);
    }

    private with(v: PtVersion): IoPageTable {
        return v === this.v ? this : new PageTable(this.ctx, v);
    }

    map(iova: bigint, size: bigint, phys: PhysSource, prot: Prot): IoPageTable {
        return this.with(mapRange(this.ctx, this.v, iova, size, phys, prot));
    }

    unmap(iova: bigint, size: bigint): { readonly table: IoPageTable; readonly unmapped: bigint } {
        const r = this.ctx.fmt.family === 'generic-pt'
            ? unmapGeneric(this.ctx, this.v, iova, size)
            : unmapArm(this.ctx, this.v, iova, size);
        return { table: this.with(r.version), unmapped: BigInt(r.pages) << BigInt(PAGE_SHIFT) };
    }

    walk(iova: bigint, access: 'read' | 'write'): WalkResult {
        return walkIova(this.ctx, this.v, iova, access);
    }

    recordAccess(iova: bigint, access: 'read' | 'write'): IoPageTable {
        return this.with(recordAccess(this.ctx, this.v, iova, access));
    }

    readAndClearDirty(iova: bigint, size: bigint, noClear: boolean): {
        readonly table: IoPageTable;
        readonly dirty: ReadonlyArray<{ readonly iova: bigint; readonly size: bigint }>;
    } {
        const r = readAndClearDirty(this.ctx, this.v, iova, size, noClear);
        return { table: this.with(r.version), dirty: r.dirty };
    }

    clearAllDirty(): IoPageTable {
        return this.with(clearAllDirty(this.ctx, this.v));
    }

    leaves(start: bigint, last: bigint): Iterable<LeafInfo> {
        const { ctx, v } = this;
        return { [Symbol.iterator]: () => leafInfos(ctx, v, start, last) };
    }

    root(): PageTableView {
        const view = tableView(this.ctx, this.v, this.v.root);
        if (view === undefined) {
            throw new Error('page table has no root');
        }
        return view;
    }

    tableAt(pa: number): PageTableView | undefined {
        const offset = pa - this.ctx.config.tablePaBase;
        if (offset < 0 || offset % 4096 !== 0) {
            return undefined;
        }
        return tableView(this.ctx, this.v, offset / 4096);
    }

    entries(table: PageTableView, start: number, count: number, presentOnly = false): PageTableEntryView[] {
        return entryViews(this.ctx, this.v, table, start, count, presentOnly);
    }
}

/**
 * A new, empty table in `config.format`: the root is allocated at `config.tablePaBase` (an ARM
 * stage-2 concatenated pgd takes the first pages). Throws `MapError('EINVAL')` if the format cannot
 * translate `config.ias` bits or `config.pgsizeBitmap` holds no size the format supports.
 */
export function createIoPageTable(config: PageTableConfig): IoPageTable {
    const ctx = makeContext(config);
    return new PageTable(ctx, emptyVersion(ctx));
}
