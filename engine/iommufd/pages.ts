/**
 * `struct iopt_pages` (`drivers/iommu/iommufd/pages.c`): the user or memfd memory behind
 * io_pagetable areas. Pages are pinned only while an IOAS that maps them has a domain (lazy
 * pinning), each page once however many areas, copies and domains use it, and charged once to
 * RLIMIT_MEMLOCK: per user (`user->locked_vm`, USER mode) or per process (`mm->locked_vm`, MM
 * mode), or not at all when the mapper had CAP_IPC_LOCK.
 */

import { fail } from '../errno.js';
import { fput, fileGet } from '../fs/files.js';
import type { PhysRun, PhysSource } from '../iommu/pgtable/types.js';
import { accountLockedVm, capable, memfdPhys, memlockLimit, pinUserRange, vaToPa } from '../mm/memory.js';
import type { KernelState, Memfd, MmState, Process } from '../state.js';
import { SIZE_MAX, alignUp, formatSize, hex } from '../u64.js';
import type { IommufdCtx, IoptArea, IoptPages, PinnedRun } from './types.js';

const PAGES_C = 'drivers/iommu/iommufd/pages.c';

function pageSize(k: KernelState): bigint {
    return k.config.pageSize;
}

/** `iopt_alloc_pages`: the length checks and the accounting mode every kind shares. */
function allocPages(k: KernelState, ctx: IommufdCtx, proc: Process, source: IoptPages['source'], startByte: bigint, length: bigint, writable: boolean): IoptPages {
    const page = pageSize(k);
    // The iommu API uses size_t lengths; this also protects the DIV_ROUND_UP below.
    if (length > SIZE_MAX - page || length === 0n) {
        fail('EINVAL', length === 0n ? 'length is 0' : `length ${hex(length)} is beyond SIZE_MAX - PAGE_SIZE`, `${PAGES_C}:iopt_alloc_pages`);
    }
    // CAP_IPC_LOCK exempts the mapper from accounting; iopt_map_common turns USER into MM for
    // an MM-mode ctx.
    const accountMode = capable(proc, 'CAP_IPC_LOCK') ? 'none' : ctx.accountMode;
    return {
        id: ctx.nextPages++,
        source,
        npages: (length + startByte + page - 1n) / page,
        writable,
        process: proc.name,
        uid: proc.uid,
        accountMode,
        pinned: [],
    };
}

/** `iopt_alloc_user_pages`: `uptr + length` must not wrap. */
export function iopt_alloc_user_pages(k: KernelState, ctx: IommufdCtx, proc: Process, uptr: bigint, length: bigint, writable: boolean): { pages: IoptPages; startByte: bigint } {
    if (uptr + length > 0xffff_ffff_ffff_ffffn) {
        fail('EOVERFLOW', `user_va ${hex(uptr)} + length ${hex(length)} wraps around 2^64`, `${PAGES_C}:iopt_alloc_user_pages`);
    }
    const startByte = uptr % pageSize(k);
    const pages = allocPages(k, ctx, proc, { kind: 'user', uptr: uptr - startByte }, startByte, length, writable);
    return { pages, startByte };
}

/** `iopt_alloc_file_pages`: the pages hold a reference on the file until they are freed. */
export function iopt_alloc_file_pages(k: KernelState, ctx: IommufdCtx, proc: Process, fileId: number, start: bigint, length: bigint, writable: boolean): { pages: IoptPages; startByte: bigint } {
    const startByte = start % pageSize(k);
    const pages = allocPages(k, ctx, proc, { kind: 'file', file: fileId, start: start - startByte }, startByte, length, writable);
    fileGet(k, fileId);
    return { pages, startByte };
}

/** Page-index range an area covers in its pages (`pages_node`). */
export function areaIndexes(k: KernelState, area: IoptArea): { first: bigint; last: bigint } {
    const page = pageSize(k);
    return { first: area.startByte / page, last: (area.startByte + area.length - 1n) / page };
}

function npinned(pages: IoptPages): bigint {
    return pages.pinned.reduce((n, r) => n + r.last - r.first + 1n, 0n);
}

/** Index runs (sorted, merged) the areas of domain-backed IOASes of this ctx need pinned. */
function neededRuns(k: KernelState, ctx: IommufdCtx, pagesId: number): Array<{ first: bigint; last: bigint }> {
    const runs: Array<{ first: bigint; last: bigint }> = [];
    for (const obj of ctx.objects.values()) {
        if (obj.type !== 'ioas' || obj.iopt.domains.length === 0) {
            continue;
        }
        for (const e of obj.iopt.areas.entries()) {
            if (e.value.pages === pagesId) {
                runs.push(areaIndexes(k, e.value));
            }
        }
    }
    return mergeRuns(runs);
}

function mergeRuns(runs: Array<{ first: bigint; last: bigint }>): Array<{ first: bigint; last: bigint }> {
    const sorted = [...runs].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
    const out: Array<{ first: bigint; last: bigint }> = [];
    for (const r of sorted) {
        const prev = out[out.length - 1];
        if (prev && r.first <= prev.last + 1n) {
            if (r.last > prev.last) {
                out[out.length - 1] = { first: prev.first, last: r.last };
            }
        } else {
            out.push({ ...r });
        }
    }
    return out;
}

/** Parts of [first, last] not covered by `have`. */
function missing(have: readonly PinnedRun[], first: bigint, last: bigint): Array<{ first: bigint; last: bigint }> {
    const out: Array<{ first: bigint; last: bigint }> = [];
    let cursor = first;
    for (const r of have) {
        if (r.last < cursor || r.first > last) {
            continue;
        }
        if (r.first > cursor) {
            out.push({ first: cursor, last: r.first - 1n });
        }
        cursor = r.last + 1n;
        if (cursor > last) {
            break;
        }
    }
    if (cursor <= last) {
        out.push({ first: cursor, last });
    }
    return out;
}

function describeSource(k: KernelState, pages: IoptPages): string {
    return pages.source.kind === 'user'
        ? `${pages.process}'s memory at ${hex(pages.source.uptr)}`
        : `${k.files.get(pages.source.file)?.path ?? `file ${pages.source.file}`} at offset ${hex(pages.source.start)}`;
}

/** The memfd behind file pages, or EINVAL as `memfd_pin_folios` refuses other files. */
function memfdOf(k: KernelState, pages: IoptPages, who: string): Memfd {
    const src = 'mm/gup.c:memfd_pin_folios';
    if (pages.source.kind !== 'file') {
        throw new Error('engine invariant: not file pages');
    }
    const file = k.files.get(pages.source.file);
    const memfd = file?.kind === 'memfd' ? k.memfds.get(file.object as number) : undefined;
    if (!memfd) {
        fail('EINVAL', `${who}: ${file?.path ?? 'the file'} is not a memfd (shmem or hugetlbfs): its pages cannot be pinned`, src);
    }
    return memfd;
}

/**
 * `pfn_reader_user_pin` / `memfd_pin_folios` for the indexes of [first, last] not pinned yet:
 * EFAULT for unmapped or read-only user memory, EINVAL for a range beyond the memfd. Returns
 * how many pages it newly pinned (the caller charges them with {@link iopt_pages_account}).
 */
export function iopt_pages_pin(k: KernelState, pages: IoptPages, first: bigint, last: bigint, who: string): bigint {
    const page = pageSize(k);
    const todo = missing(pages.pinned, first, last);
    if (todo.length === 0) {
        return 0n;
    }
    const added: PinnedRun[] = [];
    for (const r of todo) {
        if (pages.source.kind === 'user') {
            const proc = k.processes.get(pages.process);
            if (!proc || proc.exited) {
                fail('EFAULT', `${who}: ${pages.process}, whose memory it maps, has exited: its pages cannot be pinned`, `${PAGES_C}:pfn_reader_user_pin`);
            }
            // Passing `k` lets a pin in a forked child break copy-on-write sharing, as gup_must_unshare does.
            pinUserRange(proc.mm, pages.source.uptr + r.first * page, (r.last - r.first + 1n) * page, pages.writable, who, k);
            added.push({ first: r.first, last: r.last, vmas: proc.mm.vmas });
        } else {
            const memfd = memfdOf(k, pages, who);
            const end = pages.source.start + (r.last + 1n) * page;
            if (end > alignUp(memfd.size, page)) {
                fail('EINVAL', `${who}: [${hex(pages.source.start + r.first * page)}, ${hex(end - 1n)}] is beyond the end of memfd ${memfd.id} (${formatSize(memfd.size)})`, 'mm/gup.c:memfd_pin_folios');
            }
            if (memfd.physBase === null) {
                fail('ENOMEM', `${who}: memfd ${memfd.id} has no physical memory behind it (RAM exhausted)`, 'mm/gup.c:memfd_pin_folios');
            }
            added.push({ first: r.first, last: r.last });
        }
    }
    pages.pinned = mergePinned([...pages.pinned, ...added]);
    return todo.reduce((n, r) => n + r.last - r.first + 1n, 0n);
}

function mergePinned(runs: PinnedRun[]): PinnedRun[] {
    // Runs from different pins keep their own address-space snapshot: only sort them.
    return [...runs].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
}

/**
 * `iopt_pages_update_pinned`: charges (n > 0) or uncharges (n < 0) pinned pages to the user
 * (USER), the process (MM) or nobody (NONE); ENOMEM over RLIMIT_MEMLOCK.
 */
export function iopt_pages_account(k: KernelState, pages: IoptPages, n: bigint, who: string): void {
    if (n === 0n || pages.accountMode === 'none') {
        return;
    }
    const proc = k.processes.get(pages.process);
    const page = pageSize(k);
    if (pages.accountMode === 'user') {
        const cur = k.userLockedVm.get(pages.uid) ?? 0n;
        if (n > 0n) {
            const limit = proc ? memlockLimit(proc) / page : 0n;
            if (cur + n > limit) {
                fail('ENOMEM', `${who}: pinning ${formatSize(n * page)} would exceed RLIMIT_MEMLOCK (${formatSize(limit * page)}) of uid ${pages.uid}, which already has ${formatSize(cur * page)} locked (IOMMU_OPTION_RLIMIT_MODE 0 charges the user: user->locked_vm)`, `${PAGES_C}:incr_user_locked_vm`);
            }
        }
        const next = cur + n;
        k.userLockedVm.set(pages.uid, next > 0n ? next : 0n);
    } else if (proc) {
        // MM mode charges the mapping process like VFIO type1 (account_locked_vm).
        accountLockedVm(k, proc, n, who, `${PAGES_C}:update_mm_locked_vm`);
    }
    if (proc) {
        const pinned = proc.mm.pinned_vm + n;
        proc.mm.pinned_vm = pinned > 0n ? pinned : 0n;
    }
}

/** Pins and charges what [first, last] needs: the two halves of `iopt_area_fill_domain`'s pfn reader. */
export function iopt_pages_pin_and_account(k: KernelState, pages: IoptPages, first: bigint, last: bigint, who: string): void {
    const n = iopt_pages_pin(k, pages, first, last, who);
    iopt_pages_account(k, pages, n, who);
}

/**
 * After areas or domains went away: unpins (and uncharges) every page no domain-backed area of
 * the ctx still maps, and frees pages no area uses any more (`iopt_put_pages`).
 */
export function iopt_pages_release_unneeded(k: KernelState, ctx: IommufdCtx, pagesId: number): void {
    const pages = ctx.pages.get(pagesId);
    if (!pages) {
        return;
    }
    const needed = neededRuns(k, ctx, pagesId);
    const keep: PinnedRun[] = [];
    let dropped = 0n;
    for (const r of pages.pinned) {
        let cursor = r.first;
        for (const n of needed) {
            if (n.last < cursor || n.first > r.last) {
                continue;
            }
            const from = n.first > cursor ? n.first : cursor;
            const to = n.last < r.last ? n.last : r.last;
            dropped += from - cursor;
            keep.push({ ...r, first: from, last: to });
            cursor = to + 1n;
        }
        if (cursor <= r.last) {
            dropped += r.last - cursor + 1n;
        }
    }
    pages.pinned = keep;
    iopt_pages_account(k, pages, -dropped, 'unpin');
    if (!pagesInUse(ctx, pagesId)) {
        ctx.pages.delete(pagesId);
        if (pages.source.kind === 'file') {
            fput(k, pages.source.file);
        }
    }
}

function pagesInUse(ctx: IommufdCtx, pagesId: number): boolean {
    for (const obj of ctx.objects.values()) {
        if (obj.type === 'ioas') {
            for (const e of obj.iopt.areas.entries()) {
                if (e.value.pages === pagesId) {
                    return true;
                }
            }
        }
    }
    return false;
}

/** Pinned pages (npinned) of an `iopt_pages`, for views. */
export function iopt_pages_npinned(pages: IoptPages): bigint {
    return npinned(pages);
}

function mmOf(vmas: PinnedRun['vmas']): MmState {
    return { vmas: vmas!, locked_vm: 0n, pinned_vm: 0n, mmapBase: 0n };
}

/**
 * The physical memory behind `length` bytes of pinned pages from `startByte` (the pfns the
 * domains are filled with). `smallPages` (huge pages disabled) cuts runs at every page so the
 * domain gets PAGE_SIZE entries only (`batch_iommu_map_small`).
 */
export function iopt_pages_phys(k: KernelState, pages: IoptPages, startByte: bigint, length: bigint, smallPages: boolean): PhysSource {
    const page = pageSize(k);
    const cut = (run: PhysRun): PhysRun => {
        if (!smallPages) {
            return run;
        }
        const inPage = page - (BigInt(run.pa) % page);
        return run.length > inPage ? { pa: run.pa, length: inPage } : run;
    };
    if (pages.source.kind === 'file') {
        const memfd = memfdOf(k, pages, 'mapping');
        const phys = memfdPhys(memfd, pages.source.start + startByte, length);
        return (offset) => cut(phys(offset));
    }
    const uptr = pages.source.uptr;
    return (offset: bigint): PhysRun => {
        const byte = startByte + offset;
        const idx = byte / page;
        const run = pages.pinned.find((r) => r.first <= idx && idx <= r.last);
        const r = run?.vmas ? vaToPa(mmOf(run.vmas), uptr + byte) : undefined;
        if (!r) {
            throw new Error(`engine invariant: page ${idx} of iopt_pages ${pages.id} is not pinned`);
        }
        const remaining = length - offset;
        return cut({ pa: r.pa, length: r.runLength < remaining ? r.runLength : remaining });
    };
}

/**
 * Where one byte of the pages is now, for CPU access by an emulated device's driver
 * (`iopt_pages_rw_access`): the pinned page if pinned, else the process's current mapping.
 */
export function iopt_pages_locate(k: KernelState, pages: IoptPages, byte: bigint): { pa: number; run: bigint } | { reason: string } {
    const page = pageSize(k);
    if (pages.source.kind === 'file') {
        const file = k.files.get(pages.source.file);
        const memfd = file?.kind === 'memfd' ? k.memfds.get(file.object as number) : undefined;
        if (!memfd || memfd.physBase === null || pages.source.start + byte >= alignUp(memfd.size, page)) {
            return { reason: `${describeSource(k, pages)} + ${hex(byte)} is not memfd memory (EINVAL)` };
        }
        const r = memfdPhys(memfd, pages.source.start + byte, page)(0n);
        return { pa: r.pa, run: r.length };
    }
    const idx = byte / page;
    const run = pages.pinned.find((r) => r.first <= idx && idx <= r.last);
    const proc = k.processes.get(pages.process);
    const mm = run?.vmas ? mmOf(run.vmas) : proc && !proc.exited ? proc.mm : undefined;
    const r = mm ? vaToPa(mm, pages.source.uptr + byte) : undefined;
    if (!r) {
        return { reason: `user address ${hex(pages.source.uptr + byte)} is not mapped in ${pages.process} (EFAULT)` };
    }
    return { pa: r.pa, run: r.runLength };
}
