/**
 * VFIO device registration (`drivers/vfio/vfio_main.c`, `drivers/vfio/group.c`): binding a VFIO
 * driver registers a `vfio_device` and finds or creates the `vfio_group` of its IOMMU group
 * (`/dev/vfio/N` appears); emulated mdevs get an IOMMU group VFIO makes for them alone.
 * Unregistering (unbind) waits until every file of the device is closed.
 */

import { fail } from '../errno.js';
import type { WaitCondition } from '../errno.js';
import { getDevice, getGroup } from '../iommu/core.js';
import type { Device, IommuGroup, KernelState, VfioDevice, VfioGroup } from '../state.js';
import { NO_DOMAIN } from '../state.js';
import { vfio_group_detach_container } from './container.js';

const GROUP_C = 'drivers/vfio/group.c';
const MAIN_C = 'drivers/vfio/vfio_main.c';

/** `/dev/vfio/N`'s group object, if the node exists. */
export function findVfioGroupByIommuGroup(k: KernelState, iommuGroup: number): VfioGroup | undefined {
    for (const g of k.vfio.groups.values()) {
        if (g.listed && g.iommuGroup === iommuGroup) {
            return g;
        }
    }
    return undefined;
}

export function getVfioGroup(k: KernelState, id: number): VfioGroup {
    const g = k.vfio.groups.get(id);
    if (!g) {
        throw new Error(`engine invariant: vfio_group ${id} does not exist`);
    }
    return g;
}

/** `iommu_group_alloc`: the lowest free group id (a global IDA). */
export function allocIommuGroupId(k: KernelState): number {
    let id = 0;
    while (k.groups.has(id)) {
        id++;
    }
    return id;
}

function newVfioGroup(k: KernelState, iommuGroup: number, type: VfioGroup['type']): VfioGroup {
    const g: VfioGroup = {
        id: k.next.vfioGroup++, iommuGroup, type, listed: true, drivers: 0, container_users: 0, cdev_device_open_cnt: 0,
    };
    k.vfio.groups.set(g.id, g);
    return g;
}

/** A group VFIO makes itself (`vfio_noiommu_group_alloc`): emulated mdevs and noiommu devices. */
function vfioMadeIommuGroup(k: KernelState, dev: Device, kind: 'emulated' | 'noiommu'): IommuGroup {
    const group: IommuGroup = {
        id: allocIommuGroupId(k), devices: [dev.name], owner_cnt: 0, owner: null,
        domain: NO_DOMAIN, default_domain: NO_DOMAIN, pasid_array: new Map(), vfioMade: kind,
    };
    k.groups.set(group.id, group);
    dev.group = group.id;
    return group;
}

/** `vfio.device_ida`: the lowest free `/dev/vfio/devices/vfioN` index. */
function allocCdevIndex(k: KernelState): number {
    const used = new Set([...k.vfio.devices.values()].map((d) => d.cdevIndex));
    let i = 0;
    while (used.has(i)) {
        i++;
    }
    return i;
}

/**
 * `__vfio_register_dev`: called from a VFIO driver's probe. `emulated` is
 * `vfio_register_emulated_iommu_dev` (mdevs that DMA through their parent driver).
 */
export function vfio_register_dev(k: KernelState, dev: Device, emulated: boolean): void {
    let group: VfioGroup;
    if (emulated) {
        group = newVfioGroup(k, vfioMadeIommuGroup(k, dev, 'emulated').id, 'emulated');
    } else if (dev.group === undefined) {
        if (!k.config.params.enableUnsafeNoiommuMode) {
            fail('EINVAL', `${dev.devName} (${dev.name}) has no IOMMU group: VFIO refuses a device without IOMMU protection (vfio.enable_unsafe_noiommu_mode is off)`, `${GROUP_C}:vfio_group_find_or_alloc`);
        }
        group = newVfioGroup(k, vfioMadeIommuGroup(k, dev, 'noiommu').id, 'noiommu');
        k.log.push(`vfio-pci ${dev.devName}: Adding kernel taint for vfio-noiommu group on device`);
    } else {
        const unit = dev.iommu ? k.iommus.get(dev.iommu) : undefined;
        if (unit && !unit.coherent) {
            fail('EINVAL', `${dev.devName} (${dev.name}): ${unit.name} lacks IOMMU_CAP_CACHE_COHERENCY, which VFIO requires`, `${MAIN_C}:__vfio_register_dev`);
        }
        group = findVfioGroupByIommuGroup(k, dev.group) ?? newVfioGroup(k, dev.group, 'iommu');
    }
    group.drivers++;
    const vdev: VfioDevice = {
        device: dev.name, group: group.id, cdevIndex: allocCdevIndex(k), open_count: 0, files: 0,
        unregistering: false, pasids: new Map(),
    };
    k.vfio.devices.set(dev.name, vdev);
}

export type UnregisterResult = { readonly done: true } | { readonly done: false; readonly waitingFor: string; readonly condition: WaitCondition };

/**
 * `vfio_unregister_group_dev`: stops new opens at once, then sleeps until every file of the
 * device is closed (the driver's `request` callback asks userspace to release it), then removes
 * the device and, with the group's last device, the group node.
 */
export function vfio_unregister_dev(k: KernelState, dev: Device): UnregisterResult {
    const vdev = k.vfio.devices.get(dev.name);
    if (!vdev) {
        return { done: true };
    }
    vdev.unregistering = true;
    if (vdev.files > 0) {
        return {
            done: false,
            waitingFor: `${dev.devName} (${dev.name}) has ${vdev.files} open VFIO device file${vdev.files > 1 ? 's' : ''}: vfio_unregister_group_dev sleeps until ${vdev.files > 1 ? 'they are' : 'it is'} closed`,
            condition: { kind: 'vfio-device-released', device: dev.name },
        };
    }
    k.vfio.devices.delete(dev.name);
    // A PASID slice has a cdev but no vfio_group (it DMAs with its parent's RID).
    if (k.vfio.groups.has(vdev.group)) {
        vfio_device_remove_group(k, getVfioGroup(k, vdev.group), dev);
    }
    return { done: true };
}

/** `vfio_device_remove_group`. */
function vfio_device_remove_group(k: KernelState, group: VfioGroup, dev: Device): void {
    if (group.type !== 'iommu') {
        // iommu_group_remove_device on VFIO-made groups: the group goes with its only device.
        if (group.iommuGroup !== null) {
            k.groups.delete(group.iommuGroup);
        }
        dev.group = undefined;
    }
    group.drivers--;
    if (group.drivers > 0) {
        return;
    }
    group.listed = false;
    if (group.container !== undefined) {
        vfio_group_detach_container(k, group);
    }
    group.iommuGroup = null;
    if (group.openFile === undefined) {
        k.vfio.groups.delete(group.id);
    }
}

export function waitSatisfied(k: KernelState, cond: WaitCondition): boolean {
    switch (cond.kind) {
        case 'vfio-device-released': {
            const v = k.vfio.devices.get(cond.device);
            return !v || v.files === 0;
        }
    }
}

/** The IOMMU group a vfio_group stands for, or ENODEV once it is gone. */
export function vfioGroupIommuGroup(k: KernelState, group: VfioGroup, src: string): IommuGroup {
    if (group.iommuGroup === null) {
        fail('ENODEV', `VFIO group ${group.id}'s last device was unregistered: its IOMMU group is gone`, src);
    }
    return getGroup(k, group.iommuGroup);
}

export function vfioDevicesOfGroup(k: KernelState, group: VfioGroup): VfioDevice[] {
    return [...k.vfio.devices.values()].filter((d) => d.group === group.id);
}

export { getDevice };
