/** The VFIO device cdev `/dev/vfio/devices/vfioN` (drivers/vfio/device_cdev.c). Being implemented with iommufd. */

import { InvalidRequest } from '../syscalls/ioctl.js';
import type { IoctlCall, IoctlOut } from '../syscalls/ioctl-call.js';
import type { KernelState, OpenFile, Process, VfioDevice } from '../state.js';

export function vfio_device_cdev_open(k: KernelState, proc: Process, vdev: VfioDevice, path: string): OpenFile {
    void k; void proc; void vdev;
    throw new InvalidRequest(`${path}: the VFIO device cdev is not modeled by this engine build yet`);
}

export function vfioCdevIoctl(k: KernelState, proc: Process, file: OpenFile, vdev: VfioDevice, call: IoctlCall): IoctlOut | undefined {
    void k; void proc; void file; void vdev; void call;
    return undefined;
}

export function vfioCdevRelease(k: KernelState, file: OpenFile, vdev: VfioDevice): void {
    void k; void file; void vdev;
}
