/**
 * HWPT objects (`drivers/iommu/iommufd/hw_pagetable.c`): an iommu_domain as a user object.
 * HWPT_PAGING takes its mappings from an IOAS (allocated by IOMMU_HWPT_ALLOC or automatically
 * on attach); HWPT_NESTED puts a user-managed stage 1 over a NEST_PARENT HWPT or a vIOMMU.
 * Dirty tracking and user cache invalidation go through them.
 */

import { KernelError, fail, parseSource } from '../errno.js';
import { domainAllocNested, domainAllocPaging, domainEnforceCacheCoherency, getDomain } from '../iommu/domain.js';
import { getDevice } from '../iommu/core.js';
import type { KernelState } from '../state.js';
import type { IoctlCall, IoctlOut } from '../syscalls/ioctl-call.js';
import { knownBits } from '../syscalls/ioctl.js';
import { hex } from '../u64.js';
import { iommufd_hw_pagetable_attach } from './device.js';
import { iopt_read_and_clear_dirty_data, iopt_set_dirty_tracking, iopt_table_add_domain, iopt_table_remove_domain } from './io-pagetable.js';
import { HWPT_DATA, dirtyTrackingCapable, hasDomainAllocNested, intelNestedInvalidate, intelAllocNested, viommuAllocNested, vsmmuInvalidate, vsmmuTlbiRange } from './iommu-drivers.js';
import { nestedIotlbInvalidate, vtdPsiRange } from '../iommu/dma-nested.js';
import type { UserStruct } from './iommu-drivers.js';
import { addObject, describeObject, getAnyObject, getFault, getHwptPaging, getIdev, objectHolders, objectOf } from './object.js';
import type { IommufdCtx, IommufdDevice, IommufdHwptNested, IommufdHwptPaging, IommufdIoas, IommufdViommu } from './types.js';

const HWPT_C = 'drivers/iommu/iommufd/hw_pagetable.c';

export const HWPT_ALLOC_NEST_PARENT = 1n;
export const HWPT_ALLOC_DIRTY_TRACKING = 2n;
export const HWPT_FAULT_ID_VALID = 4n;
export const HWPT_ALLOC_PASID = 8n;

/** User data for a HWPT (`struct iommu_user_data`). */
export interface HwptUserData {
    readonly type: bigint;
    readonly len: bigint;
    readonly ptr: bigint;
    readonly struct: UserStruct;
}

/**
 * `iommufd_hwpt_paging_alloc`: EOPNOTSUPP for unknown flags, DIRTY_TRACKING without the
 * capability, FAULT_ID_VALID with NEST_PARENT, user data (no driver takes it for a paging domain)
 * or what the driver refuses; a device that can enforce coherency makes the domain coherent
 * before anything is mapped; `immediate` attaches before the fill (the auto-domain attach path);
 * then the domain joins the IOAS (`iopt_table_add_domain`).
 */
export function iommufd_hwpt_paging_alloc(
    k: KernelState, ctx: IommufdCtx, ioas: IommufdIoas, idev: IommufdDevice, pasid: number, flags: bigint, immediate: boolean,
    data: HwptUserData | undefined,
): IommufdHwptPaging {
    const src = `${HWPT_C}:iommufd_hwpt_paging_alloc`;
    const dev = getDevice(k, idev.device);
    const unit = k.iommus.get(dev.iommu!)!;
    const valid = knownBits('iommufd_hwpt_alloc_flags', k);
    if (flags & ~valid) {
        fail('EOPNOTSUPP', `flags ${hex(flags & ~valid)} are not IOMMU_HWPT_ALLOC flags of this kernel`, src);
    }
    if (flags & HWPT_ALLOC_DIRTY_TRACKING && !dirtyTrackingCapable(unit)) {
        fail('EOPNOTSUPP', `${dev.devName} (${dev.name}): ${unit.name} has no dirty tracking (IOMMU_CAP_DIRTY_TRACKING)`, src);
    }
    if (flags & HWPT_FAULT_ID_VALID && flags & HWPT_ALLOC_NEST_PARENT) {
        fail('EOPNOTSUPP', 'FAULT_ID_VALID cannot be combined with NEST_PARENT: a nesting parent does not report faults', src);
    }
    const hwpt = addObject<IommufdHwptPaging>(ctx, (id) => ({
        id, type: 'hwpt_paging', ioas: ioas.id, domain: -1, auto: false,
        nestParent: (flags & HWPT_ALLOC_NEST_PARENT) !== 0n, pasidCompat: (flags & HWPT_ALLOC_PASID) !== 0n,
        enforceCacheCoherency: false,
    }));
    if (data) {
        // Intel, AMD and SMMUv3 domain_alloc_paging_flags all refuse user data.
        fail('EOPNOTSUPP', `${unit.name}: the driver takes no user data (data_type ${data.type}) for a paging HWPT`, `${src}`);
    }
    const domain = domainAllocPaging(k, dev, {
        nestParent: (flags & HWPT_ALLOC_NEST_PARENT) !== 0n,
        dirtyTracking: (flags & HWPT_ALLOC_DIRTY_TRACKING) !== 0n,
        pasid: (flags & HWPT_ALLOC_PASID) !== 0n,
    }, `iommufd ${ctx.id} HWPT ${hwpt.id}`);
    // Set the coherency mode before any map: some formats carry it in every PTE.
    const cc = idev.enforceCacheCoherency ? domainEnforceCacheCoherency(k, domain.id) : false;
    const obj: IommufdHwptPaging = { ...hwpt, domain: domain.id, enforceCacheCoherency: cc };
    ctx.objects.set(obj.id, obj);
    const live = objectOf<IommufdHwptPaging>(ctx, obj.id, 'hwpt_paging');
    if (immediate) {
        iommufd_hw_pagetable_attach(k, ctx, live, idev, pasid);
    }
    iopt_table_add_domain(k, ctx, ioas, domain.id, `filling HWPT ${obj.id} from IOAS ${ioas.id}`);
    ioas.hwpts = [...ioas.hwpts, obj.id];
    return live;
}

/** `iommufd_hwpt_nested_alloc` (parent HWPT_PAGING) and `iommufd_viommu_alloc_hwpt_nested`. */
function nestedAlloc(
    k: KernelState, ctx: IommufdCtx, parent: IommufdHwptPaging, viommu: IommufdViommu | undefined, idev: IommufdDevice,
    flags: bigint, data: HwptUserData,
): IommufdHwptNested {
    const dev = getDevice(k, idev.device);
    const unit = k.iommus.get(dev.iommu!)!;
    const valid = knownBits('iommufd_hwpt_alloc_flags', k) & (HWPT_FAULT_ID_VALID | HWPT_ALLOC_PASID);
    const parentDomain = getDomain(k, parent.domain);
    let stage1;
    let placeholder: IommufdHwptNested;
    if (viommu) {
        const src = `${HWPT_C}:iommufd_viommu_alloc_hwpt_nested`;
        if (flags & ~valid) {
            fail('EOPNOTSUPP', `flags ${hex(flags)}: a nested HWPT takes only FAULT_ID_VALID and PASID`, src);
        }
        if (data.len === 0n) {
            fail('EOPNOTSUPP', 'a nested HWPT needs driver data (data_len is 0)', src);
        }
        placeholder = addObject<IommufdHwptNested>(ctx, (id) => ({ id, type: 'hwpt_nested', parent: parent.id, viommu: viommu.id, domain: -1, pasidCompat: false }));
        // iommufd_viommu_alloc_hwpt_nested: the driver gets `flags & ~IOMMU_HWPT_FAULT_ID_VALID`
        // (SMMUv3's arm_vsmmu_alloc_domain_nested refuses any flag it is given).
        stage1 = viommuAllocNested(k, unit, flags & ~HWPT_FAULT_ID_VALID, data.type, data.len, data);
    } else {
        const src = `${HWPT_C}:iommufd_hwpt_nested_alloc`;
        if (flags & ~valid || data.len === 0n || !hasDomainAllocNested(unit)) {
            fail('EOPNOTSUPP', flags & ~valid
                ? `flags ${hex(flags & ~valid)}: a nested HWPT takes only FAULT_ID_VALID and PASID`
                : data.len === 0n ? 'a nested HWPT needs driver data (data_len is 0)' : `the ${unit.kind} driver nests only through a vIOMMU (no domain_alloc_nested)`, src);
        }
        if (parent.auto || !parent.nestParent || parentDomain.kind !== unit.kind) {
            fail('EINVAL', parent.auto
                ? `parent HWPT ${parent.id} is an auto HWPT: it may vanish, so it cannot be a nesting parent`
                : !parent.nestParent ? `parent HWPT ${parent.id} was not allocated with IOMMU_HWPT_ALLOC_NEST_PARENT` : `parent HWPT ${parent.id} belongs to another IOMMU driver`, src);
        }
        placeholder = addObject<IommufdHwptNested>(ctx, (id) => ({ id, type: 'hwpt_nested', parent: parent.id, domain: -1, pasidCompat: false }));
        // iommufd_hwpt_nested_alloc hides FAULT_ID_VALID from the driver
        // (`domain_alloc_nested(dev, parent, flags & ~IOMMU_HWPT_FAULT_ID_VALID, ...)`): the
        // fault queue is iommufd's business, so VT-d sees only PASID.
        stage1 = intelAllocNested(unit, flags & ~HWPT_FAULT_ID_VALID, data.type, data.len, data);
    }
    const id = placeholder.id;
    const domain = domainAllocNested(k, parent.domain, stage1, `iommufd ${ctx.id} nested HWPT ${id}`, (flags & HWPT_ALLOC_PASID) !== 0n);
    const obj: IommufdHwptNested = { id, type: 'hwpt_nested', parent: parent.id, viommu: viommu?.id, domain: domain.id, pasidCompat: (flags & HWPT_ALLOC_PASID) !== 0n };
    ctx.objects.set(id, obj);
    return objectOf<IommufdHwptNested>(ctx, id, 'hwpt_nested');
}

/** The driver data `data_uptr` points at, as the step gave it (its first array element). */
export function userStruct(call: IoctlCall, field: string): UserStruct {
    const items = call.array(field);
    return items[0] ?? {};
}

/**
 * IOMMU_HWPT_ALLOC (`iommufd_hwpt_alloc`): `__reserved` EOPNOTSUPP; data_type/data_len mismatch
 * EINVAL; dev_id not a DEVICE ENOENT; pt_id unknown EINVAL (not ENOENT); then paging (IOAS),
 * nested (HWPT_PAGING or vIOMMU) or EINVAL; FAULT_ID_VALID needs a FAULT (ENOENT).
 */
export function iommufd_hwpt_alloc(k: KernelState, ctx: IommufdCtx, call: IoctlCall): IoctlOut {
    const src = `${HWPT_C}:iommufd_hwpt_alloc`;
    if (call.field('__reserved') !== 0n) {
        fail('EOPNOTSUPP', '__reserved must be 0', src);
    }
    const flags = call.field('flags');
    const dataType = call.field('data_type');
    const struct = userStruct(call, 'data_uptr');
    const dataLen = call.has('data_len') ? call.field('data_len') : call.array('data_uptr').length > 0 ? dataStructSize(dataType) : 0n;
    if ((dataType === HWPT_DATA.NONE && dataLen !== 0n) || (dataType !== HWPT_DATA.NONE && dataLen === 0n)) {
        fail('EINVAL', dataType === HWPT_DATA.NONE ? `data_len ${dataLen} without a data_type` : `data_type ${dataType} with data_len 0`, src);
    }
    const data: HwptUserData = { type: dataType, len: dataLen, ptr: call.field('data_uptr'), struct };
    const idev = getIdev(ctx, call.field('dev_id'), src);
    const ptId = call.field('pt_id');
    const pt = ctx.objects.get(Number(ptId));
    if (!pt || ptId <= 0n || ptId > 0xffff_ffffn) {
        fail('EINVAL', `pt_id ${ptId} is not an object of iommufd ${ctx.id} (IOMMU_HWPT_ALLOC says EINVAL, not ENOENT)`, src);
    }
    let hwptId: number;
    if (pt.type === 'ioas') {
        hwptId = iommufd_hwpt_paging_alloc(k, ctx, pt, idev, 0, flags, false, dataLen > 0n ? data : undefined).id;
    } else if (pt.type === 'hwpt_paging') {
        hwptId = nestedAlloc(k, ctx, pt, undefined, idev, flags, data).id;
    } else if (pt.type === 'viommu') {
        const dev = getDevice(k, idev.device);
        if (dev.iommu !== pt.iommu) {
            fail('EINVAL', `${dev.devName} (${dev.name}) is behind ${dev.iommu}, not ${pt.iommu} of vIOMMU ${pt.id}`, src);
        }
        hwptId = nestedAlloc(k, ctx, objectOf<IommufdHwptPaging>(ctx, pt.hwpt, 'hwpt_paging'), pt, idev, flags, data).id;
    } else {
        fail('EINVAL', `pt_id ${ptId} is ${describeObject(k, pt)}: a HWPT is allocated on an IOAS, a NEST_PARENT HWPT or a vIOMMU`, src);
    }
    if (flags & HWPT_FAULT_ID_VALID) {
        const fault = getFault(ctx, call.field('fault_id'), src);
        const h = ctx.objects.get(hwptId)!;
        if (h.type === 'hwpt_paging' || h.type === 'hwpt_nested') {
            h.fault = fault.id;
        }
    }
    return { out: { out_hwpt_id: BigInt(hwptId) } };
}

/** sizeof the driver data struct of a data type (the default `data_len` when a step gives the struct). */
function dataStructSize(type: bigint): bigint {
    switch (type) {
        case HWPT_DATA.VTD_S1:
            return 24n;
        case HWPT_DATA.ARM_SMMUV3:
            return 16n;
        case HWPT_DATA.AMD_GUEST:
            return 32n;
        default:
            return 0n;
    }
}

/** `iommufd_hwpt_paging_destroy`: the domain leaves its IOAS and is freed. */
export function iommufd_hwpt_paging_destroy(k: KernelState, ctx: IommufdCtx, hwpt: IommufdHwptPaging): void {
    ctx.objects.delete(hwpt.id);
    const ioas = objectOf<IommufdIoas>(ctx, hwpt.ioas, 'ioas');
    if (ioas.hwpts.includes(hwpt.id)) {
        ioas.hwpts = ioas.hwpts.filter((h) => h !== hwpt.id);
    }
    if (ioas.iopt.domains.includes(hwpt.domain)) {
        iopt_table_remove_domain(k, ctx, ioas, hwpt.domain);
    }
    k.domains.delete(hwpt.domain);
}

/** `iommufd_hwpt_nested_destroy`. */
export function iommufd_hwpt_nested_destroy(k: KernelState, ctx: IommufdCtx, hwpt: IommufdHwptNested): void {
    ctx.objects.delete(hwpt.id);
    k.domains.delete(hwpt.domain);
}

/**
 * `iommufd_hw_pagetable_put`: drops a device's reference; an auto HWPT nobody uses any more is
 * destroyed (`iommufd_object_put_and_try_destroy`), its id freed.
 */
export function hwptPut(k: KernelState, ctx: IommufdCtx, id: number): void {
    const hwpt = ctx.objects.get(id);
    if (hwpt?.type === 'hwpt_paging' && hwpt.auto && objectHolders(k, ctx, hwpt).length === 0) {
        iommufd_hwpt_paging_destroy(k, ctx, hwpt);
    }
}

const DIRTY_TRACKING_ENABLE = 1n;
const GET_DIRTY_BITMAP_NO_CLEAR = 1n;

/** IOMMU_HWPT_SET_DIRTY_TRACKING (`iommufd_hwpt_set_dirty_tracking`); `__reserved` is not checked. */
export function iommufd_hwpt_set_dirty_tracking(k: KernelState, ctx: IommufdCtx, call: IoctlCall): IoctlOut {
    const src = `${HWPT_C}:iommufd_hwpt_set_dirty_tracking`;
    const flags = call.field('flags');
    if (flags & ~DIRTY_TRACKING_ENABLE) {
        fail('EOPNOTSUPP', `flags ${hex(flags)}: only IOMMU_HWPT_DIRTY_TRACKING_ENABLE exists`, src);
    }
    const hwpt = getHwptPaging(ctx, call.field('hwpt_id'), src);
    iopt_set_dirty_tracking(k, hwpt.domain, (flags & DIRTY_TRACKING_ENABLE) !== 0n);
    return {};
}

/** IOMMU_HWPT_GET_DIRTY_BITMAP (`iommufd_hwpt_get_dirty_bitmap`). */
export function iommufd_hwpt_get_dirty_bitmap(k: KernelState, ctx: IommufdCtx, call: IoctlCall): IoctlOut {
    const src = `${HWPT_C}:iommufd_hwpt_get_dirty_bitmap`;
    const flags = call.field('flags');
    if (flags & ~GET_DIRTY_BITMAP_NO_CLEAR || call.field('__reserved') !== 0n) {
        fail('EOPNOTSUPP', flags & ~GET_DIRTY_BITMAP_NO_CLEAR ? `flags ${hex(flags)}: only NO_CLEAR exists` : '__reserved must be 0', src);
    }
    const hwpt = getHwptPaging(ctx, call.field('hwpt_id'), src);
    const ioas = objectOf<IommufdIoas>(ctx, hwpt.ioas, 'ioas');
    const pageSize = call.field('page_size');
    const words = iopt_read_and_clear_dirty_data(k, ioas.iopt, hwpt.domain, call.field('iova'), call.field('length'), pageSize, (flags & GET_DIRTY_BITMAP_NO_CLEAR) !== 0n);
    const extra: Record<string, { value: bigint; display?: string }> = {};
    const iova = call.field('iova');
    const dirty: string[] = [];
    let count = 0n;
    words.forEach((w, i) => {
        extra[`data[${i}]`] = { value: w, display: hex(w) };
        for (let b = 0n; b < 64n; b++) {
            if ((w >> b) & 1n) {
                count++;
                if (dirty.length < 16) {
                    dirty.push(hex(iova + (BigInt(i) * 64n + b) * pageSize));
                }
            }
        }
    });
    extra.dirty_pages = { value: count, display: `${count} dirty${dirty.length ? `: ${dirty.join(' ')}${count > 16n ? ' ...' : ''}` : ''}` };
    return { extra };
}

/**
 * IOMMU_HWPT_INVALIDATE (`iommufd_hwpt_invalidate`): `entry_num` is written back with the
 * entries handled, also on failure.
 */
export function iommufd_hwpt_invalidate(k: KernelState, ctx: IommufdCtx, call: IoctlCall): IoctlOut {
    const src = `${HWPT_C}:iommufd_hwpt_invalidate`;
    const entries = call.array('data_uptr');
    const entryNum = call.has('entry_num') ? call.field('entry_num') : BigInt(entries.length);
    const dataType = call.field('data_type');
    const entryLen = call.has('entry_len') ? call.field('entry_len') : entries.length > 0 ? (dataType === 1n ? 16n : 24n) : 0n;
    const dataUptr = call.field('data_uptr');
    const failWith = (errno: KernelError['errno'], reason: string, done: bigint, where = src): never => {
        throw new KernelError(errno, reason, parseSource(where), { entry_num: done });
    };
    if (call.field('__reserved') !== 0n) {
        failWith('EOPNOTSUPP', '__reserved must be 0', 0n);
    }
    if (entryNum !== 0n && (dataUptr === 0n || entryLen === 0n)) {
        failWith('EINVAL', `entry_num ${entryNum} with ${dataUptr === 0n ? 'a NULL data_uptr' : 'entry_len 0'}`, 0n);
    }
    let pt;
    try {
        pt = getAnyObject(ctx, call.field('hwpt_id'), 'hwpt_id', src);
    } catch (e) {
        if (e instanceof KernelError) {
            failWith(e.errno, e.reason, 0n);
        }
        throw e;
    }
    let r: { done: bigint; error?: { errno: KernelError['errno']; reason: string } };
    if (pt.type === 'hwpt_nested') {
        const domain = getDomain(k, pt.domain);
        if (domain.nested?.dataType !== 'vtd-s1') {
            failWith('EOPNOTSUPP', `${describeObject(k, pt)}'s driver has no cache_invalidate_user for nested domains (invalidate through its vIOMMU)`, 0n);
        }
        r = intelNestedInvalidate(dataType, entries, entryLen, entryNum);
        // intel_nested_flush_cache: each entry handled drops the domain's IOTLB entries of its
        // page-selective range (all PASIDs of the domain), also those before a bad entry.
        for (let i = 0; i < Number(r.done); i++) {
            const e = entries[i] ?? {};
            nestedIotlbInvalidate(k, [domain.id], vtdPsiRange(e.addr ?? 0n, e.npages ?? 0n));
        }
        if (r.error) {
            const error = new KernelError(r.error.errno, r.error.reason, parseSource('drivers/iommu/intel/nested.c:intel_nested_cache_invalidate_user'), { entry_num: r.done });
            return r.done > 0n ? { out: { entry_num: r.done }, error } : failWith(r.error.errno, r.error.reason, r.done, 'drivers/iommu/intel/nested.c:intel_nested_cache_invalidate_user');
        }
    } else if (pt.type === 'viommu') {
        const unit = k.iommus.get(pt.iommu)!;
        if (unit.kind !== 'arm-smmu-v3') {
            failWith('EOPNOTSUPP', `vIOMMU ${pt.id}'s driver has no cache_invalidate`, 0n);
        }
        r = vsmmuInvalidate(ctx, pt, dataType, entries, entryLen, entryNum);
        // The commands handled reach the SMMU: their TLBIs drop cached nested translations of
        // the vIOMMU's nested domains (its VMID), also those before a refused command.
        const nested = [...ctx.objects.values()].filter((o) => o.type === 'hwpt_nested' && o.viommu === pt.id).map((o) => (o as IommufdHwptNested).domain);
        for (let i = 0; i < Number(r.done); i++) {
            const range = vsmmuTlbiRange(entries[i] ?? {});
            if (range) {
                nestedIotlbInvalidate(k, nested, range);
            }
        }
        if (r.error) {
            const error = new KernelError(r.error.errno, r.error.reason, parseSource('drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-iommufd.c:arm_vsmmu_cache_invalidate'), { entry_num: r.done });
            return r.done > 0n ? { out: { entry_num: r.done }, error } : failWith(r.error.errno, r.error.reason, r.done, 'drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-iommufd.c:arm_vsmmu_cache_invalidate');
        }
    } else {
        failWith('EINVAL', `hwpt_id ${pt.id} is ${describeObject(k, pt)}: only a nested HWPT or a vIOMMU has caches to invalidate from userspace`, 0n);
    }
    return { out: { entry_num: r!.done } };
}

