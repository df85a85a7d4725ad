/**
 * Attaching domains to PASIDs (`drivers/iommu/iommu.c:iommu_attach_device_pasid`,
 * `iommu_replace_device_pasid`, `iommu_detach_device_pasid`). PASIDs are a per-group namespace:
 * the group's `pasid_array` says which domain each PASID uses, and every PASID-capable device
 * of the group gets the entry in its PASID table (what DMA with a PASID translates through).
 * Each function checks everything before it changes anything, so a failure leaves no trace.
 */

import { fail } from '../errno.js';
import type { Device, IommuDomain, IommuGroup, KernelState, PasidAttachment, PasidEntry } from '../state.js';
import { getDevice, getGroup } from './core.js';
import { describeDomain, domainIncompatibility, getDomain } from './domain.js';
import { nestedIotlbInvalidate } from './dma-nested.js';

const IOMMU_C = 'drivers/iommu/iommu.c';
/** `IOMMU_NO_PASID`: requests without a PASID use the RID's domain. */
export const IOMMU_NO_PASID = 0;

function who(dev: Device): string {
    return `${dev.devName} (${dev.name})`;
}

/** The PASID table entry a domain is programmed as (VT-d PGTT: 1 first stage, 2 second stage, 3 nested, 4 pass-through). */
export function pasidEntryFor(domain: IommuDomain): PasidEntry {
    if (domain.type === 'nested') {
        return { domain: domain.id, pgtt: 3, ssade: false };
    }
    if (domain.type === 'identity') {
        return { domain: domain.id, pgtt: 4, ssade: false };
    }
    const second = domain.format === 'vtd-ss' || domain.format === 'arm-lpae-s2' || domain.format === 'amd-v1';
    return { domain: domain.id, pgtt: second ? 2 : 1, ssade: second && domain.dirtyTracking };
}

/** Why the driver's `set_dev_pasid` cannot take this domain type at all (EOPNOTSUPP), or undefined. */
function setDevPasidUnsupported(domain: IommuDomain): string | undefined {
    switch (domain.kind) {
        case 'intel-vtd':
            // intel_iommu_set_dev_pasid (paging), intel_nested_set_dev_pasid, intel_svm_set_dev_pasid.
            return domain.type === 'paging' || domain.type === 'dma' || domain.type === 'nested' || domain.type === 'sva' || domain.type === 'blocked'
                ? undefined : `VT-d cannot attach ${describeDomain(domain)} to a PASID`;
        case 'amd-vi':
            // Only SVA domains have set_dev_pasid in the AMD driver.
            return domain.type === 'sva' || domain.type === 'blocked' ? undefined : `the AMD IOMMU driver attaches only SVA domains to PASIDs, not ${describeDomain(domain)}`;
        case 'arm-smmu-v3':
            // arm_smmu_s1_set_dev_pasid: stage-1 paging domains and SVA.
            return domain.type === 'sva' || domain.type === 'blocked' || ((domain.type === 'paging' || domain.type === 'dma') && domain.format === 'arm-lpae-s1')
                ? undefined : `the SMMUv3 driver attaches only stage-1 paging and SVA domains to PASIDs, not ${describeDomain(domain)}`;
    }
}

/** The checks shared by attach and replace, in `iommu_attach_device_pasid`'s order. */
function checkPasidDomain(k: KernelState, domain: IommuDomain, dev: Device, pasid: number, src: string): IommuGroup {
    if (dev.group === undefined) {
        fail('ENODEV', `${who(dev)} has no IOMMU group`, src);
    }
    const unsupported = setDevPasidUnsupported(domain);
    if (unsupported) {
        fail('EOPNOTSUPP', unsupported, src);
    }
    const unit = dev.iommu ? k.iommus.get(dev.iommu) : undefined;
    if (!unit || unit.kind !== domain.kind) {
        fail('EINVAL', `${describeDomain(domain)} belongs to another IOMMU driver than ${who(dev)}`, src);
    }
    if (pasid === IOMMU_NO_PASID) {
        fail('EINVAL', `PASID 0 is IOMMU_NO_PASID, the requester ID itself: it cannot be attached as a PASID`, src);
    }
    const group = getGroup(k, dev.group);
    for (const name of group.devices) {
        const d = getDevice(k, name);
        // Devices without PASID capability are skipped (since the 6.15 fix).
        if (d.maxPasids > 0 && pasid >= d.maxPasids) {
            fail('EINVAL', `PASID ${pasid} is beyond ${who(d)}'s ${d.maxPasids} PASIDs`, src);
        }
    }
    return group;
}

/** The driver's `set_dev_pasid` on every PASID-capable device of the group. */
function checkDriverSetDevPasid(k: KernelState, domain: IommuDomain, group: IommuGroup, src: string): void {
    for (const name of group.devices) {
        const d = getDevice(k, name);
        if (d.maxPasids === 0) {
            continue;
        }
        const unit = k.iommus.get(d.iommu!)!;
        if (unit.kind === 'intel-vtd' && (!unit.scalable || unit.maxPasids === 0)) {
            fail('EOPNOTSUPP', `${unit.name} has no PASID support (scalable mode with ecap.PASID)`, 'drivers/iommu/intel/iommu.c:intel_iommu_set_dev_pasid');
        }
        const paging = domain.type === 'nested' ? getDomain(k, domain.parent!) : domain;
        if (paging.type === 'paging' || paging.type === 'dma') {
            const why = domainIncompatibility(k, paging, d);
            if (why) {
                fail('EINVAL', `${who(d)} cannot use ${describeDomain(domain)}: ${why}`, src);
            }
        }
        if (domain.type === 'nested' && domain.nested?.dataType === 'vtd-s1') {
            // intel_pasid_setup_nested: SRE needs ecap.SRS, EAFE ecap.EAFS, a 5-level stage 1 cap.FL5LP.
            const s1 = domain.nested;
            const nsrc = 'drivers/iommu/intel/pasid.c:intel_pasid_setup_nested';
            if (s1.flags & 1n) {
                fail('EINVAL', `the stage-1 table asks for supervisor requests (IOMMU_VTD_S1_SRE) but ${unit.name} lacks ecap.SRS`, nsrc);
            }
            if (s1.flags & 2n) {
                fail('EINVAL', `the stage-1 table asks for the extended access flag (IOMMU_VTD_S1_EAFE) but ${unit.name} lacks ecap.EAFS`, nsrc);
            }
            if (s1.addressWidth === 57 && unit.addressWidth <= 48) {
                fail('EINVAL', `a 5-level (57-bit) stage-1 table needs cap.FL5LP, which ${unit.name} (${unit.addressWidth}-bit) lacks`, nsrc);
            }
        }
    }
}

function program(k: KernelState, group: IommuGroup, pasid: number, entry: PasidEntry): void {
    for (const name of group.devices) {
        const d = getDevice(k, name);
        if (d.maxPasids > 0) {
            d.pasids.set(pasid, entry);
        }
    }
}

/**
 * `iommu_attach_device_pasid`: ENODEV without a group, EOPNOTSUPP when the domain cannot serve
 * a PASID, EINVAL for another driver's domain, PASID 0 or a PASID beyond a device's width,
 * EBUSY when the group already has the PASID attached.
 */
export function iommu_attach_device_pasid(k: KernelState, domainId: number, dev: Device, pasid: number, by: PasidAttachment['by']): void {
    const src = `${IOMMU_C}:iommu_attach_device_pasid`;
    const domain = getDomain(k, domainId);
    const group = checkPasidDomain(k, domain, dev, pasid, src);
    const held = group.pasid_array.get(pasid);
    if (held) {
        const by = held.by.kind === 'sva' ? `${held.by.process}'s SVA bond` : `iommufd ${held.by.ctx}`;
        fail('EBUSY', `PASID ${pasid} of group ${group.id} (requester ID of ${who(dev)}) is already attached, by ${by}: PASIDs are a per-RID namespace`, src);
    }
    checkDriverSetDevPasid(k, domain, group, src);
    if (domain.type === 'nested') {
        nestedIotlbInvalidate(k, [domainId], 'all');
    }
    group.pasid_array.set(pasid, { domain: domainId, by });
    program(k, group, pasid, pasidEntryFor(domain));
}

/** `iommu_replace_device_pasid`: EINVAL when nothing is attached on the PASID; same domain is a no-op. */
export function iommu_replace_device_pasid(k: KernelState, domainId: number, dev: Device, pasid: number, by: PasidAttachment['by']): void {
    const src = `${IOMMU_C}:iommu_replace_device_pasid`;
    const domain = getDomain(k, domainId);
    const group = checkPasidDomain(k, domain, dev, pasid, src);
    const cur = group.pasid_array.get(pasid);
    if (!cur) {
        fail('EINVAL', `PASID ${pasid} of group ${group.id} has nothing attached to replace`, src);
    }
    if (cur.domain === domainId) {
        return;
    }
    checkDriverSetDevPasid(k, domain, group, src);
    group.pasid_array.set(pasid, { domain: domainId, by });
    program(k, group, pasid, pasidEntryFor(domain));
}

/** `iommu_detach_device_pasid`: the PASID goes to the blocked domain (its entry is cleared). */
export function iommu_detach_device_pasid(k: KernelState, dev: Device, pasid: number): void {
    if (dev.group === undefined) {
        return;
    }
    const group = getGroup(k, dev.group);
    group.pasid_array.delete(pasid);
    for (const name of group.devices) {
        getDevice(k, name).pasids.delete(pasid);
    }
}
