/**
 * VFIO device files (`drivers/vfio/vfio_main.c:vfio_device_fops`): from
 * `VFIO_GROUP_GET_DEVICE_FD` or from the cdev `/dev/vfio/devices/vfioN`. The ioctl dispatch and
 * the release path; the driver's own ioctls live in vfio-pci.ts.
 */

import { fail } from '../errno.js';
import { getDevice } from '../iommu/core.js';
import type { IoctlCall, IoctlOut } from '../syscalls/ioctl-call.js';
import type { KernelState, OpenFile, Process, VfioDevice } from '../state.js';
import { vfio_device_group_close } from './group.js';
import { vfio_pci_ioctl } from './vfio-pci.js';
import { vfioCdevIoctl, vfioCdevRelease } from './device-cdev.js';

const MAIN_C = 'drivers/vfio/vfio_main.c';

export function getVfioDevice(k: KernelState, name: string): VfioDevice {
    const v = k.vfio.devices.get(name);
    if (!v) {
        throw new Error(`engine invariant: no vfio_device for ${name}`);
    }
    return v;
}

/** `vfio_device_fops_unl_ioctl`. */
export function vfio_device_ioctl(k: KernelState, proc: Process, file: OpenFile, call: IoctlCall): IoctlOut {
    const vdev = getVfioDevice(k, file.object as string);
    if (call.def.name === 'VFIO_DEVICE_BIND_IOMMUFD' || file.via === 'cdev') {
        const r = vfioCdevIoctl(k, proc, file, vdev, call);
        if (r) {
            return r;
        }
    }
    if (file.via === 'group' && call.def.name === 'VFIO_DEVICE_BIND_IOMMUFD') {
        fail('EINVAL', 'this device fd came from VFIO_GROUP_GET_DEVICE_FD: only a cdev fd can be bound to an iommufd', 'drivers/vfio/device_cdev.c:vfio_df_ioctl_bind_iommufd');
    }
    if (getDevice(k, vdev.device).bus === 'pci' || getDevice(k, vdev.device).bus === 'mdev') {
        return vfio_pci_ioctl(k, vdev, call);
    }
    fail('ENOTTY', `${call.def.name} is not handled by this VFIO driver`, `${MAIN_C}:vfio_device_fops_unl_ioctl`);
}

/** `vfio_device_fops_release`: group path → last close gives the container use back; cdev → unbind from iommufd. */
export function vfio_device_release(k: KernelState, file: OpenFile): void {
    const vdev = k.vfio.devices.get(file.object as string);
    if (!vdev) {
        return;
    }
    if (file.via === 'group') {
        vfio_device_group_close(k, vdev);
    } else {
        vfioCdevRelease(k, file, vdev);
    }
    // vfio_device_put_registration: an unbind sleeping in vfio_unregister_group_dev may now finish.
    vdev.files--;
}
