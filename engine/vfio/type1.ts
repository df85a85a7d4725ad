/**
 * The VFIO type1 IOMMU backend (`drivers/vfio/vfio_iommu_type1.c`): the container's domains and
 * groups, its IOVA list (apertures minus reserved regions), its `vfio_dma` mappings with pinning
 * and RLIMIT_MEMLOCK accounting, and the ioctls it answers once `VFIO_SET_IOMMU` chose it.
 */

import { fail } from '../errno.js';
import { IntervalMap } from '../interval-map.js';
import { getDevice, getGroup, iommu_attach_group, iommu_detach_group, iommu_group_has_isolated_msi } from '../iommu/core.js';
import { domainAllocPaging, domainEnforceCacheCoherency, domainMap, domainUnmap, getDomain } from '../iommu/domain.js';
import type { PhysSource } from '../iommu/pgtable/types.js';
import { deviceResvRegions, type ResvRegion } from '../iommu/unit.js';
import { accountLockedVm, pagesOf, pinUserRange, vaToPa } from '../mm/memory.js';
import type { IoctlCall, IoctlOut } from '../syscalls/ioctl-call.js';
import type { KernelState, Process, VfioContainer, VfioDma, VfioGroup, VfioIommuType1 } from '../state.js';
import { NO_DOMAIN } from '../state.js';
import { U64_MAX, bitmapSizes, ffs, formatSize, hex, isAligned } from '../u64.js';
import { kernelAtLeast } from '../machine/spec.js';

const TYPE1 = 'drivers/vfio/vfio_iommu_type1.c';

export const VFIO_TYPE1_IOMMU = 1n;
export const VFIO_TYPE1v2_IOMMU = 3n;
export const VFIO_DMA_CC_IOMMU = 4n;
export const VFIO_TYPE1_NESTING_IOMMU = 6n;
export const VFIO_NOIOMMU_IOMMU = 8n;
export const VFIO_UNMAP_ALL = 9n;
export const VFIO_UPDATE_VADDR = 10n;

const MAP_READ = 1n;
const MAP_WRITE = 2n;
const MAP_VADDR = 4n;
const UNMAP_GET_DIRTY_BITMAP = 1n;
const UNMAP_ALL = 2n;
const UNMAP_VADDR = 4n;

export function getType1(k: KernelState, container: VfioContainer): VfioIommuType1 {
    if (!container.type1) {
        throw new Error(`engine invariant: container ${container.id} has no type1 backend`);
    }
    return container.type1;
}

/**
 * A range that wraps around 2^64: `check_add_overflow` → EOVERFLOW since 6.19 ("vfio/type1:
 * sanitize for overflow using check_*_overflow"); before, the wrap test returned EINVAL.
 */
function overflowErrno(k: KernelState): 'EOVERFLOW' | 'EINVAL' {
    return kernelAtLeast(k.config.version, 6, 19) ? 'EOVERFLOW' : 'EINVAL';
}

/** `vfio_iommu_type1_check_extension`; `iommu` undefined while no container chose type1. */
export function type1CheckExtension(k: KernelState, iommu: VfioIommuType1 | undefined, arg: bigint): bigint {
    switch (arg) {
        case VFIO_TYPE1_IOMMU:
        case VFIO_TYPE1v2_IOMMU:
        case VFIO_UNMAP_ALL:
            return 1n;
        case VFIO_TYPE1_NESTING_IOMMU:
            // Retired in 6.13 (`__VFIO_RESERVED_TYPE1_NESTING_IOMMU`): older kernels still said 1.
            return k.config.version.major < 6 || (k.config.version.major === 6 && k.config.version.minor < 13) ? 1n : 0n;
        case VFIO_UPDATE_VADDR:
            // Disabled with mdevs present: they cannot pin while vaddrs are being updated.
            return iommu && iommu.emulatedGroups.length === 0 ? 1n : 0n;
        case VFIO_DMA_CC_IOMMU:
            if (!iommu) {
                return 0n;
            }
            return iommu.domains.every((d) => d.enforceCacheCoherency) ? 1n : 0n;
        default:
            return 0n;
    }
}

/** `vfio_iommu_type1_open`: TYPE1 or TYPE1v2 (EINVAL for any other type CHECK_EXTENSION accepted). */
export function type1Open(k: KernelState, arg: bigint): VfioIommuType1 {
    const nestingAllowed = type1CheckExtension(k, undefined, VFIO_TYPE1_NESTING_IOMMU) === 1n;
    if (arg !== VFIO_TYPE1_IOMMU && arg !== VFIO_TYPE1v2_IOMMU && !(nestingAllowed && arg === VFIO_TYPE1_NESTING_IOMMU)) {
        fail('EINVAL', `vfio_iommu_type1 cannot open IOMMU type ${arg}`, `${TYPE1}:vfio_iommu_type1_open`);
    }
    return {
        v2: arg !== VFIO_TYPE1_IOMMU,
        nesting: arg === VFIO_TYPE1_NESTING_IOMMU,
        domains: [],
        emulatedGroups: [],
        iovaList: [],
        dmaList: IntervalMap.empty<VfioDma>(),
        pgsizeBitmap: U64_MAX & ~(k.config.pageSize - 1n),
        dma_avail: k.config.params.dmaEntryLimit,
        vaddrInvalidCount: 0,
        dirtyPageTracking: false,
    };
}

function groupResvRegions(k: KernelState, iommuGroup: number): ResvRegion[] {
    const out: ResvRegion[] = [];
    for (const name of getGroup(k, iommuGroup).devices) {
        const dev = getDevice(k, name);
        const unit = dev.iommu ? k.iommus.get(dev.iommu) : undefined;
        if (unit) {
            out.push(...deviceResvRegions(unit, !!dev.pci?.requireDirect));
        }
    }
    return out;
}

function firstDmaIn(iommu: VfioIommuType1, start: bigint, last: bigint): VfioDma | undefined {
    return iommu.dmaList.firstOverlap(start, last)?.value;
}

/** `vfio_iommu_aper_conflict`. */
function aperConflict(iommu: VfioIommuType1, start: bigint, end: bigint): boolean {
    if (iommu.iovaList.length === 0) {
        return false;
    }
    const first = iommu.iovaList[0]!;
    const last = iommu.iovaList[iommu.iovaList.length - 1]!;
    if (start > last.end || end < first.start) {
        return true;
    }
    if (start > first.start && firstDmaIn(iommu, first.start, start - 1n)) {
        return true;
    }
    return end < last.end && !!firstDmaIn(iommu, end + 1n, last.end);
}

/** `vfio_iommu_aper_resize`. */
function aperResize(list: Array<{ start: bigint; end: bigint }>, start: bigint, end: bigint): Array<{ start: bigint; end: bigint }> {
    if (list.length === 0) {
        return [{ start, end }];
    }
    return list
        .filter((n) => n.end >= start && n.start <= end)
        .map((n) => ({ start: n.start < start ? start : n.start, end: n.end > end ? end : n.end }));
}

/** `vfio_iommu_resv_exclude`: empty result is EINVAL for the caller. */
function resvExclude(list: Array<{ start: bigint; end: bigint }>, resv: ResvRegion[]): Array<{ start: bigint; end: bigint }> {
    let out = list;
    for (const r of resv) {
        if (r.type === 'direct-relaxable') {
            continue;
        }
        const next: Array<{ start: bigint; end: bigint }> = [];
        for (const n of out) {
            if (r.start > n.end || r.last < n.start) {
                next.push(n);
                continue;
            }
            if (r.start > n.start) {
                next.push({ start: n.start, end: r.start - 1n });
            }
            if (r.last < n.end) {
                next.push({ start: r.last + 1n, end: n.end });
            }
        }
        out = next;
    }
    return out;
}

function describeGroup(g: VfioGroup): string {
    return `group ${g.iommuGroup ?? '(gone)'}`;
}

/**
 * `vfio_iommu_type1_attach_group`: a domain for the group (or an existing compatible one),
 * IOVA list narrowed by the aperture and reserved regions, MSI isolation required, existing
 * mappings replayed (pinned now if no domain held them yet).
 */
export function type1AttachGroup(k: KernelState, container: VfioContainer, group: VfioGroup): void {
    const iommu = getType1(k, container);
    const src = `${TYPE1}:vfio_iommu_type1_attach_group`;
    if (iommu.vaddrInvalidCount > 0) {
        fail('EBUSY', `container ${container.id} has ${iommu.vaddrInvalidCount} mapping(s) with an invalidated vaddr (VFIO_DMA_UNMAP_FLAG_VADDR): attaching could need to pin them`, src);
    }
    const gid = group.iommuGroup!;
    if (iommu.emulatedGroups.includes(gid) || iommu.domains.some((d) => d.groups.includes(gid))) {
        fail('EINVAL', `${describeGroup(group)} is already attached to container ${container.id}`, src);
    }
    if (group.type === 'emulated') {
        iommu.emulatedGroups.push(gid);
        return;
    }
    const iommuGroup = getGroup(k, gid);
    const first = getDevice(k, iommuGroup.devices[0]!);
    const domain = domainAllocPaging(k, first, {}, `type1 container ${container.id}`);
    if (iommu.nesting) {
        // iommu_enable_nesting: only the SMMUv3 driver had `enable_nesting` (removed in 6.13).
        const unit = k.iommus.get(domain.iommu)!;
        if (unit.kind !== 'arm-smmu-v3' || !unit.nesting) {
            k.domains.delete(domain.id);
            fail('EINVAL', `VFIO_TYPE1_NESTING_IOMMU: ${unit.name} (${unit.kind}) cannot enable nesting on a type1 domain (no enable_nesting op)`, 'drivers/iommu/iommu.c:iommu_enable_nesting');
        }
    }
    iommu_attach_group(k, domain.id, gid);
    const fail2 = (errno: 'EINVAL' | 'EPERM', reason: string): never => {
        iommu_detach_group(k, gid);
        return fail(errno, reason, src);
    };
    const { start, end } = domain.aperture;
    if (aperConflict(iommu, start, end)) {
        fail2('EINVAL', `${describeGroup(group)}'s aperture [${hex(start)}, ${hex(end)}] conflicts with the container's IOVA list or existing mappings`);
    }
    const resv = groupResvRegions(k, gid);
    for (const r of resv) {
        if (r.type !== 'direct-relaxable' && firstDmaIn(iommu, r.start, r.last)) {
            fail2('EINVAL', `an existing mapping overlaps ${describeGroup(group)}'s reserved region [${hex(r.start)}, ${hex(r.last)}] (${r.what})`);
        }
    }
    const iovaCopy = resvExclude(aperResize(iommu.iovaList, start, end), resv);
    if (iovaCopy.length === 0) {
        fail2('EINVAL', `no usable IOVA is left for ${describeGroup(group)} after its aperture and reserved regions`);
    }
    if (!k.config.params.type1AllowUnsafeInterrupts && !iommu_group_has_isolated_msi(k, iommuGroup)) {
        k.log.push(`vfio_iommu_type1_attach_group: No interrupt remapping support.  Use the module param "allow_unsafe_interrupts" to enable VFIO IOMMU support on this platform`);
        const own = first.iommu ? k.iommus.get(first.iommu)?.intrRemap : false;
        const why = own ? 'interrupt remapping is off because another IOMMU unit lacks it (x86 remaps all or none)' : `${first.iommu} has no interrupt remapping`;
        fail2('EPERM', `${describeGroup(group)}: ${why}, so MSIs are not isolated; vfio_iommu_type1.allow_unsafe_interrupts=1 would allow it`);
    }
    // VFIO always asks for snoop control: on Intel it lets KVM skip WBINVD emulation.
    const cc = domainEnforceCacheCoherency(k, domain.id);
    // Reuse an existing domain of the same driver and coherency: groups then share page tables.
    for (const d of iommu.domains) {
        const existing = getDomain(k, d.domain);
        if (existing.kind === domain.kind && d.enforceCacheCoherency === cc) {
            iommu_detach_group(k, gid);
            try {
                iommu_attach_group(k, d.domain, gid);
                d.groups.push(gid);
                k.domains.delete(domain.id);
                iommu.iovaList = iovaCopy;
                return;
            } catch {
                iommu_attach_group(k, domain.id, gid);
            }
        }
    }
    replay(k, container, iommu, domain.id);
    iommu.domains.push({ domain: domain.id, groups: [gid], enforceCacheCoherency: cc });
    iommu.iovaList = iovaCopy;
    updatePgsizeBitmap(k, iommu);
}

/** `vfio_iommu_replay`: maps every existing vfio_dma into a new domain, pinning what no domain pinned yet. */
function replay(k: KernelState, container: VfioContainer, iommu: VfioIommuType1, domainId: number): void {
    const had = iommu.domains[0];
    for (const e of iommu.dmaList.entries()) {
        const dma = e.value;
        let phys: PhysSource;
        if (had) {
            phys = physFromDomain(k, had.domain, dma.iova);
        } else {
            phys = pinDma(k, dma, `replaying IOVA ${hex(dma.iova)} into a new domain`);
            iommu.dmaList = iommu.dmaList.update(dma.iova, { ...dma, pinned: pagesOf(k, dma.size) });
        }
        domainMap(k, domainId, dma.iova, dma.size, phys, { read: dma.read, write: dma.write });
    }
}

function physFromDomain(k: KernelState, domainId: number, base: bigint): PhysSource {
    const pt = getDomain(k, domainId).pgtable!;
    return (offset: bigint) => {
        const w = pt.walk(base + offset, 'read');
        if (!w.ok) {
            throw new Error(`engine invariant: replay source domain ${domainId} lacks IOVA ${hex(base + offset)}`);
        }
        const within = (base + offset) % w.pageSize;
        return { pa: w.pa, length: w.pageSize - within };
    };
}

/** `vfio_update_pgsize_bitmap`: AND of the domains' sizes; sub-page sizes are hidden behind PAGE_SIZE. */
function updatePgsizeBitmap(k: KernelState, iommu: VfioIommuType1): void {
    let bitmap = U64_MAX;
    for (const d of iommu.domains) {
        bitmap &= getDomain(k, d.domain).pgsizeBitmap;
    }
    const pageMask = U64_MAX & ~(k.config.pageSize - 1n);
    if (bitmap & ~pageMask) {
        bitmap = (bitmap & pageMask) | k.config.pageSize;
    }
    iommu.pgsizeBitmap = bitmap;
}

/** `vfio_iommu_type1_detach_group`: the last IOMMU-backed group out unmaps and unpins everything. */
export function type1DetachGroup(k: KernelState, container: VfioContainer, group: VfioGroup): void {
    const iommu = getType1(k, container);
    const gid = group.iommuGroup;
    const em = gid === null ? -1 : iommu.emulatedGroups.indexOf(gid);
    if (em >= 0) {
        iommu.emulatedGroups.splice(em, 1);
        if (iommu.emulatedGroups.length === 0 && iommu.domains.length === 0) {
            unmapUnpinAll(k, iommu);
        }
        return;
    }
    const idx = iommu.domains.findIndex((d) => gid !== null && d.groups.includes(gid));
    if (idx < 0) {
        return;
    }
    const d = iommu.domains[idx]!;
    iommu_detach_group(k, gid!);
    d.groups = d.groups.filter((g) => g !== gid);
    if (d.groups.length === 0) {
        if (iommu.domains.length === 1) {
            if (iommu.emulatedGroups.length === 0) {
                unmapUnpinAll(k, iommu);
            } else {
                // Mappings stay for the mdevs, but nothing is pinned for the IOMMU any more.
                for (const e of iommu.dmaList.entries()) {
                    unaccount(k, e.value);
                    iommu.dmaList = iommu.dmaList.update(e.start, { ...e.value, pinned: 0n });
                }
            }
        }
        k.domains.delete(d.domain);
        iommu.domains.splice(idx, 1);
        updatePgsizeBitmap(k, iommu);
    }
    refreshIovaList(k, iommu);
}

/** `vfio_iommu_aper_expand` + `vfio_iommu_resv_refresh` after a detach. */
function refreshIovaList(k: KernelState, iommu: VfioIommuType1): void {
    if (iommu.domains.length === 0) {
        return;
    }
    let start = 0n;
    let end = U64_MAX;
    const resv: ResvRegion[] = [];
    for (const d of iommu.domains) {
        const dom = getDomain(k, d.domain);
        start = dom.aperture.start > start ? dom.aperture.start : start;
        end = dom.aperture.end < end ? dom.aperture.end : end;
        for (const g of d.groups) {
            resv.push(...groupResvRegions(k, g));
        }
    }
    const list = resvExclude([{ start, end }], resv);
    if (list.length > 0) {
        iommu.iovaList = list;
    }
}

/** `vfio_iommu_type1_release`: when the container loses its last group. */
export function type1Release(k: KernelState, container: VfioContainer): void {
    const iommu = getType1(k, container);
    unmapUnpinAll(k, iommu);
    for (const d of iommu.domains) {
        for (const g of d.groups) {
            iommu_detach_group(k, g);
        }
        k.domains.delete(d.domain);
    }
    iommu.domains = [];
}

function unaccount(k: KernelState, dma: VfioDma): void {
    const proc = k.processes.get(dma.process);
    if (proc && dma.pinned > 0n) {
        proc.mm.locked_vm = proc.mm.locked_vm > dma.pinned ? proc.mm.locked_vm - dma.pinned : 0n;
    }
}

/** `vfio_remove_dma`: unmap from every domain, unpin, give back the entry. */
function removeDma(k: KernelState, iommu: VfioIommuType1, dma: VfioDma): void {
    for (const d of iommu.domains) {
        domainUnmap(k, d.domain, dma.iova, dma.size);
    }
    unaccount(k, dma);
    iommu.dmaList = iommu.dmaList.remove(dma.iova);
    iommu.dma_avail++;
}

function unmapUnpinAll(k: KernelState, iommu: VfioIommuType1): void {
    for (const e of iommu.dmaList.toArray()) {
        removeDma(k, iommu, e.value);
    }
}

/** Pins a vfio_dma's user pages in its process and charges locked_vm (`vfio_pin_pages_remote`). */
function pinDma(k: KernelState, dma: VfioDma, who: string): PhysSource {
    const proc = k.processes.get(dma.process);
    if (!proc || proc.exited) {
        fail('EFAULT', `${who}: the process that mapped it is gone`, `${TYPE1}:vfio_pin_pages_remote`);
    }
    const phys = pinUserRange(proc.mm, dma.vaddr, dma.size, dma.write, who, k);
    accountLockedVm(k, proc, pagesOf(k, dma.size), who, `${TYPE1}:vfio_pin_pages_remote`);
    return phys;
}

function flagNames(v: bigint, names: Array<[bigint, string]>): string {
    return names.filter(([b]) => v & b).map(([, n]) => n).join(' | ') || '0';
}

/** `vfio_iommu_type1_ioctl`: everything but CHECK_EXTENSION's no-driver case goes here once set. */
export function type1Ioctl(k: KernelState, proc: Process, container: VfioContainer, call: IoctlCall): IoctlOut {
    const iommu = getType1(k, container);
    switch (call.def.name) {
        case 'VFIO_CHECK_EXTENSION':
            return { ret: type1CheckExtension(k, iommu, call.value ?? 0n) };
        case 'VFIO_IOMMU_GET_INFO':
            return getInfo(k, iommu, call);
        case 'VFIO_IOMMU_MAP_DMA':
            return mapDma(k, proc, iommu, container, call);
        case 'VFIO_IOMMU_UNMAP_DMA':
            return unmapDma(k, proc, iommu, call);
        case 'VFIO_IOMMU_DIRTY_PAGES':
            return dirtyPages(k, iommu, call);
        default:
            fail('ENOTTY', `vfio_iommu_type1 does not handle ${call.def.name}`, `${TYPE1}:vfio_iommu_type1_ioctl`);
    }
}

/** `vfio_iommu_type1_get_info`: page sizes and the capability chain (migration, DMA_AVAIL, IOVA_RANGE). */
function getInfo(k: KernelState, iommu: VfioIommuType1, call: IoctlCall): IoctlOut {
    const src = `${TYPE1}:vfio_iommu_type1_get_info`;
    const minsz = 16n;
    if (call.size < minsz) {
        fail('EINVAL', `argsz ${call.size} is smaller than ${minsz} (offsetofend(struct vfio_iommu_type1_info, iova_pgsizes))`, src);
    }
    const INFO_PGSIZES = 1n;
    const INFO_CAPS = 2n;
    const infoSize = 24n;
    // Caps are 8-byte aligned: migration 32, DMA_AVAIL 16, IOVA_RANGE 16 + 16 per range.
    const capsSize = 32n + 16n + (iommu.iovaList.length > 0 ? 16n + 16n * BigInt(iommu.iovaList.length) : 0n);
    const out: Record<string, bigint> = { flags: INFO_PGSIZES | INFO_CAPS, iova_pgsizes: iommu.pgsizeBitmap };
    const extra: Record<string, { value: bigint; display?: string }> = {};
    if (call.size < infoSize + capsSize) {
        // Too small for the chain: the kernel says how big it must be and fills no caps.
        out.argsz = infoSize + capsSize;
        out.cap_offset = 0n;
    } else {
        out.cap_offset = infoSize;
        extra.dma_avail = { value: BigInt(iommu.dma_avail) };
        extra.migration_pgsize_bitmap = { value: 1n << BigInt(ffs(iommu.pgsizeBitmap)) };
        if (iommu.iovaList.length > 0) {
            // vfio_iommu_iova_build_caps: the IOVA_RANGE cap's nr_iovas (the uAPI's pseudo field).
            extra.nr_iovas = { value: BigInt(iommu.iovaList.length) };
            extra.iova_ranges = {
                value: BigInt(iommu.iovaList.length),
                display: `[${iommu.iovaList.map((r) => `${hex(r.start)}-${hex(r.end)}`).join(', ')}]`,
            };
            iommu.iovaList.forEach((r, i) => {
                extra[`iova_ranges[${i}].start`] = { value: r.start };
                extra[`iova_ranges[${i}].end`] = { value: r.end };
            });
        }
    }
    extra.iova_pgsizes_list = { value: iommu.pgsizeBitmap, display: bitmapSizes(iommu.pgsizeBitmap).slice(0, 8).map(formatSize).join(' ') };
    return { out, extra };
}

/** `vfio_iommu_type1_map_dma` + `vfio_dma_do_map`. */
function mapDma(k: KernelState, proc: Process, iommu: VfioIommuType1, container: VfioContainer, call: IoctlCall): IoctlOut {
    const src = `${TYPE1}:vfio_dma_do_map`;
    const flags = call.field('flags');
    if (call.size < 32n || flags & ~(MAP_READ | MAP_WRITE | MAP_VADDR)) {
        fail('EINVAL', call.size < 32n ? `argsz ${call.size} is smaller than 32` : `unknown flags ${hex(flags & ~(MAP_READ | MAP_WRITE | MAP_VADDR))}`, `${TYPE1}:vfio_iommu_type1_map_dma`);
    }
    const iova = call.field('iova');
    const vaddr = call.field('vaddr');
    const size = call.field('size');
    const setVaddr = (flags & MAP_VADDR) !== 0n;
    const read = (flags & MAP_READ) !== 0n;
    const write = (flags & MAP_WRITE) !== 0n;
    if (size === 0n) {
        fail('EINVAL', 'size is 0', src);
    }
    if (iova + size - 1n > U64_MAX || vaddr + size - 1n > U64_MAX) {
        fail(overflowErrno(k), `[${hex(iova)}, +${hex(size)}) or the vaddr range wraps around 2^64`, src);
    }
    if ((read || write) === setVaddr) {
        fail('EINVAL', setVaddr ? 'VFIO_DMA_MAP_FLAG_VADDR cannot be combined with READ or WRITE' : 'neither READ nor WRITE: a mapping must allow one of them', src);
    }
    const pgsize = 1n << BigInt(ffs(iommu.pgsizeBitmap));
    if (!isAligned(size, pgsize) || !isAligned(iova, pgsize) || !isAligned(vaddr, pgsize)) {
        fail('EINVAL', `iova ${hex(iova)}, vaddr ${hex(vaddr)} and size ${hex(size)} must be multiples of the smallest IOMMU page (${formatSize(pgsize)})`, src);
    }
    const last = iova + size - 1n;
    const existing = iommu.dmaList.firstOverlap(iova, last);
    if (setVaddr) {
        if (!existing) {
            fail('ENOENT', `no mapping at IOVA ${hex(iova)} to update the vaddr of`, src);
        }
        const dma = existing.value;
        if (!dma.vaddrInvalid || dma.iova !== iova || dma.size !== size) {
            fail('EINVAL', dma.vaddrInvalid ? `the range must be exactly the mapping [${hex(dma.iova)}, +${hex(dma.size)})` : `the mapping at ${hex(dma.iova)} still has a valid vaddr`, src);
        }
        if (proc.name !== dma.process) {
            // vfio_change_dma_owner: the pinned pages are charged to the new mm (which may hit
            // its RLIMIT_MEMLOCK) and given back by the old one.
            accountLockedVm(k, proc, dma.pinned, `moving IOVA ${hex(dma.iova)} to ${proc.name}`, `${TYPE1}:vfio_change_dma_owner`);
            unaccount(k, dma);
        }
        iommu.dmaList = iommu.dmaList.update(dma.iova, { ...dma, vaddr, vaddrInvalid: false, process: proc.name });
        iommu.vaddrInvalidCount--;
        return {};
    }
    if (existing) {
        fail('EEXIST', `[${hex(iova)}, ${hex(last)}] overlaps the existing mapping [${hex(existing.start)}, ${hex(existing.last)}]`, src);
    }
    if (iommu.dma_avail === 0) {
        fail('ENOSPC', `container ${container.id} already has vfio_iommu_type1.dma_entry_limit (${k.config.params.dmaEntryLimit}) mappings`, src);
    }
    if (iommu.iovaList.length > 0 && !iommu.iovaList.some((n) => iova >= n.start && last <= n.end)) {
        const inMsi = iova <= 0xfeef_ffffn && last >= 0xfee0_0000n;
        fail('EINVAL', `[${hex(iova)}, ${hex(last)}] is not inside one usable IOVA range of the container ([${iommu.iovaList.map((r) => `${hex(r.start)}-${hex(r.end)}`).join(', ')}])${inMsi ? ': it touches the MSI window 0xfee00000-0xfeefffff' : ''}`, `${TYPE1}:vfio_iommu_iova_dma_valid`);
    }
    let dma: VfioDma = { iova, size, vaddr, read, write, pinned: 0n, process: proc.name, vaddrInvalid: false };
    if (iommu.domains.length > 0) {
        // vfio_pin_map_dma: pin the user pages and map them into every domain of the container.
        const phys = pinDma(k, dma, `mapping IOVA ${hex(iova)}`);
        dma = { ...dma, pinned: pagesOf(k, size) };
        for (const d of iommu.domains) {
            domainMap(k, d.domain, iova, size, phys, { read, write });
        }
    }
    iommu.dmaList = iommu.dmaList.insert(iova, last, dma);
    iommu.dma_avail--;
    return {};
}

/** `vfio_iommu_type1_unmap_dma` + `vfio_dma_do_unmap`. */
function unmapDma(k: KernelState, proc: Process, iommu: VfioIommuType1, call: IoctlCall): IoctlOut {
    const src = `${TYPE1}:vfio_dma_do_unmap`;
    const flags = call.field('flags');
    const mask = UNMAP_GET_DIRTY_BITMAP | UNMAP_ALL | UNMAP_VADDR;
    if (call.size < 24n || flags & ~mask) {
        fail('EINVAL', call.size < 24n ? `argsz ${call.size} is smaller than 24` : `unknown flags ${hex(flags & ~mask)}`, `${TYPE1}:vfio_iommu_type1_unmap_dma`);
    }
    if (flags & UNMAP_GET_DIRTY_BITMAP && flags & (UNMAP_ALL | UNMAP_VADDR)) {
        fail('EINVAL', 'GET_DIRTY_BITMAP cannot be combined with ALL or VADDR', `${TYPE1}:vfio_iommu_type1_unmap_dma`);
    }
    const unmapAll = (flags & UNMAP_ALL) !== 0n;
    const invalidateVaddr = (flags & UNMAP_VADDR) !== 0n;
    if (flags & UNMAP_GET_DIRTY_BITMAP && !iommu.dirtyPageTracking) {
        fail('EINVAL', 'dirty page tracking is not started (VFIO_IOMMU_DIRTY_PAGES_FLAG_START)', `${TYPE1}:vfio_iommu_type1_unmap_dma`);
    }
    if (invalidateVaddr && iommu.emulatedGroups.length > 0) {
        fail('EBUSY', 'vaddrs cannot be invalidated while mdev (emulated) groups use the container', src);
    }
    const pgsize = 1n << BigInt(ffs(iommu.pgsizeBitmap));
    const iova = call.field('iova');
    let size = call.field('size');
    if (!isAligned(iova, pgsize)) {
        fail('EINVAL', `iova ${hex(iova)} is not a multiple of the smallest IOMMU page (${formatSize(pgsize)})`, src);
    }
    if (unmapAll) {
        if (iova !== 0n || size !== 0n) {
            fail('EINVAL', 'VFIO_DMA_UNMAP_FLAG_ALL needs iova and size 0', src);
        }
        size = U64_MAX;
    } else if (size === 0n || !isAligned(size, pgsize)) {
        fail('EINVAL', size === 0n ? 'size is 0' : `size ${hex(size)} is not a multiple of ${formatSize(pgsize)}`, src);
    } else if (iova + size - 1n > U64_MAX) {
        fail(overflowErrno(k), `[${hex(iova)}, +${hex(size)}) wraps around 2^64`, src);
    }
    const last = unmapAll ? U64_MAX : iova + size - 1n;
    if (iommu.v2 && !unmapAll) {
        // v2 never splits a mapping: the range must not bisect one at either end.
        const head = iommu.dmaList.find(iova);
        if (head && head.start !== iova) {
            fail('EINVAL', `[${hex(iova)}, ${hex(last)}] starts inside the mapping [${hex(head.start)}, ${hex(head.last)}]: TYPE1v2 never splits a mapping`, src);
        }
        const tail = iommu.dmaList.find(last);
        if (tail && tail.last !== last) {
            fail('EINVAL', `[${hex(iova)}, ${hex(last)}] ends inside the mapping [${hex(tail.start)}, ${hex(tail.last)}]: TYPE1v2 never splits a mapping`, src);
        }
    }
    let unmapped = 0n;
    for (const e of iommu.dmaList.overlapping(iova, last)) {
        const dma = e.value;
        // v1: a mapping starting before the range stops the walk (success, size so far).
        if (!iommu.v2 && iova > dma.iova) {
            break;
        }
        if (invalidateVaddr) {
            if (dma.vaddrInvalid) {
                fail('EINVAL', `the vaddr of [${hex(dma.iova)}, +${hex(dma.size)}) is already invalidated`, src);
            }
            iommu.dmaList = iommu.dmaList.update(dma.iova, { ...dma, vaddrInvalid: true });
            iommu.vaddrInvalidCount++;
            unmapped += dma.size;
            continue;
        }
        unmapped += dma.size;
        removeDma(k, iommu, dma);
    }
    void proc;
    return { out: { size: unmapped } };
}

/** `vfio_iommu_type1_dirty_pages`: type1 has no IOMMU dirty bits; every pinned page of an IOMMU-backed container counts as dirty. */
function dirtyPages(k: KernelState, iommu: VfioIommuType1, call: IoctlCall): IoctlOut {
    const src = `${TYPE1}:vfio_iommu_type1_dirty_pages`;
    const START = 1n;
    const STOP = 2n;
    const GET = 4n;
    const flags = call.field('flags');
    if (!iommu.v2) {
        fail('EACCES', 'dirty page tracking needs a VFIO_TYPE1v2_IOMMU container', src);
    }
    if (call.size < 8n || flags & ~(START | STOP | GET) || flags === 0n || (flags & (flags - 1n)) !== 0n) {
        fail('EINVAL', 'exactly one of START, STOP, GET_BITMAP must be set (argsz >= 8)', src);
    }
    if (flags === START) {
        iommu.dirtyPageTracking = true;
        return {};
    }
    if (flags === STOP) {
        iommu.dirtyPageTracking = false;
        return {};
    }
    if (!iommu.dirtyPageTracking) {
        fail('EINVAL', 'dirty page tracking is not started', src);
    }
    const iova = call.field('iova');
    const size = call.field('size');
    const pgsize = call.field('bitmap.pgsize');
    const minPg = 1n << BigInt(ffs(iommu.pgsizeBitmap));
    if (size === 0n) {
        fail('EINVAL', 'size is 0', src);
    }
    if (iova + size - 1n > U64_MAX) {
        fail(overflowErrno(k), `[${hex(iova)}, +${hex(size)}) wraps around 2^64`, src);
    }
    if (pgsize !== minPg || !isAligned(iova, minPg) || !isAligned(size, minPg)) {
        fail('EINVAL', `bitmap.pgsize must be the smallest IOMMU page (${formatSize(minPg)}) and iova/size aligned to it`, src);
    }
    // vfio_iova_dirty_bitmap: the range may cover several mappings but bisect none.
    const last = iova + size - 1n;
    const head = iommu.dmaList.find(iova);
    const tail = iommu.dmaList.find(last);
    if ((head && head.start !== iova) || (tail && tail.last !== last)) {
        fail('EINVAL', `[${hex(iova)}, ${hex(last)}] bisects a mapping: the bitmap range must cover whole mappings`, 'drivers/vfio/vfio_iommu_type1.c:vfio_iova_dirty_bitmap');
    }
    // With an IOMMU-backed group that cannot report dirtiness, every pinned page counts as dirty.
    const mapped = iommu.dmaList.overlapping(iova, last).reduce((n, e) => n + e.value.size, 0n) / pgsize;
    const dirty = iommu.domains.length > 0 ? mapped : 0n;
    return { extra: { dirty_pages: { value: dirty, display: `${dirty} of ${size / pgsize} pages dirty (type1 reports every page an IOMMU-backed group could write)` } } };
}

/**
 * `vfio_dma_rw` on behalf of an emulated (mdev) device: the parent driver reads or writes the
 * user memory behind an IOVA of the container. Returns the physical address, or why it fails.
 */
export function type1EmulatedAccess(k: KernelState, container: VfioContainer, iova: bigint, write: boolean): { pa: number; run: bigint } | { reason: string } {
    const iommu = getType1(k, container);
    const e = iommu.dmaList.find(iova);
    if (!e) {
        return { reason: `no mapping at IOVA ${hex(iova)} in container ${container.id} (vfio_dma_rw: EINVAL)` };
    }
    const dma = e.value;
    if ((write && !dma.write) || !dma.read) {
        return { reason: `the mapping at ${hex(dma.iova)} is ${dma.read ? 'read-only' : 'write-only'}: vfio_dma_rw needs READ${write ? ' and WRITE' : ''} (EPERM)` };
    }
    const proc = k.processes.get(dma.process);
    const r = proc && !proc.exited && !dma.vaddrInvalid ? vaToPa(proc.mm, dma.vaddr + (iova - dma.iova)) : undefined;
    if (!r) {
        return { reason: `user address ${hex(dma.vaddr + (iova - dma.iova))} behind IOVA ${hex(iova)} is not mapped in ${dma.process} (EFAULT)` };
    }
    return { pa: r.pa, run: r.runLength };
}

export { NO_DOMAIN, flagNames };
