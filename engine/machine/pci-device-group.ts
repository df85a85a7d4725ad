/**
 * `pci_device_group()` of `drivers/iommu/iommu.c`: which existing IOMMU group a PCI function
 * joins when it is probed, or none (then the caller allocates a new one). VT-d, AMD-Vi and
 * SMMUv3 all use it for PCI devices.
 */

import { pci_acs_enabled, pci_acs_path_enabled, REQ_ACS_FLAGS, type AcsLookup } from './acs.js';
import { pci_devs_are_dma_aliases, pci_for_each_dma_alias } from './dma-alias.js';
import { PCI_SLOT, pciDevfn, upstreamBridges } from './pci.js';

/** What grouping reads of the system: devices, their buses, and the groups given so far. */
export interface GroupingLookup extends AcsLookup {
    /** The functions on bus (segment, bus), in `for_each_pci_dev` order (probed or not). */
    busDevices(segment: number, bus: number): readonly string[];
    /** `iommu_group_get()`: the device's group id, if it has one. */
    groupOf(name: string): number | undefined;
}

/**
 * `get_pci_function_alias_group()`: a non-isolated multifunction function shares the group of
 * any other non-isolated function of its slot (or of that function's aliases).
 */
function get_pci_function_alias_group(name: string, devfns: Set<number>, lookup: GroupingLookup): number | undefined {
    const pdev = lookup.pciDev(name);
    if (!pdev || !pdev.multifunction || pci_acs_enabled(pdev, REQ_ACS_FLAGS, lookup)) {
        return undefined;
    }
    for (const tmpName of lookup.busDevices(pdev.bdf.segment, pdev.bdf.bus)) {
        const tmp = lookup.pciDev(tmpName);
        if (tmpName === name || !tmp || PCI_SLOT(pciDevfn(tmp)) !== PCI_SLOT(pciDevfn(pdev))
            || pci_acs_enabled(tmp, REQ_ACS_FLAGS, lookup)) {
            continue;
        }
        const group = get_pci_alias_group(tmpName, devfns, lookup);
        if (group !== undefined) {
            return group;
        }
    }
    return undefined;
}

/**
 * `get_pci_alias_group()`: the group of the device, or of any device on its bus that it aliases
 * or that aliases it (recursively, and through those devices' non-isolated sibling functions).
 * `devfns` marks the devfns already searched, as the kernel's bitmap does.
 */
function get_pci_alias_group(name: string, devfns: Set<number>, lookup: GroupingLookup): number | undefined {
    const pdev = lookup.pciDev(name);
    if (!pdev) {
        return undefined;
    }
    const own = pciDevfn(pdev) & 0xff;
    if (devfns.has(own)) {
        return undefined;
    }
    devfns.add(own);
    const group = lookup.groupOf(name);
    if (group !== undefined) {
        return group;
    }
    for (const tmpName of lookup.busDevices(pdev.bdf.segment, pdev.bdf.bus)) {
        if (tmpName === name || !pci_devs_are_dma_aliases(name, tmpName, lookup)) {
            continue;
        }
        const viaAlias = get_pci_alias_group(tmpName, devfns, lookup);
        if (viaAlias !== undefined) {
            return viaAlias;
        }
        const viaFunction = get_pci_function_alias_group(tmpName, devfns, lookup);
        if (viaFunction !== undefined) {
            return viaFunction;
        }
    }
    return undefined;
}

/**
 * `pci_device_group()`: the existing group `name` joins, or undefined for a new group.
 *
 * 1. Alias walk (`pci_for_each_dma_alias` with `get_pci_alias_or_group`): the first device met
 *    that has a group gives it; otherwise P = the last device met (the topmost alias).
 * 2. ACS walk from P's bus to the root, skipping virtual buses: stop at the first bridge whose
 *    whole path up is ACS-isolated; else P = that bridge, and its group, if any, is the answer.
 * 3. `get_pci_alias_group(P)`, then 4. `get_pci_function_alias_group(P)` (sharing one devfn
 *    bitmap), else 5. a new group.
 */
export function pci_device_group(name: string, lookup: GroupingLookup): number | undefined {
    const data: { pdev: string; group: number | undefined } = { pdev: name, group: undefined };
    const stopped = pci_for_each_dma_alias(name, lookup, (dev) => {
        data.pdev = dev;
        data.group = lookup.groupOf(dev);
        return data.group !== undefined;
    });
    if (stopped) {
        return data.group;
    }
    let pdev = data.pdev;
    for (const bridge of upstreamBridges(pdev, lookup)) {
        if (pci_acs_path_enabled(bridge, undefined, REQ_ACS_FLAGS, lookup)) {
            break;
        }
        pdev = bridge;
        const group = lookup.groupOf(pdev);
        if (group !== undefined) {
            return group;
        }
    }
    const devfns = new Set<number>();
    return get_pci_alias_group(pdev, devfns, lookup) ?? get_pci_function_alias_group(pdev, devfns, lookup);
}
