/**
 * Process memory: `mmap`/`munmap` of anonymous and memfd memory, the simulated physical pages
 * behind it, and page pinning with RLIMIT_MEMLOCK accounting (`account_locked_vm`), so that a
 * DMA mapping points at real (simulated) physical pages and limits fail as Linux fails them.
 *
 * Physical memory: RAM is [0, memory). Each VMA (or memfd) reserves its backing when created,
 * from the top of RAM down. Folios within it are laid out in descending physical order, so two
 * consecutive 4 KiB pages are never physically contiguous (as anonymous memory usually is not)
 * while a huge page is one contiguous, naturally aligned folio.
 */

import { fail } from '../errno.js';
import { IntervalMap } from '../interval-map.js';
import type { PhysRun, PhysSource } from '../iommu/pgtable/types.js';
import type { KernelState, Memfd, MmState, Process, Vma } from '../state.js';
import { SZ_2M, alignDown, formatSize, hex, isAligned } from '../u64.js';

/** Top of the mmap area: mappings are placed below it, top-down, as `arch_get_unmapped_area_topdown`. */
export const MMAP_TOP = 0x7f00_0000_0000n;
/** Physical memory below this is the kernel's own, never handed to user mappings. */
const PHYS_FLOOR = 0x100_0000;

export function newMm(): MmState {
    return { vmas: IntervalMap.empty<Vma>(), locked_vm: 0n, pinned_vm: 0n, mmapBase: MMAP_TOP };
}

export function capable(proc: Process, cap: string): boolean {
    return proc.caps === 'all' || proc.caps.includes(cap);
}

/** Reserves `bytes` of physical memory aligned to `align`, or null when RAM is exhausted. */
function allocPhys(k: KernelState, bytes: bigint, align: bigint): number | null {
    const top = BigInt(k.physTop);
    if (bytes > top) {
        return null;
    }
    const base = alignDown(top - bytes, align);
    if (base < BigInt(PHYS_FLOOR)) {
        return null;
    }
    k.physTop = Number(base);
    return Number(base);
}

function validHugepage(size: bigint): boolean {
    return size === SZ_2M || size === 0x4000_0000n;
}

/**
 * `mmap(NULL, length, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS [|MAP_HUGETLB], -1, 0)`, or
 * `MAP_SHARED` of a memfd. Returns the start address.
 */
export function sys_mmap(k: KernelState, proc: Process, length: bigint, opts: { hugepage?: bigint; memfd?: Memfd; offset?: bigint } = {}): bigint {
    const page = k.config.pageSize;
    const memfd = opts.memfd;
    if (memfd && length === 0n) {
        length = memfd.size - (opts.offset ?? 0n);
    }
    if (length <= 0n) {
        fail('EINVAL', `mmap of ${length} bytes: the length must be positive`, 'mm/mmap.c:do_mmap');
    }
    const folioSize = memfd ? memfd.folioSize : opts.hugepage ?? page;
    if (opts.hugepage !== undefined && !validHugepage(opts.hugepage)) {
        // MAP_HUGE_* names no hstate (hstate_sizelog returns NULL).
        fail('EINVAL', `no ${formatSize(opts.hugepage)} huge page size on x86-64 (2M and 1G exist)`, 'mm/mmap.c:ksys_mmap_pgoff');
    }
    if (folioSize > page && !isAligned(length, folioSize)) {
        if (memfd) {
            // A hugetlbfs file maps whole huge pages only.
            fail('EINVAL', `a ${formatSize(folioSize)} huge-page mapping must be a multiple of ${formatSize(folioSize)}, not ${formatSize(length)}`, 'mm/hugetlb.c:hugetlb_get_unmapped_area');
        }
        // Anonymous MAP_HUGETLB: ksys_mmap_pgoff rounds the length up to the huge page size.
        length = alignUpBig(length, folioSize);
    }
    const len = alignUpBig(length, page);
    const offset = opts.offset ?? 0n;
    if (!isAligned(offset, page)) {
        // Pages past the end of a memfd may be mapped (touching them is SIGBUS); a misaligned offset may not.
        fail('EINVAL', `mmap offset ${hex(offset)} is not page aligned`, 'mm/mmap.c:do_mmap');
    }
    // Large anonymous mappings are THP-aligned (thp_get_unmapped_area) when their length is a
    // multiple of PMD_SIZE; huge-page mappings are aligned to the huge page.
    const align = folioSize > page ? folioSize : isAligned(len, SZ_2M) ? SZ_2M : page;
    const start = alignDown(proc.mm.mmapBase - len, align);
    let physBase: number | null;
    let physFolios: number;
    let folioOffset = 0;
    let backing: Vma['backing'];
    if (memfd) {
        physBase = memfd.physBase;
        physFolios = memfd.physFolios;
        folioOffset = Number(offset / folioSize);
        backing = { kind: 'memfd', memfd: memfd.id, offset };
    } else {
        physFolios = Number(len / folioSize);
        physBase = allocPhys(k, len, folioSize);
        backing = { kind: 'anon' };
    }
    const vma: Vma = { start, length: len, folioSize, physBase, physFolios, folioOffset, backing, writable: true };
    proc.mm.vmas = proc.mm.vmas.insert(start, start + len - 1n, vma);
    proc.mm.mmapBase = start;
    return start;
}

function alignUpBig(v: bigint, a: bigint): bigint {
    const r = v % a;
    return r === 0n ? v : v + a - r;
}

/** `memfd_create` + `ftruncate`: shared memory with its own backing. */
export function memfdCreate(k: KernelState, size: bigint, hugepage?: bigint): Memfd {
    if (size <= 0n) {
        fail('EINVAL', `memfd of ${size} bytes`, 'mm/memfd.c:memfd_create');
    }
    const folioSize = hugepage ?? k.config.pageSize;
    if (hugepage !== undefined && !validHugepage(hugepage)) {
        fail('EINVAL', `no ${formatSize(hugepage)} huge page size on x86-64`, 'mm/memfd.c:memfd_create');
    }
    const len = alignUpBig(size, folioSize);
    const id = k.next.memfd++;
    const memfd: Memfd = { id, size, folioSize, physBase: allocPhys(k, len, folioSize), physFolios: Number(len / folioSize) };
    k.memfds.set(id, memfd);
    return memfd;
}

/**
 * `munmap(addr, length)`: unmaps whole pages, splitting VMAs. Pages pinned by DMA mappings stay
 * pinned (the IOMMU keeps pointing at them); only the process loses its view.
 */
export function sys_munmap(k: KernelState, proc: Process, addr: bigint, length: bigint | undefined): void {
    const page = k.config.pageSize;
    if (!isAligned(addr, page)) {
        fail('EINVAL', `munmap address ${hex(addr)} is not page aligned`, 'mm/mmap.c:do_vmi_munmap');
    }
    const whole = proc.mm.vmas.find(addr);
    const len = length ?? (whole ? whole.start + (whole.last - whole.start + 1n) - addr : 0n);
    if (len === 0n) {
        fail('EINVAL', `munmap of 0 bytes at ${hex(addr)}`, 'mm/mmap.c:do_vmi_munmap');
    }
    const last = addr + alignUpBig(len, page) - 1n;
    let vmas = proc.mm.vmas;
    for (const e of vmas.overlapping(addr, last)) {
        const vma = e.value;
        vmas = vmas.remove(e.start);
        if (vma.folioSize > page && (!isAligned(addr, vma.folioSize) || !isAligned(last + 1n, vma.folioSize))) {
            fail('EINVAL', `munmap of [${hex(addr)}, ${hex(last)}] splits a ${formatSize(vma.folioSize)} huge page`, 'mm/hugetlb.c:hugetlb_vm_op_split');
        }
        if (e.start < addr) {
            vmas = vmas.insert(e.start, addr - 1n, { ...vma, length: addr - e.start });
        }
        if (e.last > last) {
            const skip = last + 1n - e.start;
            vmas = vmas.insert(last + 1n, e.last, {
                ...vma,
                start: last + 1n,
                length: e.last - last,
                folioOffset: vma.folioOffset + Number(skip / vma.folioSize),
            });
        }
    }
    proc.mm.vmas = vmas;
}

/** Physical address of a virtual address, or undefined if it is not mapped (or RAM ran out). */
export function vaToPa(mm: MmState, va: bigint): { pa: number; vma: Vma; runLength: bigint } | undefined {
    const e = mm.vmas.find(va);
    if (!e) {
        return undefined;
    }
    const vma = e.value;
    if (vma.physBase === null) {
        return undefined;
    }
    const off = va - vma.start;
    const folio = vma.folioOffset + Number(off / vma.folioSize);
    if (folio >= vma.physFolios) {
        return undefined;
    }
    const within = off % vma.folioSize;
    // Descending layout: folio i lives at physBase + (n - 1 - i) * folioSize.
    const pa = vma.physBase + (vma.physFolios - 1 - folio) * Number(vma.folioSize) + Number(within);
    return { pa, vma, runLength: vma.folioSize - within };
}

/**
 * `pin_user_pages` over [va, va+length): every page must be mapped (EFAULT otherwise; writable
 * for a writable pin). Returns a PhysSource that gives the physically contiguous runs.
 */
export function pinUserRange(mm: MmState, va: bigint, length: bigint, write: boolean, who: string, k?: KernelState): PhysSource {
    let cursor = va;
    const end = va + length;
    if (k) {
        unshareForPin(k, mm, va, end - 1n);
    }
    while (cursor < end) {
        const e = mm.vmas.find(cursor);
        if (!e) {
            fail('EFAULT', `${who}: user address ${hex(cursor)} is not mapped in the process`, 'mm/gup.c:__get_user_pages');
        }
        if (e.value.physBase === null) {
            fail('ENOMEM', `${who}: out of physical memory backing ${hex(cursor)}`, 'mm/gup.c:__get_user_pages');
        }
        if (write && !e.value.writable) {
            fail('EFAULT', `${who}: ${hex(cursor)} is not writable`, 'mm/gup.c:check_vma_flags');
        }
        cursor = e.last + 1n;
    }
    return (offset: bigint): PhysRun => {
        const r = vaToPa(mm, va + offset)!;
        const remaining = length - offset;
        return { pa: r.pa, length: r.runLength < remaining ? r.runLength : remaining };
    };
}

/**
 * FOLL_PIN on private anonymous memory still shared with a fork (`gup_must_unshare` → the
 * unshare fault, or a write fault's COW): this mm gets its own copy of the pages, so a pin in a
 * child never points the IOMMU at its parent's pages. The engine copies each such VMA whole.
 * Callers that pin pass `k` to `pinUserRange`.
 */
export function unshareForPin(k: KernelState, mm: MmState, first: bigint, last: bigint): void {
    for (const e of mm.vmas.overlapping(first, last)) {
        const vma = e.value;
        if (!vma.cow) {
            continue;
        }
        const physFolios = Number(vma.length / vma.folioSize);
        mm.vmas = mm.vmas.update(e.start, {
            ...vma, cow: false, folioOffset: 0, physFolios, physBase: allocPhys(k, vma.length, vma.folioSize),
        });
    }
}

/** Physical runs of a memfd range (for IOMMU_IOAS_MAP_FILE). */
export function memfdPhys(memfd: Memfd, start: bigint, length: bigint): PhysSource {
    return (offset: bigint): PhysRun => {
        const off = start + offset;
        const folio = Number(off / memfd.folioSize);
        const within = off % memfd.folioSize;
        const pa = (memfd.physBase ?? 0) + (memfd.physFolios - 1 - folio) * Number(memfd.folioSize) + Number(within);
        const run = memfd.folioSize - within;
        const remaining = length - offset;
        return { pa, length: run < remaining ? run : remaining };
    };
}

export function pagesOf(k: KernelState, bytes: bigint): bigint {
    return (bytes + k.config.pageSize - 1n) / k.config.pageSize;
}

/**
 * `account_locked_vm`/`__account_locked_vm`: charges `pages` to the process's mm, failing with
 * ENOMEM beyond RLIMIT_MEMLOCK unless it has CAP_IPC_LOCK.
 */
export function accountLockedVm(k: KernelState, proc: Process, pages: bigint, who: string, src: string): void {
    if (pages > 0n && !capable(proc, 'CAP_IPC_LOCK')) {
        const limit = memlockLimit(proc) / k.config.pageSize;
        if (proc.mm.locked_vm + pages > limit) {
            fail('ENOMEM', `${who}: pinning ${formatSize(pages * k.config.pageSize)} would exceed ${proc.name}'s RLIMIT_MEMLOCK of ${formatSize(memlockLimit(proc))} (${formatSize(proc.mm.locked_vm * k.config.pageSize)} already locked) and it lacks CAP_IPC_LOCK`, src);
        }
    }
    proc.mm.locked_vm += pages;
    if (proc.mm.locked_vm < 0n) {
        proc.mm.locked_vm = 0n;
    }
}

/** RLIMIT_MEMLOCK; Linux's default since 5.16 is 8 MiB. */
export function memlockLimit(proc: Process): bigint {
    return proc.memlock ?? 8n * 1024n * 1024n;
}
