/**
 * The legacy VFIO container, `/dev/vfio/vfio` (`drivers/vfio/container.c`): groups join it
 * (claiming DMA ownership), `VFIO_SET_IOMMU` picks an IOMMU backend (type1, or noiommu for
 * noiommu groups) and every other ioctl goes to that backend. Closing the fd only drops the
 * fd's reference: the container lives while groups are attached.
 */

import { fail } from '../errno.js';
import { iommu_group_claim_dma_owner, iommu_group_release_dma_owner } from '../iommu/core.js';
import { capable } from '../mm/memory.js';
import type { IoctlCall, IoctlOut } from '../syscalls/ioctl-call.js';
import type { KernelState, Process, VfioContainer, VfioGroup } from '../state.js';
import {
    VFIO_NOIOMMU_IOMMU, type1AttachGroup, type1CheckExtension, type1DetachGroup, type1Ioctl, type1Open, type1Release,
} from './type1.js';

const CONTAINER_C = 'drivers/vfio/container.c';
export const VFIO_API_VERSION = 0n;

export function getContainer(k: KernelState, id: number): VfioContainer {
    const c = k.vfio.containers.get(id);
    if (!c) {
        throw new Error(`engine invariant: container ${id} does not exist`);
    }
    return c;
}

/** `vfio_fops_open`: every open is a new, empty container. */
export function vfio_container_open(k: KernelState): VfioContainer {
    const c: VfioContainer = { id: k.next.container++, groups: [], fileOpen: true };
    k.vfio.containers.set(c.id, c);
    return c;
}

function isNoiommuContainer(k: KernelState, c: VfioContainer): boolean {
    return c.groups.some((g) => k.vfio.groups.get(g)?.type === 'noiommu');
}

/** `vfio_container_ioctl_check_extension`. */
function checkExtension(k: KernelState, c: VfioContainer, arg: bigint): bigint {
    if (c.iommuDriver === 'type1') {
        return type1CheckExtension(k, c.type1, arg);
    }
    if (c.iommuDriver === 'noiommu') {
        return k.config.params.enableUnsafeNoiommuMode && arg === VFIO_NOIOMMU_IOMMU ? 1n : 0n;
    }
    // No backend yet: poll the registered drivers (type1 first, then noiommu), skipping those a
    // container with groups may not use, and return the first positive answer.
    const hasGroups = c.groups.length > 0;
    const noiommu = isNoiommuContainer(k, c);
    if (!hasGroups || !noiommu) {
        const r = type1CheckExtension(k, undefined, arg);
        if (r > 0n) {
            return r;
        }
    }
    if (!hasGroups || noiommu) {
        return k.config.params.enableUnsafeNoiommuMode && arg === VFIO_NOIOMMU_IOMMU ? 1n : 0n;
    }
    return 0n;
}

/** `vfio_ioctl_set_iommu`. */
function setIommu(k: KernelState, proc: Process, c: VfioContainer, arg: bigint): void {
    const src = `${CONTAINER_C}:vfio_ioctl_set_iommu`;
    if (c.groups.length === 0 || c.iommuDriver) {
        fail('EINVAL', c.iommuDriver ? `container ${c.id} already uses the ${c.iommuDriver} IOMMU driver` : `container ${c.id} has no group yet: VFIO_GROUP_SET_CONTAINER a group first`, src);
    }
    const noiommu = isNoiommuContainer(k, c);
    if (!noiommu) {
        if (type1CheckExtension(k, undefined, arg) <= 0n) {
            fail('ENODEV', `no VFIO IOMMU driver supports type ${arg} here (type1 offers VFIO_TYPE1_IOMMU and VFIO_TYPE1v2_IOMMU)`, src);
        }
        const saved = c.type1;
        c.type1 = type1Open(k, arg);
        try {
            for (const g of c.groups) {
                type1AttachGroup(k, c, getGroupOf(k, g));
            }
        } catch (e) {
            c.type1 = saved;
            throw e;
        }
        c.iommuDriver = 'type1';
        return;
    }
    if (!(k.config.params.enableUnsafeNoiommuMode && arg === VFIO_NOIOMMU_IOMMU)) {
        fail('ENODEV', `a noiommu container only takes VFIO_NOIOMMU_IOMMU`, src);
    }
    if (!capable(proc, 'CAP_SYS_RAWIO')) {
        fail('EPERM', `${proc.name} lacks CAP_SYS_RAWIO, which the noiommu backend requires`, `${CONTAINER_C}:vfio_noiommu_open`);
    }
    c.iommuDriver = 'noiommu';
}

function getGroupOf(k: KernelState, id: number): VfioGroup {
    const g = k.vfio.groups.get(id);
    if (!g) {
        throw new Error(`engine invariant: vfio_group ${id} does not exist`);
    }
    return g;
}

/** `vfio_fops_unl_ioctl`. */
export function vfio_container_ioctl(k: KernelState, proc: Process, c: VfioContainer, call: IoctlCall): IoctlOut {
    switch (call.def.name) {
        case 'VFIO_GET_API_VERSION':
            return { ret: VFIO_API_VERSION };
        case 'VFIO_CHECK_EXTENSION':
            return { ret: checkExtension(k, c, call.value ?? 0n) };
        case 'VFIO_SET_IOMMU':
            setIommu(k, proc, c, call.value ?? 0n);
            return {};
        default:
            if (!c.iommuDriver) {
                fail('EINVAL', `container ${c.id} has no IOMMU driver yet (VFIO_SET_IOMMU): ${call.def.name} is refused`, `${CONTAINER_C}:vfio_fops_unl_ioctl`);
            }
            if (c.iommuDriver === 'noiommu') {
                fail('ENOTTY', `the noiommu backend has no ${call.def.name}`, `${CONTAINER_C}:vfio_noiommu_ioctl`);
            }
            return type1Ioctl(k, proc, c, call);
    }
}

/**
 * `vfio_container_attach_group` (VFIO_GROUP_SET_CONTAINER with a container fd): claims DMA
 * ownership of a real group (EPERM while a kernel driver uses it), and attaches it to the
 * backend if one is set.
 */
export function vfio_container_attach_group(k: KernelState, proc: Process, c: VfioContainer, group: VfioGroup): void {
    const src = `${CONTAINER_C}:vfio_container_attach_group`;
    if (group.type === 'noiommu' && !capable(proc, 'CAP_SYS_RAWIO')) {
        fail('EPERM', `noiommu group ${group.iommuGroup} needs CAP_SYS_RAWIO`, src);
    }
    if (c.groups.length > 0 && isNoiommuContainer(k, c) !== (group.type === 'noiommu')) {
        fail('EPERM', `container ${c.id} holds ${isNoiommuContainer(k, c) ? 'noiommu' : 'IOMMU-backed'} groups: real and fake groups cannot mix`, src);
    }
    if (group.type === 'iommu') {
        iommu_group_claim_dma_owner(k, group.iommuGroup!, { kind: 'vfio-group', group: group.iommuGroup! });
    }
    if (c.iommuDriver === 'type1') {
        try {
            type1AttachGroup(k, c, group);
        } catch (e) {
            if (group.type === 'iommu') {
                iommu_group_release_dma_owner(k, group.iommuGroup!);
            }
            throw e;
        }
    }
    group.container = c.id;
    group.container_users = 1;
    c.groups.push(group.id);
}

/**
 * `vfio_group_detach_container`: detach from the backend, release DMA ownership; the last group
 * out deprivileges the container (its IOMMU driver is released, SET_IOMMU is needed again).
 */
export function vfio_group_detach_container(k: KernelState, group: VfioGroup): void {
    const c = getContainer(k, group.container!);
    if (c.iommuDriver === 'type1') {
        type1DetachGroup(k, c, group);
    }
    if (group.type === 'iommu' && group.iommuGroup !== null) {
        iommu_group_release_dma_owner(k, group.iommuGroup);
    }
    group.container = undefined;
    group.container_users = 0;
    c.groups = c.groups.filter((g) => g !== group.id);
    if (c.groups.length === 0 && c.iommuDriver) {
        if (c.iommuDriver === 'type1') {
            type1Release(k, c);
        }
        c.iommuDriver = undefined;
        c.type1 = undefined;
    }
    // The container's kref: its file and each attached group.
    if (c.groups.length === 0 && !c.fileOpen) {
        k.vfio.containers.delete(c.id);
    }
}

/** `vfio_fops_release`: drops the file's reference; attached groups keep the container alive. */
export function vfio_container_release(k: KernelState, c: VfioContainer): void {
    c.fileOpen = false;
    if (c.groups.length === 0) {
        k.vfio.containers.delete(c.id);
    }
}
