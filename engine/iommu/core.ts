/**
 * The IOMMU core's group rules (`drivers/iommu/iommu.c`): default domains, DMA ownership by
 * kernel drivers (`owner_cnt`) versus a user owner (VFIO group, iommufd), and switching a
 * group between its default, blocking and user domains. Every domain change applies to the whole
 * group, which is why the group is the unit of isolation.
 */

import { fail } from '../errno.js';
import { driverInfo } from '../machine/drivers.js';
import type { Device, DmaOwner, IommuDomain, IommuGroup, KernelState } from '../state.js';
import { describeDomain, domainAllocPaging, domainAllocSpecial, domainIncompatibility, getDomain } from './domain.js';
import { nestedIotlbInvalidate } from './dma-nested.js';

const IOMMU_C = 'drivers/iommu/iommu.c';

export function getGroup(k: KernelState, id: number): IommuGroup {
    const g = k.groups.get(id);
    if (!g) {
        throw new Error(`engine invariant: iommu_group ${id} does not exist`);
    }
    return g;
}

export function getDevice(k: KernelState, name: string): Device {
    const d = k.devices.get(name);
    if (!d) {
        throw new Error(`engine invariant: device ${name} does not exist`);
    }
    return d;
}

export function describeOwner(owner: DmaOwner | null): string {
    if (!owner) {
        return 'the kernel DMA API';
    }
    return owner.kind === 'vfio-group' ? `VFIO group ${owner.group}` : `iommufd ${owner.ctx}`;
}

function sameOwner(a: DmaOwner | null, b: DmaOwner): boolean {
    return !!a && a.kind === b.kind && (a.kind === 'vfio-group' ? a.group === (b as typeof a).group : a.ctx === (b as { ctx: number }).ctx);
}

/** Devices of the group bound to DMA-API drivers: what makes it non-viable, for reasons. */
export function kernelDriverUsers(k: KernelState, group: IommuGroup): Device[] {
    return group.devices.map((n) => getDevice(k, n)).filter((d) => d.driver !== null && !isDriverManagedDma(d.driver));
}


function isDriverManagedDma(driver: string): boolean {
    return driverInfo(driver).driverManagedDma;
}

function describeKernelUsers(k: KernelState, group: IommuGroup): string {
    const users = kernelDriverUsers(k, group);
    if (users.length === 0) {
        return '';
    }
    return users.map((d) => `${d.devName} (${d.name}) is bound to ${d.driver}`).join(', ');
}

/**
 * `iommu_setup_default_domain`: a group's default domain is identity with `iommu=pt`, otherwise a
 * DMA-API paging domain in the driver's default format (allocated with ALLOC_PASID when the
 * first device can do PASID: on AMD that makes it a v2 table).
 */
export function setupDefaultDomain(k: KernelState, group: IommuGroup): void {
    const first = getDevice(k, group.devices[0]!);
    const unit = k.iommus.get(first.iommu!)!;
    let domain: IommuDomain;
    if (k.config.params.passthrough) {
        domain = domainAllocSpecial(k, unit, 'identity', `default domain of group ${group.id}`);
    } else {
        domain = domainAllocPaging(k, first, { pasid: first.maxPasids > 0 }, `default domain of group ${group.id}`, 'dma');
    }
    group.default_domain = domain.id;
    group.domain = domain.id;
}

/**
 * `iommu_device_use_default_domain`, called by `pci_dma_configure` before a driver without
 * `driver_managed_dma` probes: fails with EBUSY once the group is owned by a user.
 */
export function iommu_device_use_default_domain(k: KernelState, dev: Device, driver: string): void {
    if (dev.group === undefined) {
        return;
    }
    const group = getGroup(k, dev.group);
    if (group.owner_cnt > 0 && (group.domain !== group.default_domain || group.owner || group.pasid_array.size > 0)) {
        const why = group.owner
            ? `its group ${group.id} is owned by ${describeOwner(group.owner)}`
            : group.pasid_array.size > 0
                ? `its group ${group.id} has PASIDs attached`
                : `its group ${group.id} is attached to ${describeDomain(getDomain(k, group.domain))}`;
        fail('EBUSY', `${driver} cannot probe ${dev.devName} (${dev.name}): ${why}`, `${IOMMU_C}:iommu_device_use_default_domain`);
    }
    group.owner_cnt++;
}

/** `iommu_device_unuse_default_domain`, when a DMA-API driver is removed. */
export function iommu_device_unuse_default_domain(k: KernelState, dev: Device): void {
    if (dev.group === undefined) {
        return;
    }
    const group = getGroup(k, dev.group);
    if (group.owner_cnt > 0) {
        group.owner_cnt--;
    }
}

function blockingDomain(k: KernelState, group: IommuGroup): number {
    if (group.blocking_domain === undefined) {
        const unit = k.iommus.get(group.iommu ?? '')!;
        group.blocking_domain = domainAllocSpecial(k, unit, 'blocked', `blocking domain of group ${group.id}`).id;
    }
    return group.blocking_domain;
}

/**
 * `__iommu_group_set_domain`: switches every device of the group. A device whose firmware
 * requires a direct mapping (an RMRR) refuses the blocking domain.
 */
function setGroupDomain(k: KernelState, group: IommuGroup, domainId: number, src: string): void {
    const domain = getDomain(k, domainId);
    if (domain.type === 'blocked') {
        for (const name of group.devices) {
            const dev = getDevice(k, name);
            if (dev.pci?.requireDirect) {
                fail('EINVAL', `${dev.devName} (${dev.name}) has an RMRR: firmware requires a 1:1 mapping, so group ${group.id} cannot be blocked`, `${IOMMU_C}:__iommu_device_set_domain`);
            }
        }
    } else if (domain.type === 'paging' || domain.type === 'nested') {
        for (const name of group.devices) {
            const dev = getDevice(k, name);
            const why = domainIncompatibility(k, domain.type === 'nested' ? getDomain(k, domain.parent!) : domain, dev);
            if (why) {
                fail('EINVAL', `${dev.devName} (${dev.name}) cannot use ${describeDomain(domain)}: ${why}`, src);
            }
        }
    }
    if (domain.type === 'nested' && group.domain !== domainId) {
        // Attaching assigns the domain's cache tags afresh (`cache_tag_assign_domain`): a
        // re-attached nested domain starts with no stale IOTLB entries.
        nestedIotlbInvalidate(k, [domainId], 'all');
    }
    group.domain = domainId;
}

/**
 * `__iommu_take_dma_ownership`: the group must still be on its default domain with no PASIDs;
 * it is switched to the blocking domain (all DMA faults) and the owner recorded.
 */
function takeDmaOwnership(k: KernelState, group: IommuGroup, owner: DmaOwner): void {
    if (group.domain !== group.default_domain || group.pasid_array.size > 0) {
        const why = group.pasid_array.size > 0 ? 'has PASIDs attached (kernel SVA?)' : `is attached to ${describeDomain(getDomain(k, group.domain))}`;
        fail('EBUSY', `group ${group.id} ${why}`, `${IOMMU_C}:__iommu_take_dma_ownership`);
    }
    setGroupDomain(k, group, blockingDomain(k, group), `${IOMMU_C}:__iommu_take_dma_ownership`);
    group.owner = owner;
    group.owner_cnt++;
}

/** `iommu_group_claim_dma_owner` (legacy VFIO container attach): EPERM while any kernel driver uses the group. */
export function iommu_group_claim_dma_owner(k: KernelState, groupId: number, owner: DmaOwner): void {
    const group = getGroup(k, groupId);
    if (group.owner_cnt > 0) {
        const users = describeKernelUsers(k, group);
        const why = group.owner ? `it is owned by ${describeOwner(group.owner)}` : users || 'a kernel driver uses it';
        fail('EPERM', `group ${group.id} is not viable: ${why}`, `${IOMMU_C}:iommu_group_claim_dma_owner`);
    }
    takeDmaOwnership(k, group, owner);
}

/** `iommu_device_claim_dma_owner` (iommufd bind): the same owner may claim again (several devices of one group in one iommufd). */
export function iommu_device_claim_dma_owner(k: KernelState, dev: Device, owner: DmaOwner): void {
    if (dev.group === undefined) {
        fail('ENODEV', `${dev.devName} (${dev.name}) has no IOMMU group`, `${IOMMU_C}:iommu_device_claim_dma_owner`);
    }
    const group = getGroup(k, dev.group);
    if (group.owner_cnt > 0) {
        if (!sameOwner(group.owner, owner)) {
            const users = describeKernelUsers(k, group);
            const why = group.owner ? `it is owned by ${describeOwner(group.owner)}` : users || 'a kernel driver uses it';
            fail('EPERM', `group ${group.id} of ${dev.devName} (${dev.name}) is not viable: ${why}`, `${IOMMU_C}:iommu_device_claim_dma_owner`);
        }
        group.owner_cnt++;
        return;
    }
    takeDmaOwnership(k, group, owner);
}

/** `__iommu_release_dma_ownership`: back to the default domain. */
function releaseDmaOwnership(k: KernelState, group: IommuGroup): void {
    group.owner_cnt = 0;
    group.owner = null;
    group.domain = group.default_domain;
}

export function iommu_group_release_dma_owner(k: KernelState, groupId: number): void {
    releaseDmaOwnership(k, getGroup(k, groupId));
}

export function iommu_device_release_dma_owner(k: KernelState, dev: Device): void {
    const group = getGroup(k, dev.group!);
    if (group.owner_cnt > 1) {
        group.owner_cnt--;
    } else {
        releaseDmaOwnership(k, group);
    }
}

/**
 * `iommu_attach_group`: only from the default or blocking domain (else EBUSY); the domain must
 * come from the same IOMMU driver (EINVAL) and each device's driver must accept it (EINVAL).
 */
export function iommu_attach_group(k: KernelState, domainId: number, groupId: number): void {
    const group = getGroup(k, groupId);
    const domain = getDomain(k, domainId);
    if (group.domain !== group.default_domain && group.domain !== group.blocking_domain) {
        fail('EBUSY', `group ${group.id} is already attached to ${describeDomain(getDomain(k, group.domain))}`, `${IOMMU_C}:__iommu_attach_group`);
    }
    const first = getDevice(k, group.devices[0]!);
    const unit = first.iommu ? k.iommus.get(first.iommu) : undefined;
    if (!unit || unit.kind !== domain.kind) {
        fail('EINVAL', `${describeDomain(domain)} belongs to another IOMMU driver than group ${group.id}`, `${IOMMU_C}:__iommu_attach_group`);
    }
    setGroupDomain(k, group, domainId, `${IOMMU_C}:__iommu_attach_group`);
}

/** `iommu_group_replace_domain` (iommufd replace): no "from default only" rule. */
export function iommu_group_replace_domain(k: KernelState, groupId: number, domainId: number): void {
    setGroupDomain(k, getGroup(k, groupId), domainId, `${IOMMU_C}:iommu_group_replace_domain`);
}

/** `__iommu_group_set_core_domain`: detach goes to the blocking domain while owned, else the default. */
export function iommu_detach_group(k: KernelState, groupId: number): void {
    const group = getGroup(k, groupId);
    group.domain = group.owner ? blockingDomain(k, group) : group.default_domain;
}

export function groupOwnedBy(group: IommuGroup, owner: DmaOwner): boolean {
    return sameOwner(group.owner, owner);
}

/** The IOMMU group's MSIs are isolated: interrupt remapping (x86) or an ITS (ARM). */
export function iommu_group_has_isolated_msi(k: KernelState, group: IommuGroup): boolean {
    // x86 interrupt remapping is all or nothing: intel_prepare_irq_remapping (and AMD's
    // amd_iommu_prepare) turn it off unless every unit supports it, and arch_is_isolated_msi
    // then answers for the whole machine.
    const x86 = [...k.iommus.values()].filter((u) => u.kind === 'intel-vtd' || u.kind === 'amd-vi');
    const x86Remapping = x86.length > 0 && x86.every((u) => u.intrRemap);
    return group.devices.every((n) => {
        const d = getDevice(k, n);
        const unit = d.iommu ? k.iommus.get(d.iommu) : undefined;
        if (!unit) {
            return false;
        }
        return unit.kind === 'arm-smmu-v3' ? unit.intrRemap : x86Remapping;
    });
}
