/**
 * ACCESS objects (`drivers/iommu/iommufd/device.c:iommufd_access_*`): how an emulated VFIO
 * device (an mdev whose parent driver does its DMA) sees an IOAS. It has no IOMMU domain: the
 * driver reads and writes the IOAS's memory with the CPU (`iommufd_access_rw`), and its page
 * alignment joins the IOAS's.
 */

import { fail } from '../errno.js';
import { fileGet, fput } from '../fs/files.js';
import type { KernelState } from '../state.js';
import { iopt_add_access, iopt_remove_access } from './io-pagetable.js';
import { addObject, getIoas, objectOf } from './object.js';
import type { IommufdAccess, IommufdCtx, IommufdIoas } from './types.js';

const DEVICE_C = 'drivers/iommu/iommufd/device.c';

/**
 * `iommufd_access_create` with VFIO's `vfio_user_ops` (`needs_pin_pages`: PAGE_SIZE alignment);
 * the access holds the ctx.
 */
export function iommufd_access_create(k: KernelState, ctx: IommufdCtx, device: string): IommufdAccess {
    const access = addObject<IommufdAccess>(ctx, (id) => ({ id, type: 'access', device, iovaAlignment: k.config.pageSize }));
    fileGet(k, ctx.file);
    return access;
}

/** `iommufd_access_change_ioas`: joins the new IOAS (EADDRINUSE if its areas are not page aligned), leaves the old. */
function changeIoas(k: KernelState, ctx: IommufdCtx, access: IommufdAccess, next: IommufdIoas | undefined): void {
    const cur = access.ioas !== undefined ? objectOf<IommufdIoas>(ctx, access.ioas, 'ioas') : undefined;
    if (cur?.id === next?.id) {
        return;
    }
    if (next) {
        iopt_add_access(k, ctx, next, access.id);
    }
    if (cur) {
        // The driver's unmap callback unpins what it pinned from the old IOAS first.
        iopt_remove_access(k, ctx, cur, access.id);
    }
    access.ioas = next?.id;
}

/** `iommufd_access_attach`: the IOAS by id (ENOENT when it is not one). */
export function iommufd_access_attach(k: KernelState, ctx: IommufdCtx, access: IommufdAccess, ioasId: bigint): void {
    if (access.ioas !== undefined) {
        fail('EINVAL', `ACCESS ${access.id} is already attached to IOAS ${access.ioas}`, `${DEVICE_C}:iommufd_access_attach`);
    }
    changeIoas(k, ctx, access, getIoas(ctx, ioasId, `${DEVICE_C}:iommufd_access_change_ioas_id`, 'pt_id'));
}

/** `iommufd_access_replace`: ENOENT when not attached. */
export function iommufd_access_replace(k: KernelState, ctx: IommufdCtx, access: IommufdAccess, ioasId: bigint): void {
    if (access.ioas === undefined) {
        fail('ENOENT', `ACCESS ${access.id} is not attached to an IOAS`, `${DEVICE_C}:iommufd_access_replace`);
    }
    changeIoas(k, ctx, access, getIoas(ctx, ioasId, `${DEVICE_C}:iommufd_access_change_ioas_id`, 'pt_id'));
}

/** `iommufd_access_detach`. */
export function iommufd_access_detach(k: KernelState, ctx: IommufdCtx, access: IommufdAccess): void {
    changeIoas(k, ctx, access, undefined);
}

/** `iommufd_access_destroy` → `iommufd_access_destroy_object`: detached, then the ctx reference goes. */
export function iommufd_access_destroy(k: KernelState, ctx: IommufdCtx, access: IommufdAccess): void {
    changeIoas(k, ctx, access, undefined);
    ctx.objects.delete(access.id);
    fput(k, ctx.file);
}
