/**
 * PCI enumeration: the `struct pci_dev`s Linux builds from a machine's `pci` blocks, in the order
 * it adds them to the PCI bus.
 *
 * Order (`drivers/pci/probe.c`, `drivers/pci/bus.c`): `pci_device_add` calls `device_add` at scan
 * time, so the bus's device list (what `bus_for_each_dev` and `for_each_pci_dev` walk, and the
 * order `pci_bus_add_devices` attaches drivers in) is the scan order of `pci_scan_child_bus`:
 * every slot of a bus by ascending devfn, then, for each bridge of that bus in the same order, the
 * bus behind it, depth first. Host bridges are taken segment by segment in declaration order and,
 * within a segment, root bus by ascending number (the usual ACPI namespace order, PCI0 first).
 */

import type { PciDev } from '../state.js';
import { acsStateFromSpec } from './acs-flags.js';
import { quirkDmaAliasDevfns } from './dma-alias-quirks.js';
import { DEFAULT_DEVICE_ID, DEFAULT_VENDOR_ID } from './pci-ids.js';
import type { MachineSpec, PlatformDeviceSpec } from './spec.js';
import { devfn } from './spec.js';
import { checkPciTree } from './topology-checks.js';
import { buildPciTree, label, type PciNode, type TopologyDiagnostic } from './topology-tree.js';
import type { SourceLocation } from '../location.js';

export type { TopologyDiagnostic } from './topology-tree.js';

/** A PCI function as enumerated: its `struct pci_dev` and what the engine keeps beside it. */
export interface EnumeratedDevice {
    /** Engine key: the user's name, or the BDF string for an unnamed port or bridge. */
    readonly name: string;
    /** `dev_name()`: `0000:02:00.0`. */
    readonly devName: string;
    readonly pci: PciDev;
    /** The IOMMU unit of its segment; undefined without one (then it gets no group). */
    readonly iommu?: string;
    /** Driver bound at boot: the spec's, else `pcieport` for PCIe ports, else none. */
    readonly driver: string | null;
    readonly noSnoop: boolean;
    readonly loc?: SourceLocation;
}

export interface PciEnumeration {
    /** Every function, in the order Linux adds them to the PCI bus. */
    readonly devices: EnumeratedDevice[];
    /** Platform devices kept (duplicates dropped; an unknown unit cleared). */
    readonly platform: PlatformDeviceSpec[];
    readonly diagnostics: TopologyDiagnostic[];
}

function byDevfn(a: PciNode, b: PciNode): number {
    return a.bdf.bus - b.bdf.bus || devfn(a.bdf) - devfn(b.bdf);
}

/** `pci_scan_child_bus` order: the bus's functions by devfn, then depth first behind each bridge. */
function scanOrder(nodes: readonly PciNode[], out: PciNode[]): void {
    const sorted = [...nodes].sort(byDevfn);
    out.push(...sorted);
    for (const node of sorted) {
        if (node.children.length > 0) {
            scanOrder(node.children, out);
        }
    }
}

/** Root buses: segments in declaration order, each segment's root buses by ascending number. */
function rootBusOrder(roots: readonly PciNode[]): PciNode[][] {
    const segments = new Map<number, Map<number, PciNode[]>>();
    for (const node of roots) {
        const buses = segments.get(node.bdf.segment) ?? new Map<number, PciNode[]>();
        segments.set(node.bdf.segment, buses);
        const bus = buses.get(node.bdf.bus) ?? [];
        bus.push(node);
        buses.set(node.bdf.bus, bus);
    }
    const out: PciNode[][] = [];
    for (const buses of segments.values()) {
        for (const bus of [...buses.keys()].sort((a, b) => a - b)) {
            out.push(buses.get(bus)!);
        }
    }
    return out;
}

/** `pci_scan_slot`: a function > 0 found in a slot makes every function of it multifunction. */
function multifunctionSlots(nodes: readonly PciNode[]): Set<string> {
    const slots = new Set<string>();
    for (const node of nodes) {
        if (node.bdf.fn > 0) {
            slots.add(slotKey(node));
        }
    }
    return slots;
}

function slotKey(node: PciNode): string {
    return `${node.bdf.segment}:${node.bdf.bus}:${node.bdf.device}`;
}

function isPort(node: PciNode): boolean {
    return node.type === 'root-port' || node.type === 'upstream-port' || node.type === 'downstream-port';
}

/** Explicit `dma-alias` devfns (same bus only) plus the header quirks' (`pci_add_dma_alias`). */
function dmaAliasDevfns(node: PciNode, vendor: number, deviceId: number, out: TopologyDiagnostic[]): number[] {
    const devfns = new Set<number>();
    if (node.spec.type === 'endpoint') {
        for (const alias of node.spec.dmaAliases ?? []) {
            if (alias.segment !== node.bdf.segment || alias.bus !== node.bdf.bus) {
                out.push({
                    severity: 'error', code: 'dma-alias-other-bus', loc: node.spec.loc,
                    message: `${label(node)} has dma-alias on bus ${alias.bus.toString(16).padStart(2, '0')}, not its own bus: Linux keeps DMA aliases as devfns of the device's bus (dma_alias_mask), so this alias is ignored`,
                });
                continue;
            }
            devfns.add(devfn(alias));
        }
    }
    if (node.spec.vendor !== undefined) {
        for (const d of quirkDmaAliasDevfns(vendor, deviceId, devfn(node.bdf))) {
            devfns.add(d);
        }
    }
    return [...devfns].sort((a, b) => a - b);
}

function toDevice(node: PciNode, multifunction: boolean, out: TopologyDiagnostic[]): EnumeratedDevice {
    const spec = node.spec;
    const vendor = spec.vendor ?? DEFAULT_VENDOR_ID;
    const deviceId = spec.deviceId ?? DEFAULT_DEVICE_ID;
    const conventional = node.type === 'conventional' || node.type === 'pci-bridge';
    const ep = spec.type === 'endpoint' && !conventional ? spec : undefined;
    const pci: PciDev = {
        bdf: node.bdf,
        type: node.type,
        vendor,
        deviceId,
        className: spec.type === 'endpoint' ? spec.className : undefined,
        multifunction,
        // ACS is a PCIe extended capability: a conventional function cannot have one.
        acs: conventional ? undefined : acsStateFromSpec(spec.acs),
        upstream: node.parent?.name,
        secondaryBus: node.children[0]?.bdf.bus,
        sriovTotal: ep?.sriov,
        pasidWidth: ep?.pasidWidth ?? 0,
        ats: ep?.ats ?? false,
        pri: ep?.pri ?? false,
        dmaAliasDevfns: dmaAliasDevfns(node, vendor, deviceId, out),
        resets: spec.type === 'endpoint' ? spec.resets ?? [] : [],
        requireDirect: spec.type === 'endpoint' ? spec.requireDirect ?? false : false,
    };
    return {
        name: node.name,
        devName: node.devName,
        pci,
        iommu: node.iommu,
        driver: spec.driver !== undefined ? spec.driver : isPort(node) ? 'pcieport' : null,
        noSnoop: spec.type === 'endpoint' ? spec.noSnoop ?? false : false,
        loc: spec.loc,
    };
}

/**
 * Enumerates the machine's PCI functions as Linux does, with diagnostics for what a real PCI
 * hierarchy cannot be (duplicate names or addresses, misplaced elements, inconsistent bus
 * numbers, slots Linux would not scan, unknown IOMMU units).
 */
export function enumeratePci(spec: MachineSpec): PciEnumeration {
    const tree = buildPciTree(spec);
    const diagnostics = [...tree.diagnostics, ...checkPciTree(tree.roots)];
    const order: PciNode[] = [];
    for (const rootBus of rootBusOrder(tree.roots)) {
        scanOrder(rootBus, order);
    }
    const mf = multifunctionSlots(order);
    const devices = order.map((node) => toDevice(node, mf.has(slotKey(node)), diagnostics));
    return { devices, platform: tree.platform, diagnostics };
}
