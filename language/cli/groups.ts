/** `iommu-scenarios groups FILE [--machine NAME]`: the IOMMU groups Linux derives, after boot. */

import type { KernelState } from '../../engine/state.js';
import type { IommuFile, Machine } from '../generated/ast.js';
import type { LoadedWorkspace } from './workspace.js';
import { CliError } from './workspace.js';

export interface GroupsJson {
    readonly machines: Array<{ readonly name: string; readonly groups: Array<{ readonly id: number; readonly devices: string[] }> }>;
}

export function selectMachines(ws: LoadedWorkspace, name?: string): Machine[] {
    const all = ws.documents.flatMap((d) => (d.parseResult.value as IommuFile).machines);
    if (name === undefined) {
        return all;
    }
    const found = all.filter((m) => m.name === name);
    if (found.length === 0) {
        throw new CliError(`no machine '${name}' (machines: ${all.map((m) => m.name).join(', ') || 'none'})`);
    }
    return found;
}

function sortedGroups(k: KernelState) {
    return [...k.groups.values()].sort((a, b) => a.id - b.id);
}

export function groupsJson(machines: ReadonlyArray<{ name: string; kernel: KernelState }>): GroupsJson {
    return {
        machines: machines.map(({ name, kernel }) => ({
            name,
            groups: sortedGroups(kernel).map((g) => ({ id: g.id, devices: g.devices.map((n) => kernel.devices.get(n)!.devName) })),
        })),
    };
}

export function formatGroups(machines: ReadonlyArray<{ name: string; kernel: KernelState }>): string {
    const lines: string[] = [];
    for (const { name, kernel } of machines) {
        lines.push(`machine ${name}`);
        for (const g of sortedGroups(kernel)) {
            const devs = g.devices.map((n) => {
                const d = kernel.devices.get(n)!;
                const label = d.devName === d.name ? d.name : `${d.devName} ${d.name}`;
                return `${label} (${d.driver ?? 'no driver'})`;
            });
            lines.push(`  group ${String(g.id).padStart(2)}  ${devs.join(', ')}`);
        }
    }
    return lines.join('\n');
}
