/**
 * IOMMU group derivation: `iommu_probe_device` for each new device, joining the group the IOMMU
 * driver's `device_group` op names or allocating one (`iommu_group_alloc`: lowest free id of the
 * global IDA, from 0).
 *
 * `device_group` per device kind:
 * - PCI functions: `pci_device_group` (VT-d, AMD-Vi and SMMUv3 alike);
 * - platform devices: a new group each (VT-d `generic_device_group` for ACPI namespace devices,
 *   SMMUv3 for platform masters, AMD `acpihid_device_group` with one ACPI HID entry per device).
 */

import type { PciDev } from '../state.js';
import { pci_device_group, type GroupingLookup } from './pci-device-group.js';
import { bootProbeOrder, type ProbeInput } from './probe-order.js';
import type { MachineSpec } from './spec.js';
import { enumeratePci, type EnumeratedDevice, type TopologyDiagnostic } from './topology.js';

export type { GroupingLookup } from './pci-device-group.js';
export type { ProbeInput } from './probe-order.js';
export { pci_device_group } from './pci-device-group.js';
export { virtfnDevices } from './sriov.js';

/** Machine-wide facts grouping reads. */
export interface GroupingPlatform {
    /** The machine has an AMD IOMMU, so ACPI has an IVRS table (`pci_quirk_amd_sb_acs`). */
    readonly ivrs?: boolean;
}

/** The grouping facts of a machine. */
export function groupingPlatform(spec: MachineSpec): GroupingPlatform {
    return { ivrs: spec.iommus.some((u) => u.kind === 'amd-vi') };
}

/** Every PCI function present (probed or not) in `for_each_pci_dev` order, and the groups given. */
class PciSystem implements GroupingLookup {
    readonly ivrs: boolean;
    private readonly devices = new Map<string, PciDev>();
    private readonly buses = new Map<string, string[]>();
    private readonly groups = new Map<string, number>();

    constructor(platform: GroupingPlatform) {
        this.ivrs = platform.ivrs ?? false;
    }

    add(name: string, pci: PciDev): void {
        if (this.devices.has(name)) {
            return;
        }
        this.devices.set(name, pci);
        const key = `${pci.bdf.segment}:${pci.bdf.bus}`;
        const bus = this.buses.get(key) ?? [];
        bus.push(name);
        this.buses.set(key, bus);
    }

    setGroup(name: string, group: number): void {
        this.groups.set(name, group);
    }

    pciDev(name: string): PciDev | undefined {
        return this.devices.get(name);
    }

    busDevices(segment: number, bus: number): readonly string[] {
        return this.buses.get(`${segment}:${bus}`) ?? [];
    }

    groupOf(name: string): number | undefined {
        return this.groups.get(name);
    }
}

/** `ida_alloc(&iommu_group_ida)`: the lowest id not in use. */
function idaAlloc(used: Set<number>): number {
    let id = 0;
    while (used.has(id)) {
        id++;
    }
    used.add(id);
    return id;
}

/** Probes `order` into `system`, allocating from `used`; returns the new devices' groups. */
function probeInto(system: PciSystem, order: readonly ProbeInput[], used: Set<number>): Map<string, number> {
    const assigned = new Map<string, number>();
    for (const dev of order) {
        // No IOMMU, no group; a device already in a group is not probed again.
        if (dev.iommu === undefined || system.groupOf(dev.name) !== undefined) {
            continue;
        }
        const joined = dev.pci ? pci_device_group(dev.name, system) : undefined;
        const group = joined ?? idaAlloc(used);
        system.setGroup(dev.name, group);
        assigned.set(dev.name, group);
    }
    return assigned;
}

/**
 * `iommu_probe_device()` for each new device, in order: which group each joins. `existing`
 * holds the devices already present (with their groups, if probed); `usedIds` the group ids in
 * use (the IDA). Returns name → group id for the new devices that get one (devices without an
 * IOMMU get none), allocating ids as `iommu_group_alloc` does: lowest free id from 0.
 */
export function probeGroups(
    newDevices: readonly ProbeInput[],
    existing: ReadonlyMap<string, { readonly pci?: PciDev; readonly group?: number }>,
    usedIds: ReadonlySet<number>,
    platform: GroupingPlatform = {},
): Map<string, number> {
    const system = new PciSystem(platform);
    for (const [name, dev] of existing) {
        if (dev.pci) {
            system.add(name, dev.pci);
        }
        if (dev.group !== undefined) {
            system.setGroup(name, dev.group);
        }
    }
    for (const dev of newDevices) {
        if (dev.pci) {
            system.add(dev.name, dev.pci);
        }
    }
    return probeInto(system, newDevices, new Set(usedIds));
}

/** A derived IOMMU group: its id and its devices (engine names) in probe order. */
export interface DerivedGroup {
    readonly id: number;
    readonly devices: string[];
}

/** Result of `deriveGroups`. */
export interface MachineGroups {
    /** Groups by ascending id. */
    readonly groups: DerivedGroup[];
    /** PCI functions in PCI bus order. */
    readonly devices: EnumeratedDevice[];
    readonly diagnostics: TopologyDiagnostic[];
}

/** Enumerates and probes a whole machine at boot (for tests, the CLI and `Kernel.boot`). */
export function deriveGroups(spec: MachineSpec): MachineGroups {
    const { devices, platform, diagnostics } = enumeratePci(spec);
    const system = new PciSystem(groupingPlatform(spec));
    for (const dev of devices) {
        system.add(dev.name, dev.pci);
    }
    const order = bootProbeOrder(spec, devices, platform);
    const assigned = probeInto(system, order, new Set());
    const byId = new Map<number, string[]>();
    for (const dev of order) {
        const id = assigned.get(dev.name);
        if (id !== undefined) {
            const members = byId.get(id) ?? [];
            members.push(dev.name);
            byId.set(id, members);
        }
    }
    const groups = [...byId.entries()].sort(([a], [b]) => a - b).map(([id, members]) => ({ id, devices: members }));
    return { groups, devices, diagnostics };
}
