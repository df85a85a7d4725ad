/**
 * The translation walk the IOMMU does for one DMA, and the accessed/dirty bits it sets
 * (VT-d SSADE, AMD HAD, ARM HTTU) when recording an access.
 */

import { DIV, ENTRIES_PER_TABLE, PAGE_SHIFT } from './bits.js';
import { ENTRY_EMPTY, ENTRY_LEAF } from './format.js';
import { lastTranslatablePfn, tableOfPfn, topIndex } from './pt-context.js';
import type { PtContext, PtVersion } from './pt-context.js';
import { StoreTxn } from './table-store.js';
import type { ReadonlyPage } from './table-store.js';
import type { WalkResult } from './types.js';

/** One entry a walk used. */
interface WalkStep {
    readonly table: number;
    readonly slot: number;
    readonly level: number;
}

function readWords(page: ReadonlyPage | undefined, slot: number): [number, number] {
    return page === undefined ? [0, 0] : [page[2 * slot], page[2 * slot + 1]];
}

/** `pageSize` values by log2 of frames, so a walk allocates no bigint for it. */
const PAGE_SIZES: readonly bigint[] = Array.from({ length: 53 }, (_, s) => 1n << BigInt(s + PAGE_SHIFT));

/** Walks `iova` for `access`; with `path`, also collects the entries used (root first). */
function doWalk(ctx: PtContext, version: PtVersion, iova: bigint, access: 'read' | 'write', path?: WalkStep[]): WalkResult {
    if (iova < 0n || iova > ctx.layout.apertureEnd) {
        return { ok: false, fault: 'beyond-address-width' };
    }
    const ipfn = Number(iova >> 12n);
    let level = version.top;
    if (ipfn > lastTranslatablePfn(ctx, version.top)) {
        // AMD v1 below its final height: IOVA bits above the current mode are not mapped.
        return { ok: false, fault: 'not-present', level };
    }
    const { fmt } = ctx;
    const pages = version.store.pages;
    let t = version.root + Math.floor(topIndex(ctx, version.top, ipfn) / ENTRIES_PER_TABLE);
    for (;;) {
        const slot = Math.floor(ipfn / DIV[level]) % ENTRIES_PER_TABLE;
        const page = pages.get(t);
        const lo = page === undefined ? 0 : page[2 * slot];
        const hi = page === undefined ? 0 : page[2 * slot + 1];
        const kind = fmt.kind(lo, hi, level);
        if (kind === ENTRY_EMPTY) {
            return { ok: false, fault: 'not-present', level };
        }
        path?.push({ table: t, slot, level });
        if (kind === ENTRY_LEAF) {
            const prot = fmt.leafProt(lo, hi);
            if (access === 'write' && !prot.write) {
                return { ok: false, fault: 'write-to-read-only', level };
            }
            if (access === 'read' && !prot.read) {
                return { ok: false, fault: 'read-from-write-only', level };
            }
            const sizeLg2 = fmt.leafSizeLg2(lo, hi, level);
            const offsetPages = ipfn % 2 ** sizeLg2;
            return {
                ok: true,
                pa: (fmt.leafPfn(lo, hi, level) + offsetPages) * 4096 + Number(iova & 0xfffn),
                pageSize: PAGE_SIZES[sizeLg2],
                level,
                prot,
                dirty: leafDirty(ctx, page, slot, level, lo, hi),
            };
        }
        t = tableOfPfn(ctx, fmt.tablePfn(lo, hi));
        level--;
    }
}

/** Dirty as read_and_clear_dirty sees the leaf (any slot of an AMD contiguous leaf). */
export function leafDirty(ctx: PtContext, page: ReadonlyPage | undefined, slot: number, level: number, lo: number, hi: number): boolean {
    const { fmt } = ctx;
    const n = 2 ** (fmt.leafSizeLg2(lo, hi, level) - 9 * level);
    if (n === 1 || page === undefined) {
        return fmt.isDirty(lo, hi);
    }
    const first = slot - (slot % n);
    for (let i = first; i < first + n; i++) {
        if (fmt.isDirty(page[2 * i], page[2 * i + 1])) {
            return true;
        }
    }
    return false;
}

/** The hardware walk for one access. */
export function walkIova(ctx: PtContext, version: PtVersion, iova: bigint, access: 'read' | 'write'): WalkResult {
    return doWalk(ctx, version, iova, access);
}

/**
 * The version after the IOMMU performed `access` at `iova`: A on every entry used, D (or ARM's
 * AP[2] clear) on a written leaf. A faulting access changes nothing; an access that finds the bits
 * already set returns `version` itself.
 */
export function recordAccess(ctx: PtContext, version: PtVersion, iova: bigint, access: 'read' | 'write'): PtVersion {
    const path: WalkStep[] = [];
    if (!doWalk(ctx, version, iova, access, path).ok) {
        return version;
    }
    let txn: StoreTxn | undefined;
    for (let i = 0; i < path.length; i++) {
        const step = path[i];
        const leaf = i === path.length - 1;
        const page = txn ? txn.read(step.table) : version.store.pages.get(step.table);
        const [lo, hi] = readWords(page, step.slot);
        const next = ctx.fmt.afterAccess(lo, hi, leaf, access === 'write');
        if ((next.lo | 0) !== (lo | 0) || (next.hi | 0) !== (hi | 0)) {
            txn ??= new StoreTxn(version.store);
            const w = txn.write(step.table);
            w[2 * step.slot] = next.lo;
            w[2 * step.slot + 1] = next.hi;
        }
    }
    return txn ? { ...version, store: txn.commit() } : version;
}
