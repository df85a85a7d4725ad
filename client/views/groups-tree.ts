/**
 * The "IOMMU Groups" tree of the explorer, from an `iommu/groups` result: machines, their groups
 * (viable or not, and why), and each group's devices with their PCI address, type and driver.
 */

import type { GroupDevice, GroupInfo, GroupsResult, MachineGroups, Range } from '../../language/protocol/messages.js';
import { groupColorId } from './group-colors.js';
import type { StaticTreeNode } from './tree-data.js';

/** A codicon per device type. */
export function deviceIcon(type: string): string {
    switch (type) {
        case 'root-port':
        case 'downstream-port':
        case 'upstream-port':
            return 'plug';
        case 'pci-bridge':
        case 'pcie-to-pci-bridge':
            return 'git-merge';
        case 'mdev':
            return 'vm';
        case 'platform':
            return 'chip';
        default:
            return 'circuit-board';
    }
}

function deviceNode(machine: string, group: GroupInfo, device: GroupDevice): StaticTreeNode {
    const driver = device.driver ?? 'no driver';
    return {
        id: `${machine}/group/${group.id}/${device.devName}`,
        label: device.name,
        description: `${device.devName} · ${driver}`,
        tooltip: `${device.name} (${device.type})\n${device.devName}\ndriver: ${driver}\nIOMMU group ${group.id}`,
        icon: deviceIcon(device.type),
        collapsible: 'none',
        context: 'iommu.device',
        children: [],
    };
}

function groupNode(machine: string, group: GroupInfo): StaticTreeNode {
    const count = `${group.devices.length} device${group.devices.length === 1 ? '' : 's'}`;
    const parts = [group.viable ? 'viable' : 'not viable', count, group.iommu].filter((p): p is string => p !== undefined);
    const tooltip = [
        `IOMMU group ${group.id}${group.iommu ? ` (${group.iommu})` : ''}: ${group.viable ? 'viable' : 'not viable'}`,
        group.why,
        ...group.devices.map((d) => `  ${d.devName} ${d.name} — ${d.driver ?? 'no driver'}`),
    ].filter((l): l is string => l !== undefined && l !== '').join('\n');
    return {
        id: `${machine}/group/${group.id}`,
        label: `Group ${group.id}`,
        description: parts.join(' · '),
        tooltip,
        icon: group.viable ? 'pass' : 'warning',
        iconColor: groupColorId(group.id),
        collapsible: 'expanded',
        context: group.viable ? 'iommu.group.viable' : 'iommu.group.notViable',
        children: group.devices.map((d) => deviceNode(machine, group, d)),
    };
}

function contains(range: Range | undefined, line: number | undefined): boolean {
    return range !== undefined && line !== undefined && range.start.line <= line && line <= range.end.line;
}

function machineNode(machine: MachineGroups, expanded: boolean): StaticTreeNode {
    const viable = machine.groups.filter((g) => g.viable).length;
    return {
        id: machine.name,
        label: machine.name,
        description: `${machine.groups.length} group${machine.groups.length === 1 ? '' : 's'}, ${viable} viable`,
        tooltip: `machine ${machine.name}`,
        icon: 'server',
        collapsible: expanded ? 'expanded' : 'collapsed',
        range: machine.range,
        context: 'iommu.machine',
        children: [...machine.groups].sort((a, b) => a.id - b.id).map((g) => groupNode(machine.name, g)),
    };
}

/** What the editor points at: the cursor's line, and the machine of the scenario around it. */
export interface ActiveContext {
    readonly line?: number;
    readonly machine?: string;
}

/** The machine the user is looking at: the one whose block holds the cursor, else the scenario's, else the first. */
export function activeMachine(result: GroupsResult, active: ActiveContext = {}): MachineGroups | undefined {
    return result.machines.find((m) => contains(m.range, active.line))
        ?? result.machines.find((m) => m.name === active.machine)
        ?? result.machines[0];
}

/** The roots of the tree: every machine of the document; the active one expanded, the others collapsed. */
export function groupsTree(result: GroupsResult, active: ActiveContext = {}): StaticTreeNode[] {
    const current = activeMachine(result, active);
    return result.machines.map((m) => machineNode(m, m === current));
}
