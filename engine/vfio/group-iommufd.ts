/** A VFIO group used with an iommufd as its "container" (drivers/vfio/group.c + iommufd/vfio_compat.c). Being implemented with iommufd. */

import { InvalidRequest } from '../syscalls/ioctl.js';
import type { KernelState, Process, VfioDevice, VfioGroup } from '../state.js';

export function vfioCompatGroupSetIommufd(k: KernelState, group: VfioGroup, ctx: number): void {
    void k; void group; void ctx;
    throw new InvalidRequest('VFIO_GROUP_SET_CONTAINER with an iommufd is not modeled by this engine build yet');
}

export function vfioCompatGroupOpenDevice(k: KernelState, proc: Process, group: VfioGroup, vdev: VfioDevice): void {
    void k; void proc; void group; void vdev;
    throw new InvalidRequest('device open through an iommufd-backed group is not modeled by this engine build yet');
}

export function vfioCompatGroupCloseDevice(k: KernelState, vdev: VfioDevice): void {
    void k; void vdev;
}
