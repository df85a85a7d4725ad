/**
 * Checks that the bus numbers and slots of a PCI tree are ones Linux would enumerate as written:
 * children of a bridge share one secondary bus above the bridge's own (`pci_scan_bridge_extend`
 * renumbers anything else), no bus hangs below two bridges, a slot has a function 0
 * (`pci_scan_slot` stops without one), and the link below a PCIe port carries device 0 only
 * (`only_one_child`).
 */

import { hex2, hex4, label, ref, type PciNode, type TopologyDiagnostic } from './topology-tree.js';

function busKey(segment: number, bus: number): string {
    return `${segment}:${bus}`;
}

/** `pci_scan_slot`: without function 0 the slot is skipped, so functions > 0 are never found. */
function checkSlots(nodes: readonly PciNode[], out: TopologyDiagnostic[]): void {
    const slots = new Map<string, PciNode[]>();
    for (const node of nodes) {
        const key = `${busKey(node.bdf.segment, node.bdf.bus)}:${node.bdf.device}`;
        const slot = slots.get(key) ?? [];
        slot.push(node);
        slots.set(key, slot);
    }
    for (const slot of slots.values()) {
        if (slot.some((n) => n.bdf.fn === 0)) {
            continue;
        }
        for (const node of slot) {
            const slotName = `${hex4(node.bdf.segment)}:${hex2(node.bdf.bus)}:${hex2(node.bdf.device)}`;
            out.push({
                severity: 'error', code: 'pci-missing-function0', loc: node.spec.loc,
                message: `${label(node)} is function ${node.bdf.fn} of slot ${slotName}, which has no function 0: pci_scan_slot stops at a missing function 0, so Linux never sees the slot's other functions`,
            });
        }
    }
}

/** Checks the bus numbering and slots of every bus of the tree. */
export function checkPciTree(roots: readonly PciNode[]): TopologyDiagnostic[] {
    const out: TopologyDiagnostic[] = [];
    const rootBuses = new Set(roots.map((n) => busKey(n.bdf.segment, n.bdf.bus)));
    const busOwner = new Map<string, PciNode>();
    checkSlots(roots, out);

    const visit = (bridge: PciNode): void => {
        const children = bridge.children;
        if (children.length === 0) {
            return;
        }
        const first = children[0]!;
        const secondary = first.bdf.bus;
        const segment = bridge.bdf.segment;
        const key = busKey(segment, secondary);
        const where = `${label(first)} is on bus ${hex2(secondary)}`;
        if (secondary === bridge.bdf.bus) {
            out.push({
                severity: 'error', code: 'pci-child-on-parent-bus', loc: first.spec.loc,
                message: `${where}, the bus its parent ${ref(bridge)} itself sits on: the functions below a bridge sit on its secondary bus, numbered above the bridge's own`,
            });
        } else if (secondary < bridge.bdf.bus) {
            out.push({
                severity: 'error', code: 'pci-bus-order', loc: first.spec.loc,
                message: `${where} but its parent ${ref(bridge)} sits on bus ${hex2(bridge.bdf.bus)}: a secondary bus numbered below the bridge's own is a misconfigured bridge, which Linux renumbers (pci_scan_bridge_extend)`,
            });
        } else if (rootBuses.has(key)) {
            out.push({
                severity: 'error', code: 'pci-child-on-root-bus', loc: first.spec.loc,
                message: `${where}, below ${ref(bridge)}, but bus ${hex2(secondary)} is a root bus of segment ${hex4(segment)}`,
            });
        } else {
            const owner = busOwner.get(key);
            if (owner) {
                out.push({
                    severity: 'error', code: 'pci-bus-conflict', loc: first.spec.loc,
                    message: `${where}, below ${ref(bridge)}, but bus ${hex2(secondary)} is already the secondary bus of ${ref(owner)}: a bus sits below exactly one bridge`,
                });
            } else {
                busOwner.set(key, bridge);
            }
        }
        for (const child of children.slice(1)) {
            if (child.bdf.bus !== secondary) {
                out.push({
                    severity: 'error', code: 'pci-bus-mismatch', loc: child.spec.loc,
                    message: `${label(child)} is on bus ${hex2(child.bdf.bus)} but its sibling ${label(first)} below ${ref(bridge)} is on bus ${hex2(secondary)}: the functions below a bridge all sit on its one secondary bus`,
                });
            }
        }
        checkSlots(children, out);
        if (bridge.type === 'root-port' || bridge.type === 'downstream-port') {
            for (const child of children) {
                if (child.bdf.device !== 0) {
                    out.push({
                        severity: 'error', code: 'pci-device-not-scanned', loc: child.spec.loc,
                        message: `${label(child)} is device ${hex2(child.bdf.device)} on the link below ${ref(bridge)}: Linux scans only device 00 below a PCIe root or downstream port (only_one_child)`,
                    });
                }
            }
        }
        children.forEach(visit);
    };
    roots.forEach(visit);
    return out;
}
