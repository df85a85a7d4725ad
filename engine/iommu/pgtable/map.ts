/**
 * `iommu_map` into one table: for each physically contiguous run the caller's `PhysSource` gives
 * (iommufd and type1 call `iommu_map` once per run), install leaves of the largest size that the
 * domain allows, that IOVA and PA are both aligned to and that fits what is left of the run
 * (`pt_compute_best_pgsize` / `iommu_pgsize`).
 *
 * The leaf loop keeps a cursor on the current leaf table, so consecutive leaves are written in
 * place without walking from the root, and a page the previous version shares is copied once.
 */

import { ctz, DIV, ENTRIES_PER_TABLE, floorLog2, PAGE_SHIFT, PAGE_SIZE_BIG, pfnHi, pfnLo } from './bits.js';
import { ENTRY_EMPTY, ENTRY_LEAF } from './format.js';
import { coverPages, tableOfPfn, topIndex } from './pt-context.js';
import type { PtContext, PtVersion } from './pt-context.js';
import { releaseSubtree, subtreeHasLeaf } from './subtree.js';
import { StoreTxn } from './table-store.js';
import { MapError } from './types.js';
import type { PhysSource, Prot } from './types.js';

/** Installs leaves into one transaction; holds the leaf-table cursor. */
class Mapper {
    top: number;
    root: number;
    mappedDelta = 0;
    private readonly tplLo = new Int32Array(64);
    private readonly tplHi = new Int32Array(64);
    private curLevel = -1;
    private curStart = 0;
    private curEnd = 0;
    private curPage: Uint32Array | undefined;

    constructor(
        private readonly ctx: PtContext,
        private readonly txn: StoreTxn,
        version: PtVersion,
        prot: Prot,
    ) {
        this.top = version.top;
        this.root = version.root;
        for (const s of ctx.pageSizes) {
            const t = ctx.fmt.leafTemplate(ctx.levelOfSize[s], s, prot, ctx.config);
            this.tplLo[s] = t.lo;
            this.tplHi[s] = t.hi;
        }
    }

    /** PT_FEAT_DYNAMIC_TOP (`increase_top`): add levels until the top covers `lastPfn` and `level`. */
    ensureTop(lastPfn: number, level: number): void {
        while (lastPfn >= coverPages(this.ctx, this.top) || level > this.top) {
            if (this.top >= this.ctx.layout.maxTop) {
                throw new MapError('ERANGE', `IOVA frame 0x${lastPfn.toString(16)} is beyond what a ${this.top + 1}-level ${this.ctx.config.format} table can translate (increase_top)`);
            }
            // "The new table links to the lower table always at index 0".
            const newRoot = this.txn.alloc(this.top + 1, 0);
            this.ctx.fmt.writeTable(this.txn.write(newRoot), 0, this.top + 1, this.ctx.basePfn + this.root);
            this.root = newRoot;
            this.top++;
            this.curLevel = -1;
        }
    }

    /** Maps `n` pages at IOVA frame `ipfn` to the physically contiguous frames from `papfn`. */
    mapRun(ipfn: number, papfn: number, n: number): void {
        const { ctx } = this;
        const { fmt, bestSize, levelOfSize } = ctx;
        const mask = fmt.addrHiMask;
        while (n > 0) {
            // pt_compute_best_pgsize: largest size both addresses are aligned to and that fits.
            let k = floorLog2(n);
            const ia = ctz(ipfn);
            if (ia < k) {
                k = ia;
            }
            const pa = ctz(papfn);
            if (pa < k) {
                k = pa;
            }
            const s = bestSize[k];
            if (s < 0) {
                throw new MapError('EINVAL', `IOVA frame 0x${ipfn.toString(16)} / PA frame 0x${papfn.toString(16)} is not aligned to the smallest page size`);
            }
            const level = levelOfSize[s];
            if (level > this.top) {
                this.ensureTop(0, level);
            }
            let page = this.curPage;
            if (page === undefined || level !== this.curLevel || ipfn < this.curStart || ipfn >= this.curEnd) {
                page = this.seek(ipfn, level);
            }
            const slot = Math.floor(ipfn / DIV[level]) % ENTRIES_PER_TABLE;
            const contig = 2 ** (s - 9 * level);
            for (let j = 0; j < contig; j++) {
                const w = 2 * (slot + j);
                if ((page[w] | page[w + 1]) !== 0) {
                    this.clearForLeaf(page, slot + j, level);
                }
            }
            const field = fmt.leafPfnField(papfn, level, s);
            const lo = this.tplLo[s] | pfnLo(field);
            const hi = this.tplHi[s] | pfnHi(field, mask);
            for (let j = 0; j < contig; j++) {
                const w = 2 * (slot + j);
                page[w] = lo;
                page[w + 1] = hi;
            }
            const pages = 2 ** s;
            ipfn += pages;
            papfn += pages;
            n -= pages;
            this.mappedDelta += pages;
        }
    }

    /** Walks from the root to the table at `level` holding `ipfn`, creating tables, and points the cursor at it. */
    private seek(ipfn: number, level: number): Uint32Array {
        const { ctx, txn } = this;
        const { fmt } = ctx;
        let lvl = this.top;
        let t = this.root + Math.floor(topIndex(ctx, this.top, ipfn) / ENTRIES_PER_TABLE);
        while (lvl > level) {
            const slot = Math.floor(ipfn / DIV[lvl]) % ENTRIES_PER_TABLE;
            const cur = txn.read(t);
            const lo = cur === undefined ? 0 : cur[2 * slot];
            const hi = cur === undefined ? 0 : cur[2 * slot + 1];
            const kind = fmt.kind(lo, hi, lvl);
            if (kind === ENTRY_LEAF) {
                // __map_range: a leaf where a table is needed; io-pgtable-arm: "We require an unmap first".
                throw this.overlap(ipfn);
            }
            if (kind === ENTRY_EMPTY) {
                const child = txn.alloc(lvl - 1, Math.floor(ipfn / DIV[lvl]));
                fmt.writeTable(txn.write(t), slot, lvl, ctx.basePfn + child);
                t = child;
            } else {
                t = tableOfPfn(ctx, fmt.tablePfn(lo, hi));
            }
            lvl--;
        }
        const page = txn.write(t);
        const span = DIV[level] * ENTRIES_PER_TABLE;
        this.curLevel = level;
        this.curStart = ipfn - (ipfn % span);
        this.curEnd = this.curStart + span;
        this.curPage = page;
        return page;
    }

    /**
     * A leaf goes where an entry is already present. A leaf there is an overlap; a table is
     * replaced: generic_pt (`clear_contig`) only if nothing below it is mapped, io-pgtable-arm
     * (`arm_lpae_init_pte`) always, dropping whatever it mapped.
     */
    private clearForLeaf(page: Uint32Array, slot: number, level: number): void {
        const { ctx, txn } = this;
        const lo = page[2 * slot];
        const hi = page[2 * slot + 1];
        const kind = ctx.fmt.kind(lo, hi, level);
        if (kind === ENTRY_EMPTY) {
            return;
        }
        const slotPfn = this.curStart + slot * DIV[level];
        if (kind === ENTRY_LEAF) {
            throw this.overlap(slotPfn);
        }
        const child = tableOfPfn(ctx, ctx.fmt.tablePfn(lo, hi));
        if (ctx.fmt.family === 'generic-pt' && subtreeHasLeaf(ctx, txn, child, level - 1)) {
            throw this.overlap(slotPfn);
        }
        this.mappedDelta -= releaseSubtree(ctx, txn, child, level - 1);
        page[2 * slot] = 0;
        page[2 * slot + 1] = 0;
    }

    private overlap(ipfn: number): MapError {
        const where = `IOVA 0x${(BigInt(ipfn) << BigInt(PAGE_SHIFT)).toString(16)}`;
        return this.ctx.fmt.overlapErrno === 'EADDRINUSE'
            ? new MapError('EADDRINUSE', `${where} is already mapped (generic_pt __map_range / clear_contig return -EADDRINUSE)`)
            : new MapError('EEXIST', `${where} is already mapped (io-pgtable-arm __arm_lpae_map: "We require an unmap first", -EEXIST)`);
    }
}

/** Bytes of the smallest allowed page. */
function minPageBytes(ctx: PtContext): bigint {
    return PAGE_SIZE_BIG << BigInt(ctx.minPageLg2);
}

/** Checks the arguments `iommu_map` / `map_pages` check, in the same order; throws `MapError`. */
function checkMapArgs(ctx: PtContext, iova: bigint, size: bigint, prot: Prot): void {
    const min = minPageBytes(ctx);
    if (iova < 0n || size <= 0n) {
        throw new MapError('EINVAL', `cannot map ${size} bytes at IOVA 0x${iova.toString(16)} (make_range: zero length)`);
    }
    if (iova % min !== 0n || size % min !== 0n) {
        throw new MapError('EINVAL', `IOVA 0x${iova.toString(16)} / size 0x${size.toString(16)} not aligned to the smallest page 0x${min.toString(16)} (iommu_map)`);
    }
    if (!prot.read && !prot.write) {
        throw new MapError('EINVAL', 'a mapping needs IOMMU_READ or IOMMU_WRITE (map_pages; vtdss_pt_iommu_set_prot)');
    }
    if (iova + size - 1n > ctx.layout.apertureEnd) {
        throw new MapError('ERANGE', `[0x${iova.toString(16)}, 0x${(iova + size - 1n).toString(16)}] is beyond the table's input range ending at 0x${ctx.layout.apertureEnd.toString(16)} (pt_check_range)`);
    }
}

/** Maps `[iova, iova + size)` into `version`; returns the new version or throws `MapError` (old version untouched). */
export function mapRange(ctx: PtContext, version: PtVersion, iova: bigint, size: bigint, phys: PhysSource, prot: Prot): PtVersion {
    if (size === 0n && ctx.fmt.family === 'io-pgtable-arm') {
        // __iommu_map's loop does nothing for a zero size on io-pgtable domains.
        return version;
    }
    checkMapArgs(ctx, iova, size, prot);
    const txn = new StoreTxn(version.store);
    const mapper = new Mapper(ctx, txn, version, prot);
    let ipfn = Number(iova >> BigInt(PAGE_SHIFT));
    let remaining = Number(size >> BigInt(PAGE_SHIFT));
    mapper.ensureTop(ipfn + remaining - 1, 0);
    const minPages = 2 ** ctx.minPageLg2;
    const minBytes = 4096 * minPages;
    const oasPages = 2 ** (ctx.fmt.oasLg2 - PAGE_SHIFT);
    let offset = 0n;
    while (remaining > 0) {
        const run = phys(offset);
        const len = run.length;
        let n: number;
        if (len === PAGE_SIZE_BIG) {
            n = 1;
        } else {
            const whole = len / PAGE_SIZE_BIG;
            n = whole >= BigInt(remaining) ? remaining : Number(whole);
        }
        if (n <= 0 || n % minPages !== 0) {
            throw new MapError('EINVAL', `physical run of ${len} bytes at offset 0x${offset.toString(16)} is not a multiple of the smallest page (iommu_map)`);
        }
        const pa = run.pa;
        if (!Number.isInteger(pa) || pa < 0 || pa % minBytes !== 0) {
            throw new MapError('EINVAL', `PA 0x${pa.toString(16)} at offset 0x${offset.toString(16)} is not aligned to the smallest page (iommu_map)`);
        }
        const papfn = pa / 4096;
        if (papfn + n > oasPages) {
            throw new MapError('ERANGE', `PA 0x${pa.toString(16)} + 0x${(n * 4096).toString(16)} is beyond the ${ctx.fmt.oasLg2}-bit output range (map_pages: max_oasz_lg2 / oas)`);
        }
        mapper.mapRun(ipfn, papfn, n);
        ipfn += n;
        remaining -= n;
        offset += n === 1 ? PAGE_SIZE_BIG : BigInt(n) * PAGE_SIZE_BIG;
    }
    return { top: mapper.top, root: mapper.root, store: txn.commit(), mappedPages: version.mappedPages + mapper.mappedDelta };
}
