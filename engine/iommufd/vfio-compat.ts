/**
 * The VFIO container interface as iommufd provides it (`drivers/iommu/iommufd/vfio_compat.c`):
 * the legacy container ioctls act on the ctx's compat IOAS (made when a VFIO group is set on
 * the iommufd, or chosen with IOMMU_VFIO_IOAS), with iommufd's own errnos where they differ from
 * type1 (a TYPE1v2 unmap that splits a mapping is ENOENT, not EINVAL).
 */

import { KernelError, fail, parseSource } from '../errno.js';
import { kernelAtLeast } from '../machine/spec.js';
import { capable } from '../mm/memory.js';
import type { KernelState, Process } from '../state.js';
import type { IoctlCall, IoctlOut } from '../syscalls/ioctl-call.js';
import type { OutValue } from '../step.js';
import { U32_MAX, ULONG_MAX, bitmapSizes, formatSize, hex } from '../u64.js';
import { getDomain } from '../iommu/domain.js';
import { iommufd_ioas_alloc } from './ioas.js';
import { iopt_cut_iova, iopt_disable_large_pages, iopt_map_pages, iopt_unmap_iova_range, iopt_usable_ranges } from './io-pagetable.js';
import { getIoas } from './object.js';
import { iopt_alloc_user_pages } from './pages.js';
import type { IommufdCtx, IommufdIoas } from './types.js';

const COMPAT_C = 'drivers/iommu/iommufd/vfio_compat.c';

const VFIO_API_VERSION = 0n;
const VFIO_TYPE1_IOMMU = 1n;
const VFIO_TYPE1v2_IOMMU = 3n;
const VFIO_DMA_CC_IOMMU = 4n;
const VFIO_NOIOMMU_IOMMU = 8n;
const VFIO_UNMAP_ALL = 9n;
const MAP_READ = 1n;
const MAP_WRITE = 2n;
const UNMAP_ALL = 2n;

/** `get_compat_ioas`: ENODEV when no compat IOAS is set. */
function getCompatIoas(ctx: IommufdCtx, src: string): IommufdIoas {
    const ioas = ctx.vfioIoas !== undefined ? ctx.objects.get(ctx.vfioIoas) : undefined;
    if (ioas?.type !== 'ioas') {
        fail('ENODEV', `iommufd ${ctx.id} has no VFIO compat IOAS (no group was set on it, or it was cleared or destroyed)`, src);
    }
    return ioas;
}

/** `iommufd_vfio_compat_ioas_get_id`. */
export function iommufd_vfio_compat_ioas_get_id(ctx: IommufdCtx): number {
    return getCompatIoas(ctx, `${COMPAT_C}:iommufd_vfio_compat_ioas_get_id`).id;
}

/** `iommufd_vfio_compat_ioas_create`: the compat IOAS (a user-visible IOAS) unless one exists; EINVAL in no-iommu mode. */
export function iommufd_vfio_compat_ioas_create(ctx: IommufdCtx): void {
    if (ctx.noIommuMode) {
        fail('EINVAL', `iommufd ${ctx.id} holds a no-iommu VFIO group: it cannot also give an IOAS to an IOMMU-backed one`, `${COMPAT_C}:iommufd_vfio_compat_ioas_create`);
    }
    if (ctx.vfioIoas !== undefined && ctx.objects.get(ctx.vfioIoas)?.type === 'ioas') {
        return;
    }
    ctx.vfioIoas = iommufd_ioas_alloc(ctx).id;
}

/** `iommufd_vfio_compat_set_no_iommu`: EINVAL once a compat IOAS exists. */
export function iommufd_vfio_compat_set_no_iommu(ctx: IommufdCtx): void {
    if (ctx.vfioIoas !== undefined) {
        fail('EINVAL', `iommufd ${ctx.id} already has compat IOAS ${ctx.vfioIoas}: a no-iommu group cannot join it`, `${COMPAT_C}:iommufd_vfio_compat_set_no_iommu`);
    }
    ctx.noIommuMode = true;
}

const VFIO_IOAS_GET = 0n;
const VFIO_IOAS_SET = 1n;
const VFIO_IOAS_CLEAR = 2n;

/** IOMMU_VFIO_IOAS (`iommufd_vfio_ioas`). */
export function iommufd_vfio_ioas(ctx: IommufdCtx, call: IoctlCall): IoctlOut {
    const src = `${COMPAT_C}:iommufd_vfio_ioas`;
    if (call.field('__reserved') !== 0n) {
        fail('EOPNOTSUPP', '__reserved must be 0', src);
    }
    switch (call.field('op')) {
        case VFIO_IOAS_GET:
            return { out: { ioas_id: BigInt(getCompatIoas(ctx, src).id) } };
        case VFIO_IOAS_SET:
            ctx.vfioIoas = getIoas(ctx, call.field('ioas_id'), src).id;
            return {};
        case VFIO_IOAS_CLEAR:
            ctx.vfioIoas = undefined;
            return {};
        default:
            fail('EOPNOTSUPP', `op ${call.field('op')} is not GET, SET or CLEAR`, src);
    }
}

/** `iommufd_vfio_check_extension`. */
function checkExtension(k: KernelState, ctx: IommufdCtx, arg: bigint): bigint {
    switch (arg) {
        case VFIO_TYPE1_IOMMU:
        case VFIO_TYPE1v2_IOMMU:
        case VFIO_UNMAP_ALL:
            return 1n;
        case VFIO_NOIOMMU_IOMMU:
            // IS_ENABLED(CONFIG_VFIO_NOIOMMU): distribution kernels build it (6.3+ here).
            return kernelAtLeast(k.config.version, 6, 3) ? 1n : 0n;
        case VFIO_DMA_CC_IOMMU: {
            // iommufd_vfio_cc_iommu: every HWPT of the compat IOAS enforces coherency (-ENODEV without one).
            const ioas = getCompatIoas(ctx, `${COMPAT_C}:iommufd_vfio_cc_iommu`);
            return ioas.hwpts.every((h) => {
                const o = ctx.objects.get(h);
                return o?.type === 'hwpt_paging' && o.enforceCacheCoherency;
            }) ? 1n : 0n;
        }
        default:
            // UPDATE_VADDR, the retired TYPE1 nesting (6) and anything else.
            return 0n;
    }
}

/** `iommufd_vfio_set_iommu`: TYPE1 (v1) turns huge pages off so any sub-range can be unmapped. */
function setIommu(k: KernelState, proc: Process, ctx: IommufdCtx, type: bigint): void {
    const src = `${COMPAT_C}:iommufd_vfio_set_iommu`;
    if (type === VFIO_NOIOMMU_IOMMU && ctx.noIommuMode && kernelAtLeast(k.config.version, 6, 3)) {
        if (!capable(proc, 'CAP_SYS_RAWIO')) {
            fail('EPERM', `${proc.name} lacks CAP_SYS_RAWIO, which VFIO_NOIOMMU_IOMMU requires`, src);
        }
        return;
    }
    if ((type !== VFIO_TYPE1_IOMMU && type !== VFIO_TYPE1v2_IOMMU) || ctx.noIommuMode) {
        fail('EINVAL', ctx.noIommuMode ? `iommufd ${ctx.id} holds a no-iommu group: only VFIO_NOIOMMU_IOMMU` : `IOMMU type ${type}: iommufd emulates only VFIO_TYPE1_IOMMU and VFIO_TYPE1v2_IOMMU`, src);
    }
    // VFIO fails the set_iommu if there is no group.
    const ioas = getCompatIoas(ctx, src);
    if (type === VFIO_TYPE1_IOMMU) {
        iopt_disable_large_pages(k, ctx, ioas);
    }
}

/** `iommufd_get_pagesizes`: AND of the domains', sub-page sizes hidden, at least the alignment. */
function pageSizes(k: KernelState, ioas: IommufdIoas): bigint {
    const page = k.config.pageSize;
    const pageMask = ULONG_MAX & ~(page - 1n);
    let bitmap = ULONG_MAX;
    for (const d of ioas.iopt.domains) {
        bitmap &= getDomain(k, d).pgsizeBitmap;
    }
    if (bitmap & ~pageMask) {
        bitmap = (bitmap & pageMask) | page;
    }
    return bitmap > ioas.iopt.iova_alignment ? bitmap : ioas.iopt.iova_alignment;
}

/** `iommufd_vfio_iommu_get_info`: PGSIZES|CAPS, then the DMA_AVAIL and IOVA_RANGE capabilities. */
function getInfo(k: KernelState, ctx: IommufdCtx, call: IoctlCall): IoctlOut {
    const src = `${COMPAT_C}:iommufd_vfio_iommu_get_info`;
    if (call.size < 16n) {
        fail('EINVAL', `argsz ${call.size} is smaller than 16 (offsetofend(struct vfio_iommu_type1_info, iova_pgsizes))`, src);
    }
    const ioas = getCompatIoas(ctx, src);
    const pgsizes = pageSizes(k, ioas);
    const ranges = iopt_usable_ranges(ioas.iopt);
    const infoSize = 24n;
    const dmaAvailCap = 16n;
    const iovaCap = 16n + 16n * BigInt(ranges.length);
    const total = infoSize + dmaAvailCap + iovaCap;
    const out: Record<string, bigint> = { flags: 3n, iova_pgsizes: pgsizes, cap_offset: call.size >= total ? infoSize : 0n, argsz: total };
    const extra: Record<string, OutValue> = {
        iova_pgsizes_list: { value: pgsizes, display: bitmapSizes(pgsizes).slice(0, 8).map(formatSize).join(' ') },
    };
    if (call.size > infoSize) {
        extra.dma_avail = { value: U32_MAX };
    }
    if (call.size >= total) {
        extra.nr_iovas = { value: BigInt(ranges.length) };
        extra.iova_ranges = { value: BigInt(ranges.length), display: `[${ranges.map((r) => `${hex(r.start)}-${hex(r.last)}`).join(', ')}]` };
        ranges.forEach((r, i) => {
            extra[`iova_ranges[${i}].start`] = { value: r.start };
            extra[`iova_ranges[${i}].end`] = { value: r.last };
        });
    }
    return { out, extra };
}

/** `iommufd_vfio_map_dma`: a fixed-IOVA map of the compat IOAS (flags 0 is accepted here). */
function mapDma(k: KernelState, proc: Process, ctx: IommufdCtx, call: IoctlCall): IoctlOut {
    const src = `${COMPAT_C}:iommufd_vfio_map_dma`;
    const flags = call.field('flags');
    if (call.size < 32n || flags & ~(MAP_READ | MAP_WRITE)) {
        fail('EINVAL', call.size < 32n ? `argsz ${call.size} is smaller than 32` : `flags ${hex(flags)}: only READ and WRITE (iommufd has no VFIO_DMA_MAP_FLAG_VADDR)`, src);
    }
    const ioas = getCompatIoas(ctx, src);
    const prot = { read: (flags & MAP_READ) !== 0n, write: (flags & MAP_WRITE) !== 0n };
    const length = call.field('size');
    const iova = call.field('iova');
    const { pages, startByte } = iopt_alloc_user_pages(k, ctx, proc, call.field('vaddr'), length, prot.write);
    iopt_map_pages(k, ctx, ioas, [{ pages, startByte, length }], length, iova, prot, false, `VFIO_IOMMU_MAP_DMA of ${hex(call.field('vaddr'))} at IOVA ${hex(iova)}`);
    return {};
}

/**
 * `iommufd_vfio_unmap_dma`: ALL needs iova = size = 0; in TYPE1 (v1) mode the range's edges are
 * cut first, so any sub-range can go; a range that would split a mapping is ENOENT. `size` is
 * written back (the bytes unmapped) even on failure. An empty range succeeds with size 0 since
 * the fix that made it match type1 (Linux 6.18); before, it was ENOENT.
 */
function unmapDma(k: KernelState, ctx: IommufdCtx, call: IoctlCall): IoctlOut {
    const src = `${COMPAT_C}:iommufd_vfio_unmap_dma`;
    const flags = call.field('flags');
    if (call.size < 24n || flags & ~UNMAP_ALL) {
        fail('EINVAL', call.size < 24n ? `argsz ${call.size} is smaller than 24` : `flags ${hex(flags)}: only VFIO_DMA_UNMAP_FLAG_ALL (no dirty bitmap, no VADDR)`, src);
    }
    const ioas = getCompatIoas(ctx, src);
    const iova = call.field('iova');
    const size = call.field('size');
    const isrc = 'drivers/iommu/iommufd/io_pagetable.c:iopt_unmap_iova';
    let r: ReturnType<typeof iopt_unmap_iova_range>;
    if (flags & UNMAP_ALL) {
        if (iova !== 0n || size !== 0n) {
            fail('EINVAL', 'VFIO_DMA_UNMAP_FLAG_ALL needs iova and size 0', src);
        }
        r = iopt_unmap_iova_range(k, ctx, ioas, 0n, ULONG_MAX);
    } else {
        if (ioas.iopt.disableLargePages) {
            iopt_cut_iova(k, ioas.iopt, iova !== 0n ? [iova + size - 1n, iova - 1n] : [iova + size - 1n]);
        }
        // iopt_unmap_iova's errors still copy `size` (0) back.
        if (size === 0n) {
            fail('EINVAL', 'size is 0', isrc, { size: 0n });
        }
        if (iova + size - 1n > ULONG_MAX) {
            fail('EOVERFLOW', `iova ${hex(iova)} + size ${hex(size)} wraps around 2^64`, isrc, { size: 0n });
        }
        r = iopt_unmap_iova_range(k, ctx, ioas, iova, iova + size - 1n);
        if (!r.failure && r.unmapped === 0n && !kernelAtLeast(k.config.version, 6, 18)) {
            r = { unmapped: 0n, failure: { errno: 'ENOENT', reason: `nothing is mapped in [${hex(iova)}, ${hex(iova + size - 1n)}] (iommufd said ENOENT for an empty range before 6.18)` } };
        }
    }
    const out = { size: r.unmapped };
    if (r.failure) {
        return { out, error: new KernelError(r.failure.errno, r.failure.reason, parseSource('drivers/iommu/iommufd/io_pagetable.c:iopt_unmap_iova_range')) };
    }
    return { out };
}

/**
 * `iommufd_vfio_ioctl`: the VFIO container ioctls an iommufd answers; everything else
 * (VFIO_IOMMU_DIRTY_PAGES included) is ENOTTY.
 */
export function iommufd_vfio_ioctl(k: KernelState, proc: Process, ctx: IommufdCtx, call: IoctlCall): IoctlOut {
    switch (call.def.name) {
        case 'VFIO_GET_API_VERSION':
            return { ret: VFIO_API_VERSION };
        case 'VFIO_CHECK_EXTENSION':
            return { ret: checkExtension(k, ctx, call.value ?? 0n) };
        case 'VFIO_SET_IOMMU':
            setIommu(k, proc, ctx, call.value ?? 0n);
            return {};
        case 'VFIO_IOMMU_GET_INFO':
            return getInfo(k, ctx, call);
        case 'VFIO_IOMMU_MAP_DMA':
            return mapDma(k, proc, ctx, call);
        case 'VFIO_IOMMU_UNMAP_DMA':
            return unmapDma(k, ctx, call);
        default:
            fail('ENOTTY', `${call.def.name} is not an ioctl of an iommufd (nor of its VFIO container emulation)`, `${COMPAT_C}:iommufd_vfio_ioctl`);
    }
}
