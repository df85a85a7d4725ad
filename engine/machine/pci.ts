/**
 * Small accessors over `PciDev` that mirror the kernel's helpers (`include/linux/pci.h`):
 * `pci_is_pcie`, `pci_pcie_type`, `PCI_SLOT`, `pci_is_root_bus`, and the walk up the bus
 * hierarchy (`bus->self`, `bus->parent`) that ACS and DMA-alias code share.
 */

import type { PciDev, PciDevType } from '../state.js';
import { devfn } from './spec.js';

/** Resolves an engine device name to its `struct pci_dev`. */
export interface PciLookup {
    pciDev(name: string): PciDev | undefined;
}

/** PCIe Device/Port Type values of the PCIe capability (`PCI_EXP_TYPE_*`). */
export type PciExpType =
    | 'ENDPOINT' | 'LEG_END' | 'RC_END' | 'ROOT_PORT' | 'UPSTREAM' | 'DOWNSTREAM' | 'PCI_BRIDGE';

const PCIE_TYPE: Readonly<Record<PciDevType, PciExpType | undefined>> = {
    'endpoint': 'ENDPOINT',
    'legacy-endpoint': 'LEG_END',
    'rc-endpoint': 'RC_END',
    'root-port': 'ROOT_PORT',
    'upstream-port': 'UPSTREAM',
    'downstream-port': 'DOWNSTREAM',
    'pcie-to-pci-bridge': 'PCI_BRIDGE',
    'pci-bridge': undefined,
    'conventional': undefined,
};

/** `pci_is_pcie()`: the function has a PCIe capability. */
export function pci_is_pcie(dev: PciDev): boolean {
    return PCIE_TYPE[dev.type] !== undefined;
}

/** `pci_pcie_type()`; undefined for conventional PCI functions. */
export function pci_pcie_type(dev: PciDev): PciExpType | undefined {
    return PCIE_TYPE[dev.type];
}

/** `pdev->devfn`. */
export function pciDevfn(dev: PciDev): number {
    return devfn(dev.bdf);
}

/** `PCI_SLOT(devfn)`. */
export function PCI_SLOT(devfnValue: number): number {
    return (devfnValue >> 3) & 0x1f;
}

/** `PCI_DEVFN(slot, func)`. */
export function PCI_DEVFN(slot: number, fn: number): number {
    return ((slot & 0x1f) << 3) | (fn & 0x07);
}

/** Whether two functions sit on the same `struct pci_bus` (same segment and bus number). */
export function sameBus(a: PciDev, b: PciDev): boolean {
    return a.bdf.segment === b.bdf.segment && a.bdf.bus === b.bdf.bus;
}

/** `pci_is_root_bus(dev->bus)`: no bridge above and not a VF's virtual bus (which has a parent). */
export function onRootBus(dev: PciDev): boolean {
    return dev.upstream === undefined && !dev.virtualBus;
}

/**
 * The bridges met walking `bus = dev->bus; !pci_is_root_bus(bus); bus = bus->parent`, taking
 * `bus->self` and skipping virtual buses (`bus->self == NULL`): a VF on the virtual bus
 * `virtfn_add_bus` made continues at its PF's bus, whose `self` is the PF's upstream bridge.
 */
export function upstreamBridges(name: string, lookup: PciLookup): string[] {
    const dev = lookup.pciDev(name);
    if (!dev) {
        return [];
    }
    let next = dev.upstream;
    if (dev.virtualBus && dev.physfn !== undefined) {
        next = lookup.pciDev(dev.physfn)?.upstream;
    }
    const bridges: string[] = [];
    const seen = new Set<string>();
    while (next !== undefined && !seen.has(next)) {
        seen.add(next);
        bridges.push(next);
        next = lookup.pciDev(next)?.upstream;
    }
    return bridges;
}
