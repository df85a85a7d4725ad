/**
 * Shared Virtual Addressing (`drivers/iommu/iommu-sva.c`): a device's kernel driver binds a
 * process's address space; the process gets one PASID from the global allocator, the same on
 * every device it binds, and the IOMMU walks the process's own page table for that PASID.
 */

import { KernelError, fail } from '../errno.js';
import type { Device, KernelState, Process } from '../state.js';
import { driverInfo } from '../machine/drivers.js';
import { getGroup } from './core.js';
import { domainAllocSpecial } from './domain.js';

const SVA_C = 'drivers/iommu/iommu-sva.c';

function bondKey(device: string, process: string): string {
    return `${device}|${process}`;
}

/** `iommu_alloc_global_pasid`: the lowest free PASID in [1, max_pasids - 1]. */
function allocGlobalPasid(k: KernelState, dev: Device, holder: string): number | undefined {
    if (dev.maxPasids === 0) {
        return undefined;
    }
    for (let p = 1; p < dev.maxPasids; p++) {
        if (!k.globalPasids.has(p)) {
            k.globalPasids.set(p, holder);
            return p;
        }
    }
    return undefined;
}

/**
 * `iommu_sva_bind_device(dev, current->mm)`, called by the device's kernel driver. Returns the
 * PASID; or, when the bind fails after giving the mm its PASID (which the mm keeps for life, as
 * `iommu_alloc_mm_data` commits it), the error to report with that change kept.
 */
export function iommu_sva_bind_device(k: KernelState, proc: Process, name: string): number | KernelError {
    const dev = k.devices.get(name);
    if (!dev) {
        fail('ENODEV', `no device ${name} exists (yet)`, `${SVA_C}:iommu_sva_bind_device`);
    }
    const who = `${dev.devName} (${dev.name})`;
    if (dev.driver === null || driverInfo(dev.driver).vfio !== false) {
        fail('ENODEV', `${who} is ${dev.driver === null ? 'unbound' : `bound to ${dev.driver}`}: only its kernel driver can bind an address space (iommu_sva_bind_device)`, `${SVA_C}:iommu_sva_bind_device`);
    }
    if (dev.group === undefined) {
        fail('ENODEV', `${who} has no IOMMU group`, `${SVA_C}:iommu_sva_bind_device`);
    }
    // iommu_alloc_mm_data: the mm keeps one PASID for life, valid on every device it binds.
    let pasid = proc.mm.pasid;
    if (pasid !== undefined) {
        if (pasid >= dev.maxPasids) {
            fail('EOVERFLOW', `${proc.name}'s PASID ${pasid} is beyond ${who}'s ${dev.maxPasids} PASIDs`, `${SVA_C}:iommu_alloc_mm_data`);
        }
    } else {
        pasid = allocGlobalPasid(k, dev, proc.name);
        if (pasid === undefined) {
            fail('ENOSPC', dev.maxPasids === 0 ? `${who} has no PASID support: no global PASID can be allocated for it` : `the global PASID space of ${who} (${dev.maxPasids}) is exhausted`, `${SVA_C}:iommu_alloc_mm_data`);
        }
        proc.mm.pasid = pasid;
        try {
            return bindWithPasid(k, proc, dev, pasid, who);
        } catch (e) {
            if (e instanceof KernelError) {
                return e;
            }
            throw e;
        }
    }
    return bindWithPasid(k, proc, dev, pasid, who);
}

/** The rest of the bind, once the mm has its PASID: share an existing bond, or attach an SVA domain. */
function bindWithPasid(k: KernelState, proc: Process, dev: Device, pasid: number, who: string): number {
    const group = getGroup(k, dev.group!);
    const existing = k.svaBonds.get(bondKey(dev.name, proc.name));
    const slot = group.pasid_array.get(pasid);
    if (existing) {
        existing.users++;
        return pasid;
    }
    if (slot) {
        // iommu_attach_handle_get(group, pasid, SVA): the handle is per group. Another device of
        // this group already bound this mm: the bond is shared (refcount), not refused.
        if (slot.by.kind === 'sva' && slot.by.process === proc.name) {
            k.svaBonds.set(bondKey(dev.name, proc.name), { device: dev.name, process: proc.name, pasid, domain: slot.domain, users: 1 });
            return pasid;
        }
        fail('EBUSY', `PASID ${pasid} of group ${group.id} is already used by ${slot.by.kind === 'sva' ? `${slot.by.process}'s address space` : `iommufd ${slot.by.ctx}`}`, `${SVA_C}:iommu_sva_bind_device`);
    }
    const unit = k.iommus.get(dev.iommu!)!;
    if (!unit.sva) {
        fail('ENODEV', `${unit.name} is not SVA capable (no 'sva' feature)`, 'drivers/iommu/intel/svm.c:intel_iommu_sva_supported');
    }
    if (dev.pci && !dev.pci.ats) {
        fail('EINVAL', `${who} has no ATS: SVA needs the device to translate through ATS with PASID`, 'drivers/iommu/intel/svm.c:intel_iommu_sva_supported');
    }
    // An SVA domain per mm and IOMMU driver; devices behind the same unit share it.
    let domainId: number | undefined;
    for (const b of k.svaBonds.values()) {
        if (b.process === proc.name && k.domains.get(b.domain)?.iommu === unit.name) {
            domainId = b.domain;
        }
    }
    domainId ??= domainAllocSpecial(k, unit, 'sva', `SVA domain of ${proc.name}`, proc.name).id;
    group.pasid_array.set(pasid, { domain: domainId, by: { kind: 'sva', process: proc.name } });
    for (const n of group.devices) {
        const d = k.devices.get(n)!;
        if (d.maxPasids > 0) {
            d.pasids.set(pasid, { domain: domainId, pgtt: 1, ssade: false });
        }
    }
    k.svaBonds.set(bondKey(dev.name, proc.name), { device: dev.name, process: proc.name, pasid, domain: domainId, users: 1 });
    return pasid;
}

/** `iommu_sva_unbind_device`: the last unbind detaches the PASID; the mm keeps its PASID. */
export function iommu_sva_unbind_device(k: KernelState, proc: Process, name: string): void {
    const bond = k.svaBonds.get(bondKey(name, proc.name));
    if (!bond) {
        fail('ENOENT', `${name} has no SVA bond with ${proc.name}`, `${SVA_C}:iommu_sva_unbind_device`);
    }
    bond.users--;
    if (bond.users > 0) {
        return;
    }
    k.svaBonds.delete(bondKey(name, proc.name));
    const dev = k.devices.get(name)!;
    const group = getGroup(k, dev.group!);
    // The group's handle goes with its last user (another device of the group may share it).
    const shared = [...k.svaBonds.values()].some((b) => b.process === proc.name && b.pasid === bond.pasid && k.devices.get(b.device)?.group === group.id);
    if (shared) {
        return;
    }
    group.pasid_array.delete(bond.pasid);
    for (const n of group.devices) {
        k.devices.get(n)!.pasids.delete(bond.pasid);
    }
    if (![...k.svaBonds.values()].some((b) => b.domain === bond.domain)) {
        k.domains.delete(bond.domain);
    }
}

/**
 * Process exit: closing the driver fds that held SVA bonds unbinds them (`iommu_sva_unbind_device`
 * from the drivers' release), and the last `mmdrop` frees the mm's PASID (`mm_pasid_drop` →
 * `iommu_free_global_pasid`): it returns to the global allocator.
 */
export function iommu_sva_release_mm(k: KernelState, proc: Process): void {
    for (const bond of [...k.svaBonds.values()].filter((b) => b.process === proc.name)) {
        const b = k.svaBonds.get(bondKey(bond.device, proc.name));
        if (b) {
            b.users = 1;
            iommu_sva_unbind_device(k, proc, bond.device);
        }
    }
    if (proc.mm.pasid !== undefined) {
        k.globalPasids.delete(proc.mm.pasid);
        proc.mm.pasid = undefined;
    }
}

/**
 * A kernel driver's remove must drop every SVA bond it made on the device (its users' fds are
 * torn down with it): `iommu_device_unuse_default_domain` expects no PASID left attached.
 * The processes keep their PASIDs.
 */
export function iommu_sva_drop_device(k: KernelState, name: string): void {
    for (const bond of [...k.svaBonds.values()].filter((b) => b.device === name)) {
        const proc = k.processes.get(bond.process);
        const b = k.svaBonds.get(bondKey(name, bond.process));
        if (proc && b) {
            b.users = 1;
            iommu_sva_unbind_device(k, proc, name);
        }
    }
}
