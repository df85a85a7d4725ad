/**
 * vIOMMU, vDEVICE and HW queue objects (`drivers/iommu/iommufd/viommu.c`): a VM's slice of a
 * physical IOMMU on a NEST_PARENT HWPT, the virtual ids of devices behind it, and hardware
 * queues (which only the NVIDIA Tegra241 CMDQV driver provides).
 */

import { fail } from '../errno.js';
import { getDevice } from '../iommu/core.js';
import type { KernelState } from '../state.js';
import type { IoctlCall, IoctlOut } from '../syscalls/ioctl-call.js';
import { ULONG_MAX, hex } from '../u64.js';
import { VIOMMU_TYPE, viommuTypeSupported } from './iommu-drivers.js';
import { addObject, getHwptPaging, getIdev, getViommu } from './object.js';
import type { IommufdCtx, IommufdVdevice, IommufdViommu } from './types.js';

const VIOMMU_C = 'drivers/iommu/iommufd/viommu.c';

/**
 * IOMMU_VIOMMU_ALLOC (`iommufd_viommu_alloc_ioctl`): flags or type DEFAULT → EOPNOTSUPP;
 * dev_id → ENOENT; the driver has no vIOMMU of that type → EOPNOTSUPP; hwpt_id not a
 * HWPT_PAGING → ENOENT; a parent without NEST_PARENT → EINVAL.
 */
export function iommufd_viommu_alloc_ioctl(k: KernelState, ctx: IommufdCtx, call: IoctlCall): IoctlOut {
    const src = `${VIOMMU_C}:iommufd_viommu_alloc_ioctl`;
    const type = call.field('type');
    if (call.field('flags') !== 0n || type === VIOMMU_TYPE.DEFAULT) {
        fail('EOPNOTSUPP', call.field('flags') !== 0n ? 'flags must be 0' : 'type IOMMU_VIOMMU_TYPE_DEFAULT is reserved', src);
    }
    const idev = getIdev(ctx, call.field('dev_id'), src);
    const dev = getDevice(k, idev.device);
    const unit = k.iommus.get(dev.iommu!)!;
    const why = viommuTypeSupported(k, unit, type);
    if (why) {
        fail('EOPNOTSUPP', why, src);
    }
    const hwpt = getHwptPaging(ctx, call.field('hwpt_id'), src);
    if (!hwpt.nestParent) {
        fail('EINVAL', `HWPT ${hwpt.id} was not allocated with IOMMU_HWPT_ALLOC_NEST_PARENT: it cannot back a vIOMMU`, src);
    }
    const parent = k.domains.get(hwpt.domain);
    if (parent?.iommu !== unit.name) {
        fail('EINVAL', `HWPT ${hwpt.id}'s domain belongs to ${parent?.iommu}, not to ${unit.name} behind ${dev.devName}`, 'drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-iommufd.c:arm_vsmmu_init');
    }
    const viommu = addObject<IommufdViommu>(ctx, (id) => ({ id, type: 'viommu', viommuType: Number(type), hwpt: hwpt.id, iommu: unit.name }));
    return { out: { out_viommu_id: BigInt(viommu.id) } };
}

/**
 * IOMMU_VDEVICE_ALLOC (`iommufd_vdevice_alloc_ioctl`): the device must be behind the vIOMMU's
 * IOMMU (EINVAL), have no vDEVICE yet (EEXIST), and the virtual id be free on the vIOMMU (EEXIST).
 */
export function iommufd_vdevice_alloc_ioctl(k: KernelState, ctx: IommufdCtx, call: IoctlCall): IoctlOut {
    const src = `${VIOMMU_C}:iommufd_vdevice_alloc_ioctl`;
    const virtId = call.field('virt_id');
    if (virtId > ULONG_MAX) {
        fail('EINVAL', `virt_id ${hex(virtId)} does not fit an unsigned long`, src);
    }
    const viommu = getViommu(ctx, call.field('viommu_id'), src);
    const idev = getIdev(ctx, call.field('dev_id'), src);
    const dev = getDevice(k, idev.device);
    if (dev.iommu !== viommu.iommu) {
        fail('EINVAL', `${dev.devName} (${dev.name}) is behind ${dev.iommu}, not ${viommu.iommu} of vIOMMU ${viommu.id}`, src);
    }
    if (idev.vdevice !== undefined && ctx.objects.has(idev.vdevice)) {
        fail('EEXIST', `${dev.devName} (${dev.name}) already has vDEVICE ${idev.vdevice}`, src);
    }
    const clash = [...ctx.objects.values()].find((o) => o.type === 'vdevice' && o.viommu === viommu.id && o.virtId === virtId);
    if (clash) {
        fail('EEXIST', `virtual id ${hex(virtId)} is already used on vIOMMU ${viommu.id} (vDEVICE ${clash.id})`, src);
    }
    const vdev = addObject<IommufdVdevice>(ctx, (id) => ({ id, type: 'vdevice', viommu: viommu.id, idev: idev.id, virtId }));
    idev.vdevice = vdev.id;
    return { out: { out_vdevice_id: BigInt(vdev.id) } };
}

/** `iommufd_vdevice_destroy`: the device forgets it. */
export function iommufd_vdevice_destroy(ctx: IommufdCtx, vdev: IommufdVdevice): void {
    ctx.objects.delete(vdev.id);
    const idev = ctx.objects.get(vdev.idev);
    if (idev?.type === 'device' && idev.vdevice === vdev.id) {
        idev.vdevice = undefined;
    }
}

const HW_QUEUE_TYPE_DEFAULT = 0n;

/**
 * IOMMU_HW_QUEUE_ALLOC (`iommufd_hw_queue_alloc_ioctl`): the argument checks, then the vIOMMU;
 * no modeled IOMMU has hardware queues (Tegra241 CMDQV), so it ends in EOPNOTSUPP.
 */
export function iommufd_hw_queue_alloc_ioctl(k: KernelState, ctx: IommufdCtx, call: IoctlCall): IoctlOut {
    const src = `${VIOMMU_C}:iommufd_hw_queue_alloc_ioctl`;
    if (call.field('flags') !== 0n || call.field('type') === HW_QUEUE_TYPE_DEFAULT) {
        fail('EOPNOTSUPP', call.field('flags') !== 0n ? 'flags must be 0' : 'type IOMMU_HW_QUEUE_TYPE_DEFAULT is reserved', src);
    }
    const length = call.field('length');
    const iova = call.field('nesting_parent_iova');
    if (length === 0n) {
        fail('EINVAL', 'length is 0', src);
    }
    if (iova + length - 1n > ULONG_MAX) {
        fail('EOVERFLOW', `nesting_parent_iova ${hex(iova)} + length ${hex(length)} wraps around 2^64`, src);
    }
    const viommu = getViommu(ctx, call.field('viommu_id'), src);
    void k;
    fail('EOPNOTSUPP', `vIOMMU ${viommu.id} (${viommu.iommu}) has no hardware queues: only an NVIDIA Tegra241 CMDQV provides them`, src);
}
