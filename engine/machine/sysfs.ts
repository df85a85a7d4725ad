/**
 * sysfs operations on devices: driver bind/unbind (`drivers/base/bus.c`, `dd.c`), SR-IOV
 * (`drivers/pci/iov.c:sriov_numvfs_store`) and mdev creation. Binding runs the probe path Linux
 * runs: `pci_dma_configure` (DMA ownership for DMA-API drivers), then the driver's probe (vfio-pci
 * registers a VFIO device).
 */

import type { WaitCondition } from '../errno.js';
import { fail } from '../errno.js';
import { getGroup, iommu_device_unuse_default_domain, iommu_device_use_default_domain, setupDefaultDomain } from '../iommu/core.js';
import { iommu_sva_drop_device } from '../iommu/sva.js';
import type { Device, IommuGroup, KernelState, PciDev, Process } from '../state.js';
import type { MdevKind } from './spec.js';
import { initialVfToken, vfio_pci_probe_check } from '../vfio/vfio-pci.js';
import { vfio_register_dev, vfio_unregister_dev } from '../vfio/vfio-main.js';
import { driverInfo, vfDriverOf } from './drivers.js';
import { probeGroups, virtfnDevices } from './groups.js';

const DD_C = 'drivers/base/dd.c';
const BUS_C = 'drivers/base/bus.c';

export type SysfsResult = { readonly done: true } | { readonly done: false; readonly waitingFor: string; readonly condition: WaitCondition };

const DONE: SysfsResult = { done: true };

function requireRoot(proc: Process, path: string): void {
    // sysfs driver and SR-IOV attributes are root-only (mode 0200/0644 owned by root).
    if (proc.uid !== 0) {
        fail('EACCES', `${proc.name} (uid ${proc.uid}) cannot write ${path}: only root can`, 'fs/kernfs/file.c:kernfs_fop_open');
    }
}

export function findDevice(k: KernelState, name: string): Device | undefined {
    return k.devices.get(name);
}

/** `echo BDF > /sys/bus/pci/drivers/DRIVER/bind` (the engine assumes `driver_override` let it match). */
export function sysfs_bind(k: KernelState, proc: Process, name: string, driver: string): void {
    const dev = findDevice(k, name);
    const bus = dev?.bus === 'platform' ? 'platform' : 'pci';
    const path = `/sys/bus/${bus}/drivers/${driver}/bind`;
    requireRoot(proc, path);
    if (!dev || dev.bus === 'mdev') {
        fail('ENODEV', `no ${bus} device ${name} exists${dev?.bus === 'mdev' ? ' (mdevs bind to their parent\'s mdev driver)' : ''}`, `${BUS_C}:bind_store`);
    }
    const info = driverInfo(driver);
    if (!info.buses.includes(dev.bus as 'pci' | 'platform')) {
        fail('ENODEV', `${driver} is not a ${dev.bus} driver: it does not match ${dev.devName}`, `${BUS_C}:bind_store`);
    }
    if (dev.driver !== null) {
        fail('EBUSY', `${dev.devName} (${dev.name}) is already bound to ${dev.driver}: unbind it first`, `${DD_C}:__driver_probe_device`);
    }
    driverProbe(k, dev, driver);
}

/** `really_probe`: dma_configure, then the driver's probe; any failure leaves the device unbound. */
function driverProbe(k: KernelState, dev: Device, driver: string): void {
    const info = driverInfo(driver);
    if (!info.driverManagedDma) {
        // pci_dma_configure → iommu_device_use_default_domain
        iommu_device_use_default_domain(k, dev, driver);
    }
    if (info.vfio === 'pci') {
        vfio_pci_probe_check(k, dev);
        vfio_register_dev(k, dev, false);
        if (dev.pci && (dev.pci.sriovTotal ?? 0) > 0) {
            k.vfio.devices.get(dev.name)!.vfToken = { uuid: initialVfToken(dev), users: 0 };
        }
    } else if (info.vfio === 'platform') {
        vfio_register_dev(k, dev, false);
    }
    dev.driver = driver;
}

/**
 * `echo BDF > /sys/bus/pci/devices/BDF/driver/unbind`: removes the driver. A VFIO driver's
 * remove sleeps until every file of the device is closed.
 */
export function sysfs_unbind(k: KernelState, proc: Process, name: string): SysfsResult {
    const dev = findDevice(k, name);
    if (!dev || dev.driver === null) {
        fail('ENOENT', dev ? `${dev.devName} (${dev.name}) has no driver: .../driver/unbind does not exist` : `no device ${name} exists`, 'fs/namei.c:path_openat');
    }
    requireRoot(proc, `/sys/bus/${dev.bus}/devices/${dev.devName}/driver/unbind`);
    return deviceReleaseDriver(k, dev);
}

/** `device_release_driver`: the driver's remove, then DMA cleanup. */
function deviceReleaseDriver(k: KernelState, dev: Device): SysfsResult {
    const driver = dev.driver!;
    const info = driverInfo(driver);
    // A parent driver's remove calls mdev_unregister_parent, which removes every mdev it
    // created (mdev_device_remove_cb); an mdev whose VFIO fd is open makes that sleep.
    const removed = removeMdevsOf(k, dev);
    if (!removed.done) {
        return removed;
    }
    // PF drivers disable SR-IOV on remove (vfio_pci_core_unregister_device, ixgbe_remove...).
    if ((dev.pci?.sriovNumVfs ?? 0) > 0) {
        const r = disableSriov(k, dev);
        if (!r.done) {
            return r;
        }
    }
    // An mdev's driver is its parent's VFIO mdev driver: its remove unregisters the vfio_device.
    if (info.vfio !== false || dev.bus === 'mdev') {
        const r = vfio_unregister_dev(k, dev);
        if (!r.done) {
            return r;
        }
    }
    // The mdev bus has no dma_configure/dma_cleanup: no default-domain use to give back.
    if (!info.driverManagedDma && dev.bus !== 'mdev') {
        // The driver's remove unbinds the address spaces it bound for SVA.
        iommu_sva_drop_device(k, dev.name);
        iommu_device_unuse_default_domain(k, dev);
    }
    dev.driver = null;
    return DONE;
}

/**
 * `mdev_unregister_parent` → `mdev_device_remove`: each mdev of `parent` is unregistered from
 * VFIO (`vfio_unregister_group_dev`, sleeping while its fds are open) and deleted; an emulated
 * mdev's own IOMMU group goes with it, an IOMMU-backed one leaves its parent's group.
 */
function removeMdevsOf(k: KernelState, parent: Device): SysfsResult {
    const children = [...k.devices.values()].filter((d) => d.mdev?.parent === parent.name);
    for (const child of children) {
        const r = vfio_unregister_dev(k, child);
        if (!r.done) {
            return r;
        }
        if (child.mdev?.kind === 'iommu-backed' && child.group !== undefined) {
            const g = getGroup(k, child.group);
            g.devices = g.devices.filter((n) => n !== child.name);
        }
        k.devices.delete(child.name);
        k.devicesByDevName.delete(child.devName);
    }
    return DONE;
}

/** `sriov_numvfs_store`. */
export function sysfs_sriov_numvfs(k: KernelState, proc: Process, name: string, numvfs: bigint): SysfsResult {
    const src = 'drivers/pci/iov.c:sriov_numvfs_store';
    const dev = findDevice(k, name);
    const pci = dev?.pci;
    if (!dev || !pci || (pci.sriovTotal ?? 0) === 0) {
        fail('ENOENT', dev ? `${dev.devName} (${dev.name}) has no SR-IOV capability: sriov_numvfs does not exist` : `no device ${name} exists`, 'fs/namei.c:path_openat');
    }
    requireRoot(proc, `/sys/bus/pci/devices/${dev.devName}/sriov_numvfs`);
    if (numvfs < 0n || numvfs > 0xffffn) {
        fail('EINVAL', `${numvfs} is not a u16`, src);
    }
    const total = pci.sriovTotal ?? 0;
    const n = Number(numvfs);
    if (n > total) {
        fail('ERANGE', `${dev.devName} (${dev.name}) supports at most ${total} VFs (TotalVFs), not ${n}`, src);
    }
    const current = pci.sriovNumVfs ?? 0;
    if (n === current) {
        return DONE;
    }
    if (dev.driver === null) {
        fail('ENOENT', `${dev.devName} (${dev.name}) has no driver bound: cannot configure SR-IOV`, src);
    }
    if (dev.driver === 'pci-stub' || dev.driver === 'pcieport') {
        fail('ENOENT', `${dev.driver} does not support SR-IOV configuration via sysfs`, src);
    }
    if (n === 0) {
        return disableSriov(k, dev);
    }
    if (current > 0) {
        fail('EBUSY', `${dev.devName} (${dev.name}) already has ${current} VFs enabled: disable them (numvfs 0) before enabling ${n}`, src);
    }
    enableSriov(k, dev, n);
    return DONE;
}

function setPci(dev: Device, patch: Partial<PciDev>): void {
    (dev as { pci?: PciDev }).pci = { ...dev.pci!, ...patch };
}

/** `pci_enable_sriov` → `pci_iov_add_virtfn` for each VF: the VFs appear, are probed for groups, and are bound to vfio-pci (PF on vfio-pci) or to the PF driver's VF driver. */
function enableSriov(k: KernelState, pf: Device, n: number): void {
    const vfs = virtfnDevices(pf.name, pf.pci!, pf.iommu, n);
    const existing = new Map([...k.devices.values()].map((d) => [d.name, { pci: d.pci, group: d.group }] as const));
    for (const vf of vfs) {
        if (k.devices.has(vf.name) || k.devicesByDevName.has(vf.devName)) {
            fail('EBUSY', `VF ${vf.name} (${vf.devName}) collides with an existing device`, 'drivers/pci/iov.c:pci_iov_add_virtfn');
        }
    }
    // The AMD southbridge ACS quirk depends on the machine having an AMD IOMMU (an IVRS table).
    const ivrs = [...k.iommus.values()].some((u) => u.kind === 'amd-vi');
    const groups = probeGroups(vfs.map((v) => ({ name: v.name, pci: v.pci, iommu: v.iommu })), existing, new Set(k.groups.keys()), { ivrs });
    for (const vf of vfs) {
        const dev: Device = {
            name: vf.name, devName: vf.devName, bus: 'pci', pci: vf.pci, driver: null, iommu: vf.iommu,
            maxPasids: pf.maxPasids, noSnoop: pf.noSnoop, pasids: new Map(),
        };
        k.devices.set(dev.name, dev);
        k.devicesByDevName.set(dev.devName, dev.name);
        addToGroup(k, dev, groups.get(vf.name));
    }
    setPci(pf, { sriovNumVfs: n });
    // pci_bus_add_device → device_attach: vfio_pci_bus_notifier has set driver_override on the VFs
    // of a vfio-pci PF, so they probe into vfio-pci; otherwise the VF driver matching the PF's
    // (ixgbe → ixgbevf) claims them, sriov_drivers_autoprobe being 1 (pci_device_can_probe).
    const vfDriver = pf.driver === null ? undefined : driverInfo(pf.driver).vfio === 'pci' ? pf.driver : vfDriverOf(pf.driver);
    if (vfDriver !== undefined) {
        for (const vf of vfs) {
            try {
                driverProbe(k, k.devices.get(vf.name)!, vfDriver);
            } catch {
                // an autoprobe failure leaves the VF unbound, as the driver core ignores it
            }
        }
    }
}

/** Adds a probed device to its group, creating the group (and its default domain) if new. */
export function addToGroup(k: KernelState, dev: Device, groupId: number | undefined): void {
    if (groupId === undefined) {
        return;
    }
    let group = k.groups.get(groupId);
    if (!group) {
        group = {
            id: groupId, devices: [], iommu: dev.iommu, owner_cnt: 0, owner: null, domain: -1, default_domain: -1,
            pasid_array: new Map(),
        } satisfies IommuGroup;
        k.groups.set(groupId, group);
        group.devices.push(dev.name);
        dev.group = groupId;
        setupDefaultDomain(k, group);
        return;
    }
    group.devices.push(dev.name);
    dev.group = groupId;
}

/** `pci_disable_sriov`: every VF is removed (its driver unbound first; a VF open through VFIO makes this sleep). */
function disableSriov(k: KernelState, pf: Device): SysfsResult {
    const vfs = [...k.devices.values()].filter((d) => d.pci?.physfn === pf.name);
    for (const vf of vfs) {
        if (vf.driver !== null) {
            const r = deviceReleaseDriver(k, vf);
            if (!r.done) {
                return r;
            }
        }
    }
    for (const vf of vfs) {
        removeDevice(k, vf);
    }
    setPci(pf, { sriovNumVfs: 0 });
    return DONE;
}

/** `iommu_release_device` + `device_del`: the group loses the device; an empty group is freed (its id returns to the IDA). */
function removeDevice(k: KernelState, dev: Device): void {
    if (dev.group !== undefined) {
        const g = getGroup(k, dev.group);
        g.devices = g.devices.filter((n) => n !== dev.name);
        if (g.devices.length === 0) {
            for (const d of [g.default_domain, g.blocking_domain]) {
                if (d !== undefined) {
                    k.domains.delete(d);
                }
            }
            k.groups.delete(g.id);
        }
    }
    k.devices.delete(dev.name);
    k.devicesByDevName.delete(dev.devName);
}

/** A deterministic UUID for an mdev (real ones are chosen by whoever creates them). */
function mdevUuid(name: string): string {
    let h1 = 0x9e3779b9;
    let h2 = 0x85ebca6b;
    for (const c of name) {
        h1 = Math.imul(h1 ^ c.charCodeAt(0), 0x01000193) >>> 0;
        h2 = Math.imul(h2 + c.charCodeAt(0), 0x5bd1e995) >>> 0;
    }
    const a = h1.toString(16).padStart(8, '0');
    const b = h2.toString(16).padStart(8, '0');
    return `${a}-${b.slice(0, 4)}-4${b.slice(4, 7)}-8${a.slice(1, 4)}-${b}${a.slice(0, 4)}`;
}

/**
 * Creates a mediated device (`echo UUID > .../mdev_supported_types/TYPE/create`): the parent's
 * kernel driver must offer mdev types. Emulated mdevs register with VFIO on a group of their
 * own; PASID slices are VFIO devices without a group (they DMA with the parent's requester ID);
 * IOMMU-backed mdevs join their parent function's IOMMU group.
 */
export function createMdev(k: KernelState, proc: Process | undefined, name: string, parentName: string, kind: MdevKind): void {
    const parent = findDevice(k, parentName);
    if (!parent || parent.driver === null || driverInfo(parent.driver).vfio !== false || driverInfo(parent.driver).driverManagedDma) {
        fail('ENOENT', parent
            ? `${parent.devName} (${parent.name}) is ${parent.driver === null ? 'unbound' : `bound to ${parent.driver}`}: only a kernel driver that offers mdev types has .../mdev_supported_types`
            : `no device ${parentName} exists`, 'fs/namei.c:path_openat');
    }
    if (proc) {
        requireRoot(proc, `/sys/bus/pci/devices/${parent.devName}/mdev_supported_types/*/create`);
    }
    if (k.devices.has(name)) {
        fail('EEXIST', `a device named ${name} already exists`, 'drivers/vfio/mdev/mdev_core.c:mdev_device_create');
    }
    if (kind === 'iommu-backed' && parent.group === undefined) {
        fail('EINVAL', `${parent.name} has no IOMMU group: an IOMMU-backed mdev needs a parent function behind an IOMMU`, 'drivers/vfio/mdev/mdev_core.c:mdev_device_create');
    }
    const dev: Device = {
        name, devName: mdevUuid(name), bus: 'mdev', driver: `${parent.driver}-mdev`,
        iommu: kind === 'emulated' ? undefined : parent.iommu,
        maxPasids: kind === 'pasid' ? parent.maxPasids : 0, noSnoop: parent.noSnoop,
        mdev: { kind, parent: parent.name }, pasids: new Map(),
    };
    k.devices.set(name, dev);
    k.devicesByDevName.set(dev.devName, name);
    if (kind === 'emulated') {
        vfio_register_dev(k, dev, true);
    } else if (kind === 'iommu-backed') {
        const g = getGroup(k, parent.group!);
        g.devices.push(name);
        dev.group = g.id;
        vfio_register_dev(k, dev, false);
    } else {
        registerPasidSlice(k, dev);
    }
}

/** A PASID slice is a VFIO device (it has a cdev) with no VFIO group of its own. */
function registerPasidSlice(k: KernelState, dev: Device): void {
    const used = new Set([...k.vfio.devices.values()].map((d) => d.cdevIndex));
    let i = 0;
    while (used.has(i)) {
        i++;
    }
    k.vfio.devices.set(dev.name, {
        device: dev.name, group: -1, cdevIndex: i, open_count: 0, files: 0, unregistering: false, pasids: new Map(),
    });
}

export { driverProbe };
