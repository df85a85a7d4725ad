/**
 * The PCI hierarchy of a `MachineSpec` as a tree of functions, before Linux's view of it is
 * taken: each element gets its `struct pci_dev` type, duplicates (names, addresses) are dropped
 * with a diagnostic, and elements placed where no real hierarchy can have them are reported.
 */

import type { SourceLocation } from '../location.js';
import type { PciDevType } from '../state.js';
import type { Bdf, MachineSpec, PciNodeSpec, PciSegmentSpec, PlatformDeviceSpec } from './spec.js';
import { formatBdf } from './spec.js';

/** A problem with the machine's topology: something a real PCI hierarchy cannot be. */
export interface TopologyDiagnostic {
    readonly severity: 'error' | 'warning';
    readonly code: string;
    readonly message: string;
    readonly loc?: SourceLocation;
}

/** One PCI function of the machine, with its place in the tree. */
export interface PciNode {
    readonly spec: PciNodeSpec;
    readonly type: PciDevType;
    readonly bdf: Bdf;
    /** `dev_name()`. */
    readonly devName: string;
    /** Engine key: the user's name, else the BDF. */
    readonly name: string;
    readonly userName?: string;
    /** The bridge whose secondary bus this function sits on (`bus->self`); none on a root bus. */
    readonly parent?: PciNode;
    readonly block: PciSegmentSpec;
    /** The IOMMU unit translating it, when the machine declares that unit. */
    readonly iommu?: string;
    readonly children: PciNode[];
}

/** How messages name an element: `0000:02:00.1 (nic1)`, or the bare address. */
export function label(node: PciNode): string {
    return node.userName ? `${node.devName} (${node.userName})` : node.devName;
}

/** How messages name a parent bridge: its name, else its address. */
export function ref(node: PciNode): string {
    return node.userName ?? node.devName;
}

/** Two hex digits, as bus and device numbers are written. */
export function hex2(n: number): string {
    return n.toString(16).padStart(2, '0');
}

/** Four hex digits, as segments are written. */
export function hex4(n: number): string {
    return n.toString(16).padStart(4, '0');
}

/** Functions on a conventional PCI bus: below a PCI bridge of either kind. */
function onConventionalBus(parent: PciNode | undefined): boolean {
    return parent?.type === 'pci-bridge' || parent?.type === 'pcie-to-pci-bridge';
}

/** The `struct pci_dev` type Linux gives an element placed below `parent`. */
function pciDevType(spec: PciNodeSpec, parent: PciNode | undefined): PciDevType {
    switch (spec.type) {
        case 'root-port':
            return 'root-port';
        case 'switch':
            return 'upstream-port';
        case 'downstream':
            return 'downstream-port';
        case 'pci-bridge':
            return spec.conventional ? 'pci-bridge' : 'pcie-to-pci-bridge';
        case 'endpoint':
            // No PCIe capability: written `conventional`, or on the conventional bus behind a bridge.
            if (spec.conventional || onConventionalBus(parent)) {
                return 'conventional';
            }
            return parent ? 'endpoint' : 'rc-endpoint';
    }
}

function childSpecs(spec: PciNodeSpec): readonly PciNodeSpec[] {
    switch (spec.type) {
        case 'endpoint':
            return [];
        case 'switch':
            return spec.ports;
        default:
            return spec.children;
    }
}

/** Why an element cannot sit where it is written, if it cannot. */
function misplacement(spec: PciNodeSpec, type: PciDevType, parent: PciNode | undefined): string | undefined {
    const where = parent ? `below ${ref(parent)}` : 'on the root bus';
    switch (spec.type) {
        case 'root-port':
            return parent ? `a root port sits on a root bus, directly in a pci block, but this one is ${where}` : undefined;
        case 'switch':
            if (!parent) {
                return 'a switch upstream port sits on the link below a root port or a downstream port, but this one is on the root bus';
            }
            if (onConventionalBus(parent)) {
                return `a switch upstream port needs a PCIe link, but this one is ${where}, a conventional PCI bus`;
            }
            return undefined;
        case 'downstream':
            return parent?.type === 'upstream-port' ? undefined : `a downstream port belongs in a switch, but this one is ${where}`;
        case 'pci-bridge':
            return type === 'pcie-to-pci-bridge' && onConventionalBus(parent)
                ? `a PCIe-to-PCI bridge needs a PCIe link upstream, but this one is ${where}, a conventional PCI bus`
                : undefined;
        case 'endpoint':
            return undefined;
    }
}

/** PCIe-only capabilities written on a function that has no PCIe capability. */
function pcieOnlyAttributes(spec: PciNodeSpec): string[] {
    const attrs: string[] = [];
    if (spec.acs) {
        attrs.push('acs');
    }
    if (spec.type === 'endpoint') {
        if (spec.sriov !== undefined) {
            attrs.push('sriov');
        }
        if (spec.pasidWidth) {
            attrs.push('pasid-width');
        }
        if (spec.ats) {
            attrs.push('ats');
        }
        if (spec.pri) {
            attrs.push('pri');
        }
    }
    return attrs;
}

/** Result of `buildPciTree`: root-bus functions of every `pci` block, in declaration order. */
export interface PciTree {
    readonly roots: PciNode[];
    /** Platform devices, without name duplicates; `iommu` cleared when the unit is unknown. */
    readonly platform: PlatformDeviceSpec[];
    readonly diagnostics: TopologyDiagnostic[];
}

/**
 * Builds the tree of every `pci` block, in declaration order. The first element with a given name
 * or address wins; a later duplicate is reported and dropped with everything below it.
 */
export function buildPciTree(spec: MachineSpec): PciTree {
    const diagnostics: TopologyDiagnostic[] = [];
    const units = new Set(spec.iommus.map((u) => u.name));
    const byName = new Map<string, string>();
    const byBdf = new Map<string, PciNode>();
    const roots: PciNode[] = [];

    const build = (nodeSpec: PciNodeSpec, parent: PciNode | undefined, block: PciSegmentSpec, iommu: string | undefined): PciNode | undefined => {
        const bdf = nodeSpec.bdf;
        const devName = formatBdf(bdf);
        const type = pciDevType(nodeSpec, parent);
        const node: PciNode = {
            spec: nodeSpec, type, bdf, devName, name: nodeSpec.name ?? devName, userName: nodeSpec.name,
            parent, block, iommu, children: [],
        };
        const sameBdf = byBdf.get(devName);
        if (sameBdf) {
            diagnostics.push({
                severity: 'error', code: 'pci-duplicate-bdf', loc: nodeSpec.loc,
                message: `${label(node)} has the address of ${label(sameBdf)}: two functions cannot share ${devName}; the later one is ignored`,
            });
            return undefined;
        }
        if (nodeSpec.name !== undefined) {
            const first = byName.get(nodeSpec.name);
            if (first !== undefined) {
                diagnostics.push({
                    severity: 'error', code: 'duplicate-name', loc: nodeSpec.loc,
                    message: `${label(node)} reuses the name ${nodeSpec.name} of ${first}; the later one is ignored`,
                });
                return undefined;
            }
            byName.set(nodeSpec.name, label(node));
        }
        byBdf.set(devName, node);

        const misplaced = misplacement(nodeSpec, type, parent);
        if (misplaced) {
            diagnostics.push({ severity: 'error', code: 'pci-misplaced', loc: nodeSpec.loc, message: `${label(node)}: ${misplaced}` });
        }
        if (type === 'conventional' || type === 'pci-bridge') {
            const attrs = pcieOnlyAttributes(nodeSpec);
            if (attrs.length > 0) {
                const why = nodeSpec.type === 'endpoint' && !nodeSpec.conventional
                    ? `it sits on the conventional bus below ${parent ? ref(parent) : 'a PCI bridge'}`
                    : 'it is written conventional';
                diagnostics.push({
                    severity: 'warning', code: 'pcie-capability-on-conventional', loc: nodeSpec.loc,
                    message: `${label(node)} is a conventional PCI function (${why}), so Linux does not see its PCIe extended capabilities: ${attrs.join(', ')}`,
                });
            }
        } else if (type === 'pcie-to-pci-bridge' && nodeSpec.acs) {
            diagnostics.push({
                severity: 'warning', code: 'acs-ignored', loc: nodeSpec.loc,
                message: `${label(node)} is a PCIe-to-PCI bridge: pci_acs_enabled never counts one as isolating (PCIe r3.0 6.12.1), so its acs has no effect`,
            });
        }
        for (const childSpec of childSpecs(nodeSpec)) {
            const child = build(childSpec, node, block, iommu);
            if (child) {
                node.children.push(child);
            }
        }
        return node;
    };

    for (const block of spec.segments) {
        let iommu = block.iommu;
        if (iommu !== undefined && !units.has(iommu)) {
            diagnostics.push({
                severity: 'error', code: 'unknown-iommu', loc: block.loc,
                message: `pci ${hex4(block.segment)} names IOMMU unit ${iommu}, which this machine does not declare: its devices get no IOMMU group`,
            });
            iommu = undefined;
        }
        for (const childSpec of block.children) {
            const node = build(childSpec, undefined, block, iommu);
            if (node) {
                roots.push(node);
            }
        }
    }

    const platform: PlatformDeviceSpec[] = [];
    for (const dev of spec.platform) {
        const first = byName.get(dev.name);
        if (first !== undefined) {
            diagnostics.push({
                severity: 'error', code: 'duplicate-name', loc: dev.loc,
                message: `platform device ${dev.name} reuses the name of ${first}; the later one is ignored`,
            });
            continue;
        }
        byName.set(dev.name, `platform device ${dev.name}`);
        if (dev.iommu !== undefined && !units.has(dev.iommu)) {
            diagnostics.push({
                severity: 'error', code: 'unknown-iommu', loc: dev.loc,
                message: `platform device ${dev.name} names IOMMU unit ${dev.iommu}, which this machine does not declare: it gets no IOMMU group`,
            });
            platform.push({ ...dev, iommu: undefined });
            continue;
        }
        platform.push(dev);
    }
    return { roots, platform, diagnostics };
}
