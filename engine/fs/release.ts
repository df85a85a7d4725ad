/** `->release` of each file type, run by `fput` when a file's last reference goes. */

import type { KernelState, OpenFile } from '../state.js';
import { getContainer, vfio_container_release } from '../vfio/container.js';
import { vfio_device_release } from '../vfio/device.js';
import { vfio_group_release } from '../vfio/group.js';
import { getVfioGroup } from '../vfio/vfio-main.js';
import { iommufd_fops_release } from '../iommufd/main.js';
import { kvm_release } from '../kvm/kvm.js';

export function releaseFile(k: KernelState, file: OpenFile): void {
    switch (file.kind) {
        case 'vfio-container':
            vfio_container_release(k, getContainer(k, file.object as number));
            return;
        case 'vfio-group':
            vfio_group_release(k, getVfioGroup(k, file.object as number));
            return;
        case 'vfio-device':
            vfio_device_release(k, file);
            return;
        case 'iommufd':
        case 'fault-queue':
        case 'veventq':
            iommufd_fops_release(k, file);
            return;
        case 'kvm':
        case 'kvm-vm':
        case 'kvm-device':
            kvm_release(k, file);
            return;
        case 'memfd':
        case 'sysfs':
            return;
    }
}
