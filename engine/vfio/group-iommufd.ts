/**
 * A VFIO group used with an iommufd as its "container" (`drivers/vfio/group.c` with
 * `drivers/iommu/iommufd/vfio_compat.c`): VFIO_GROUP_SET_CONTAINER only makes sure the compat
 * IOAS exists (no DMA ownership is claimed, so a non-viable group is accepted); the first open
 * of a device binds it to the iommufd (where ownership is claimed: EPERM for a sibling on a
 * kernel driver) and attaches it to the compat IOAS.
 */

import { fail } from '../errno.js';
import { fileGet, fput } from '../fs/files.js';
import { capable } from '../mm/memory.js';
import { getCtx } from '../iommufd/object.js';
import { iommufd_vfio_compat_ioas_create, iommufd_vfio_compat_ioas_get_id, iommufd_vfio_compat_set_no_iommu } from '../iommufd/vfio-compat.js';
import type { KernelState, Process, VfioDevice, VfioGroup } from '../state.js';
import { vfio_iommufd_attach_ioas, vfio_iommufd_bind, vfio_iommufd_unbind } from './iommufd.js';

/**
 * The iommufd branch of `vfio_group_ioctl_set_container`: a no-iommu group puts the ctx in
 * no-iommu mode (EINVAL if it has a compat IOAS), any other group makes sure the compat IOAS
 * exists (EINVAL in no-iommu mode). The group then holds the iommufd (`iommufd_ctx_get`).
 */
export function vfioCompatGroupSetIommufd(k: KernelState, group: VfioGroup, ctxId: number): void {
    const ctx = getCtx(k, ctxId);
    if (group.type === 'noiommu') {
        iommufd_vfio_compat_set_no_iommu(ctx);
    } else {
        iommufd_vfio_compat_ioas_create(ctx);
    }
    fileGet(k, ctx.file);
    group.iommufd = ctxId;
}

/** `iommufd_ctx_put` when the group drops its iommufd (UNSET_CONTAINER, or the group fd's release). */
export function vfioCompatGroupUnsetIommufd(k: KernelState, group: VfioGroup): void {
    if (group.iommufd === undefined) {
        return;
    }
    const ctx = k.iommufd.ctxs.get(group.iommufd);
    group.iommufd = undefined;
    if (ctx) {
        fput(k, ctx.file);
    }
}

/**
 * First open of a device through an iommufd-backed group (`vfio_df_group_open` →
 * `vfio_df_iommufd_bind` + `vfio_iommufd_compat_attach_ioas`): a no-iommu device needs
 * CAP_SYS_RAWIO and no compat IOAS (EPERM) and binds nothing; any other binds (the DMA ownership
 * errors of iommufd_device_bind) and attaches to the compat IOAS (ENODEV if it was cleared).
 */
export function vfioCompatGroupOpenDevice(k: KernelState, proc: Process, group: VfioGroup, vdev: VfioDevice): void {
    const ctxId = group.iommufd!;
    const ctx = getCtx(k, ctxId);
    if (group.type === 'noiommu') {
        if (!capable(proc, 'CAP_SYS_RAWIO') || ctx.vfioIoas !== undefined) {
            fail('EPERM', !capable(proc, 'CAP_SYS_RAWIO')
                ? `${proc.name} lacks CAP_SYS_RAWIO, which a no-iommu device requires`
                : `iommufd ${ctx.id} has compat IOAS ${ctx.vfioIoas}: a no-iommu device cannot be used where translation is expected`, 'drivers/vfio/group.c:vfio_df_group_open');
        }
        return;
    }
    const devid = vfio_iommufd_bind(k, vdev, ctxId);
    vdev.groupIommufdBind = { ctx: ctxId, devid };
    // The legacy path has no way to return the selected pt_id.
    const ioasId = iommufd_vfio_compat_ioas_get_id(ctx);
    vfio_iommufd_attach_ioas(k, vdev, ctxId, devid, BigInt(ioasId));
}

/** Last close of a device opened through an iommufd-backed group: unbind (detach, release ownership). */
export function vfioCompatGroupCloseDevice(k: KernelState, vdev: VfioDevice): void {
    const bind = vdev.groupIommufdBind;
    if (!bind) {
        return;
    }
    vdev.groupIommufdBind = undefined;
    vfio_iommufd_unbind(k, vdev, bind.ctx, bind.devid);
}
