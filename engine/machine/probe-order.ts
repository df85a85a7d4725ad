/**
 * The order in which boot probes devices into IOMMU groups, which fixes the group numbers
 * (`iommu_group_alloc` takes the lowest free id of a global IDA, in probe order).
 *
 * Reading of the kernel (drivers/iommu/iommu.c and the drivers):
 * - PCI devices already exist when the IOMMU drivers initialise (x86: `pci_iommu_init` runs after
 *   the ACPI host bridges were scanned; SMMUv3: `device_initcall` platform driver, after
 *   `acpi_init`/OF population), so groups come from `iommu_device_register`, not from the
 *   `BUS_NOTIFY_ADD_DEVICE` notifier.
 * - `iommu_device_register(unit)` runs `bus_iommu_probe` on each bus of `iommu_buses[]` in array
 *   order: `platform_bus_type` first, then `pci_bus_type` (then amba, fsl-mc, ...). Each walks its
 *   bus's device list (`bus_for_each_dev`, i.e. `device_add` order) and probes every device not
 *   yet in a group.
 * - The drivers refuse devices of units not registered yet: VT-d `intel_iommu_probe_device`
 *   returns -ENODEV when `!iommu->iommu.ops` ("Handle race between registration and device
 *   probe"), AMD `amd_iommu_probe_device` likewise ("Not registered yet?"), and an SMMUv3 master
 *   has no fwspec ops until its SMMU is in `iommu_device_list`; `probe_iommu_group` ignores
 *   -ENODEV. Those devices are probed when their own unit registers.
 * - Units register one by one: VT-d `intel_iommu_init` loops `for_each_active_iommu`, AMD
 *   `iommu_init_pci` per IVHD unit, SMMUv3 `arm_smmu_device_probe` per SMMU.
 *
 * So group ids go unit by unit, in registration order; within a unit, its platform devices
 * first, then its PCI functions in PCI bus order. The engine takes the declaration order of the
 * `iommu` blocks as the registration order (the DRHD / IVHD / IORT order as the driver walks it).
 * Devices whose segment has no IOMMU are never probed and get no group.
 */

import type { PciDev } from '../state.js';
import type { MachineSpec, PlatformDeviceSpec } from './spec.js';
import type { EnumeratedDevice } from './topology.js';

/** A device handed to `iommu_probe_device`. */
export interface ProbeInput {
    readonly name: string;
    readonly pci?: PciDev;
    readonly iommu?: string;
}

/** The devices boot probes, in probe order (see the module comment). */
export function bootProbeOrder(
    spec: MachineSpec, pci: readonly EnumeratedDevice[], platform: readonly PlatformDeviceSpec[],
): ProbeInput[] {
    const order: ProbeInput[] = [];
    for (const unit of new Set(spec.iommus.map((u) => u.name))) {
        for (const dev of platform) {
            if (dev.iommu === unit) {
                order.push({ name: dev.name, iommu: unit });
            }
        }
        for (const dev of pci) {
            if (dev.iommu === unit) {
                order.push({ name: dev.name, pci: dev.pci, iommu: unit });
            }
        }
    }
    return order;
}
