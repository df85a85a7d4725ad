/**
 * VFIO's side of iommufd (`drivers/vfio/iommufd.c`): a physical device binds as an iommufd
 * DEVICE and attaches its RID (and, for vfio-pci, PASIDs) to IOAS/HWPT ids; an emulated mdev
 * binds as an ACCESS and attaches to an IOAS. The device remembers what it attached
 * (`iommufd_attached`, the `pasids` IDA) so a second attach is a replace and close detaches all.
 */

import { fail } from '../errno.js';
import { getDevice } from '../iommu/core.js';
import { IOMMU_NO_PASID } from '../iommu/pasid.js';
import { iommufd_access_attach, iommufd_access_create, iommufd_access_destroy, iommufd_access_detach, iommufd_access_replace } from '../iommufd/access.js';
import { iommufd_device_attach, iommufd_device_bind, iommufd_device_detach, iommufd_device_replace, iommufd_device_unbind } from '../iommufd/device.js';
import { getCtx, objectOf } from '../iommufd/object.js';
import type { IommufdAccess, IommufdDevice } from '../iommufd/types.js';
import type { KernelState, VfioDevice } from '../state.js';

const VFIO_IOMMUFD_C = 'drivers/vfio/iommufd.c';

/** Emulated mdevs use the "emulated" ops (an ACCESS), everything else the physical ones. */
export function vfioIsEmulated(k: KernelState, vdev: VfioDevice): boolean {
    return getDevice(k, vdev.device).mdev?.kind === 'emulated';
}

/** The driver has `pasid_attach_ioas`: vfio-pci (and its variants) and PASID slices. */
export function vfioHasPasidOps(k: KernelState, vdev: VfioDevice): boolean {
    const dev = getDevice(k, vdev.device);
    return dev.bus === 'pci' || dev.mdev?.kind === 'pasid';
}

/** `bind_iommufd`: `vfio_iommufd_physical_bind` or `vfio_iommufd_emulated_bind`; returns the object id. */
export function vfio_iommufd_bind(k: KernelState, vdev: VfioDevice, ctxId: number): number {
    const ctx = getCtx(k, ctxId);
    if (vfioIsEmulated(k, vdev)) {
        return iommufd_access_create(k, ctx, vdev.device).id;
    }
    return iommufd_device_bind(k, ctx, getDevice(k, vdev.device)).id;
}

/**
 * `unbind_iommufd`: every PASID is detached, then the RID, then the DEVICE (or ACCESS) object
 * is destroyed, releasing DMA ownership and the iommufd reference.
 */
export function vfio_iommufd_unbind(k: KernelState, vdev: VfioDevice, ctxId: number, objId: number): void {
    const ctx = getCtx(k, ctxId);
    const obj = ctx.objects.get(objId);
    if (obj?.type === 'access') {
        iommufd_access_destroy(k, ctx, obj);
    } else if (obj?.type === 'device') {
        for (const pasid of [...vdev.pasids.keys()].sort((a, b) => a - b)) {
            iommufd_device_detach(k, ctx, obj, pasid);
        }
        vdev.pasids.clear();
        if (vdev.attachedPt !== undefined) {
            iommufd_device_detach(k, ctx, obj, IOMMU_NO_PASID);
        }
        iommufd_device_unbind(k, ctx, obj);
    }
    vdev.attachedPt = undefined;
}

/**
 * `attach_ioas`: a physical device attaches (or, once attached, replaces) its RID and gets the
 * HWPT id back; an emulated one attaches its ACCESS to an IOAS (ENOENT for anything else) and
 * the id stays as given.
 */
export function vfio_iommufd_attach_ioas(k: KernelState, vdev: VfioDevice, ctxId: number, objId: number, ptId: bigint): bigint {
    const ctx = getCtx(k, ctxId);
    if (vfioIsEmulated(k, vdev)) {
        const access = objectOf<IommufdAccess>(ctx, objId, 'access');
        if (vdev.attachedPt !== undefined) {
            iommufd_access_replace(k, ctx, access, ptId);
        } else {
            iommufd_access_attach(k, ctx, access, ptId);
        }
        vdev.attachedPt = Number(ptId);
        return ptId;
    }
    const idev = objectOf<IommufdDevice>(ctx, objId, 'device');
    const pt = vdev.attachedPt !== undefined
        ? iommufd_device_replace(k, ctx, idev, IOMMU_NO_PASID, ptId)
        : iommufd_device_attach(k, ctx, idev, IOMMU_NO_PASID, ptId);
    vdev.attachedPt = pt;
    return BigInt(pt);
}

/** `detach_ioas`: nothing attached → nothing happens. */
export function vfio_iommufd_detach_ioas(k: KernelState, vdev: VfioDevice, ctxId: number, objId: number): void {
    if (vdev.attachedPt === undefined) {
        return;
    }
    const ctx = getCtx(k, ctxId);
    const obj = ctx.objects.get(objId);
    if (obj?.type === 'access') {
        iommufd_access_detach(k, ctx, obj);
    } else if (obj?.type === 'device') {
        iommufd_device_detach(k, ctx, obj, IOMMU_NO_PASID);
    }
    vdev.attachedPt = undefined;
}

/** `vfio_iommufd_physical_pasid_attach_ioas`: attach, or replace a PASID this device already attached. */
export function vfio_iommufd_pasid_attach_ioas(k: KernelState, vdev: VfioDevice, ctxId: number, objId: number, pasid: number, ptId: bigint): bigint {
    const ctx = getCtx(k, ctxId);
    const obj = ctx.objects.get(objId);
    if (obj?.type !== 'device') {
        fail('EINVAL', `${vdev.device} is not bound as an iommufd DEVICE`, `${VFIO_IOMMUFD_C}:vfio_iommufd_physical_pasid_attach_ioas`);
    }
    const pt = vdev.pasids.has(pasid)
        ? iommufd_device_replace(k, ctx, obj, pasid, ptId)
        : iommufd_device_attach(k, ctx, obj, pasid, ptId);
    vdev.pasids.set(pasid, pt);
    return BigInt(pt);
}

/** `vfio_iommufd_physical_pasid_detach_ioas`: a PASID this device did not attach is ignored. */
export function vfio_iommufd_pasid_detach_ioas(k: KernelState, vdev: VfioDevice, ctxId: number, objId: number, pasid: number): void {
    if (!vdev.pasids.has(pasid)) {
        return;
    }
    const ctx = getCtx(k, ctxId);
    const obj = ctx.objects.get(objId);
    if (obj?.type === 'device') {
        iommufd_device_detach(k, ctx, obj, pasid);
    }
    vdev.pasids.delete(pasid);
}
