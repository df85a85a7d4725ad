/**
 * The VFIO group file `/dev/vfio/N` (`drivers/vfio/group.c`): exclusive open, the container it
 * is set on, viability, and device fds (`VFIO_GROUP_GET_DEVICE_FD`), which keep the group file
 * alive so that fds can be closed in any order.
 */

import { fail } from '../errno.js';
import { fdInstall, fdget, fileGet, fput, allocFile } from '../fs/files.js';
import { getDevice, kernelDriverUsers } from '../iommu/core.js';
import { capable } from '../mm/memory.js';
import type { IoctlCall, IoctlOut } from '../syscalls/ioctl-call.js';
import type { KernelState, OpenFile, Process, VfioDevice, VfioGroup } from '../state.js';
import { getContainer, vfio_container_attach_group, vfio_group_detach_container } from './container.js';
import { getVfioGroup, vfioDevicesOfGroup, vfioGroupIommuGroup } from './vfio-main.js';
import { vfioCompatGroupCloseDevice, vfioCompatGroupOpenDevice, vfioCompatGroupSetIommufd, vfioCompatGroupUnsetIommufd } from './group-iommufd.js';
import { vfio_pci_match, vfio_pci_vf_token_user_add } from './vfio-pci.js';

const GROUP_C = 'drivers/vfio/group.c';

const VFIO_GROUP_FLAGS_VIABLE = 1n;
const VFIO_GROUP_FLAGS_CONTAINER_SET = 2n;

/** `vfio_group_fops_open`. */
export function vfio_group_open(k: KernelState, proc: Process, group: VfioGroup, path: string): OpenFile {
    const src = `${GROUP_C}:vfio_group_fops_open`;
    if (group.drivers === 0) {
        fail('ENODEV', `VFIO group ${group.iommuGroup} has no registered device any more`, src);
    }
    if (group.type === 'noiommu' && !capable(proc, 'CAP_SYS_RAWIO')) {
        fail('EPERM', `${path} is a noiommu group: opening it needs CAP_SYS_RAWIO`, src);
    }
    if (group.cdev_device_open_cnt > 0) {
        const bound = vfioDevicesOfGroup(k, group).filter((d) => d.cdevBind).map((d) => describeDev(k, d));
        fail('EBUSY', `group ${group.iommuGroup}'s device ${bound.join(', ')} is bound to an iommufd through its cdev: the group and cdev interfaces exclude each other`, src);
    }
    if (group.openFile !== undefined) {
        const holder = [...k.processes.values()].find((p) => [...p.fds.values()].includes(group.openFile!));
        fail('EBUSY', `${path} is already open${holder ? ` (by ${holder.name})` : ''}: a group is opened by one owner at a time`, src);
    }
    const file = allocFile(k, 'vfio-group', path, group.id);
    group.openFile = file.id;
    return file;
}

function describeDev(k: KernelState, v: VfioDevice): string {
    const d = getDevice(k, v.device);
    return `${d.devName} (${d.name})`;
}

/** `vfio_group_fops_release`: device fds hold the group file, so this runs after the last of them. */
export function vfio_group_release(k: KernelState, group: VfioGroup): void {
    if (group.container !== undefined) {
        vfio_group_detach_container(k, group);
    }
    vfioCompatGroupUnsetIommufd(k, group);
    group.openFile = undefined;
    if (!group.listed) {
        k.vfio.groups.delete(group.id);
    }
}

export function vfio_group_ioctl(k: KernelState, proc: Process, group: VfioGroup, call: IoctlCall): IoctlOut {
    switch (call.def.name) {
        case 'VFIO_GROUP_GET_STATUS':
            return getStatus(k, group, call);
        case 'VFIO_GROUP_SET_CONTAINER':
            setContainer(k, proc, group, call);
            return {};
        case 'VFIO_GROUP_UNSET_CONTAINER':
            unsetContainer(k, group);
            return {};
        case 'VFIO_GROUP_GET_DEVICE_FD':
            return { ret: BigInt(getDeviceFd(k, proc, group, call.string ?? '')) };
        default:
            fail('ENOTTY', `${call.def.name} is not a VFIO group ioctl`, `${GROUP_C}:vfio_group_fops_unl_ioctl`);
    }
}

function hasIommu(group: VfioGroup): boolean {
    return group.container !== undefined || group.iommufd !== undefined;
}

/**
 * `vfio_group_ioctl_get_status`: VIABLE means no kernel DMA-API driver (and no other owner) uses
 * the group; with a container set, CONTAINER_SET | VIABLE.
 */
function getStatus(k: KernelState, group: VfioGroup, call: IoctlCall): IoctlOut {
    const src = `${GROUP_C}:vfio_group_ioctl_get_status`;
    if (call.size < 8n) {
        fail('EINVAL', `argsz ${call.size} is smaller than 8`, src);
    }
    const ig = vfioGroupIommuGroup(k, group, src);
    let flags = 0n;
    if (hasIommu(group)) {
        flags = VFIO_GROUP_FLAGS_CONTAINER_SET | VFIO_GROUP_FLAGS_VIABLE;
    } else if (ig.owner_cnt === 0) {
        flags = VFIO_GROUP_FLAGS_VIABLE;
    }
    return { out: { flags } };
}

/** Why a group is not viable, in words (for hovers and reasons). */
export function nonViableReason(k: KernelState, group: VfioGroup): string | undefined {
    if (group.iommuGroup === null) {
        return 'its last device was unregistered';
    }
    const ig = k.groups.get(group.iommuGroup)!;
    if (ig.owner_cnt === 0) {
        return undefined;
    }
    const users = kernelDriverUsers(k, ig);
    return users.length > 0 ? users.map((d) => `${d.devName} (${d.name}) is bound to ${d.driver}`).join(', ') : 'another user owns it';
}

/** `vfio_group_ioctl_set_container`. */
function setContainer(k: KernelState, proc: Process, group: VfioGroup, call: IoctlCall): void {
    const src = `${GROUP_C}:vfio_group_ioctl_set_container`;
    const file = fdget(k, proc, call.value ?? -1n, src);
    if (hasIommu(group)) {
        fail('EINVAL', `group ${group.iommuGroup} is already set on ${group.container !== undefined ? `container ${group.container}` : `iommufd ${group.iommufd}`}`, src);
    }
    vfioGroupIommuGroup(k, group, src);
    if (file.kind === 'vfio-container') {
        vfio_container_attach_group(k, proc, getContainer(k, file.object as number), group);
        return;
    }
    if (file.kind === 'iommufd') {
        vfioCompatGroupSetIommufd(k, group, file.object as number);
        return;
    }
    fail('EBADFD', `fd ${call.value} (${file.path}) is neither a VFIO container nor an iommufd`, src);
}

/** `vfio_group_ioctl_unset_container`. */
function unsetContainer(k: KernelState, group: VfioGroup): void {
    const src = `${GROUP_C}:vfio_group_ioctl_unset_container`;
    if (!hasIommu(group)) {
        fail('EINVAL', `group ${group.iommuGroup} is not set on a container`, src);
    }
    if (group.container !== undefined) {
        if (group.container_users !== 1) {
            fail('EBUSY', `group ${group.iommuGroup} has ${group.container_users - 1} device(s) open through the container`, src);
        }
        vfio_group_detach_container(k, group);
    }
    vfioCompatGroupUnsetIommufd(k, group);
}

/**
 * `vfio_group_ioctl_get_device_fd` → `vfio_device_open_file`: the named device of this group,
 * opened through the container (its first open needs the container's IOMMU driver).
 */
function getDeviceFd(k: KernelState, proc: Process, group: VfioGroup, name: string): number {
    const src = `${GROUP_C}:vfio_group_ioctl_get_device_fd`;
    let vdev: VfioDevice | undefined;
    for (const v of vfioDevicesOfGroup(k, group)) {
        if (v.unregistering) {
            continue;
        }
        const m = vfio_pci_match(k, v, name);
        if (m === true) {
            vdev = v;
            break;
        }
    }
    if (!vdev) {
        const names = vfioDevicesOfGroup(k, group).filter((v) => !v.unregistering).map((v) => getDevice(k, v.device).devName);
        fail('ENODEV', `no device "${name}" in VFIO group ${group.iommuGroup}${names.length ? ` (it has ${names.join(', ')})` : ''}`, src);
    }
    const openSrc = `${GROUP_C}:vfio_df_group_open`;
    if (!hasIommu(group)) {
        fail('EINVAL', `group ${group.iommuGroup} is not set on a container: VFIO_GROUP_SET_CONTAINER first`, openSrc);
    }
    if (vdev.open_count === 0) {
        if (group.container !== undefined) {
            const c = getContainer(k, group.container);
            // vfio_group_use_container
            if (!c.iommuDriver) {
                fail('EINVAL', `container ${c.id} has no IOMMU driver: VFIO_SET_IOMMU first`, 'drivers/vfio/container.c:vfio_group_use_container');
            }
            if (group.type === 'noiommu' && !capable(proc, 'CAP_SYS_RAWIO')) {
                fail('EPERM', `noiommu device needs CAP_SYS_RAWIO`, 'drivers/vfio/container.c:vfio_group_use_container');
            }
            fileGet(k, group.openFile!);
            group.container_users++;
        } else {
            vfioCompatGroupOpenDevice(k, proc, group, vdev);
        }
        vdev.kvm = group.kvm;
        vfio_pci_vf_token_user_add(k, vdev, 1);
    }
    vdev.open_count++;
    const dev = getDevice(k, vdev.device);
    const file = allocFile(k, 'vfio-device', `vfio-device ${dev.name} (${dev.devName})`, vdev.device, 'group');
    vdev.files++;
    return fdInstall(k, proc, file.id);
}


/** Device file release on the group path (`vfio_df_group_close`): the last close gives back the container use. */
export function vfio_device_group_close(k: KernelState, vdev: VfioDevice): void {
    const group = getVfioGroup(k, vdev.group);
    if (vdev.open_count === 1) {
        if (group.container !== undefined && vdev.groupIommufdBind === undefined) {
            group.container_users--;
            fput(k, group.openFile!);
        } else {
            vfioCompatGroupCloseDevice(k, vdev);
        }
        vdev.kvm = undefined;
        vfio_pci_vf_token_user_add(k, vdev, -1);
    }
    vdev.open_count--;
}

