import { describe, expect, test } from 'vitest';
import type { GroupsResult } from '../../language/protocol/messages.js';
import { activeMachine, deviceIcon, groupsTree } from '../../client/views/groups-tree.js';

const range = (a: number, b: number) => ({ start: { line: a, character: 0 }, end: { line: b, character: 1 } });

const result: GroupsResult = {
    machines: [
        {
            name: 'box', range: range(0, 10),
            groups: [
                {
                    id: 1, viable: false, why: '0000:02:00.1 (nic1) is bound to ixgbe', iommu: 'dmar0',
                    devices: [
                        { name: 'nic0', devName: '0000:02:00.0', driver: 'vfio-pci', type: 'endpoint' },
                        { name: 'nic1', devName: '0000:02:00.1', driver: 'ixgbe', type: 'endpoint' },
                    ],
                },
                { id: 0, viable: true, iommu: 'dmar0', devices: [{ name: 'rp0', devName: '0000:00:1c.0', driver: 'pcieport', type: 'root-port' }] },
            ],
        },
        { name: 'other', range: range(12, 20), groups: [] },
    ],
};

describe('groups tree', () => {
    test('machines, then groups in id order, then devices with address and driver', () => {
        const [box, other] = groupsTree(result);
        expect(box).toMatchObject({ label: 'box', description: '2 groups, 1 viable', collapsible: 'expanded', range: range(0, 10) });
        expect(other).toMatchObject({ label: 'other', collapsible: 'collapsed', children: [] });
        expect(box!.children.map((g) => g.label)).toEqual(['Group 0', 'Group 1']);
        const g1 = box!.children[1]!;
        expect(g1).toMatchObject({
            description: 'not viable · 2 devices · dmar0', icon: 'warning', iconColor: 'iommu.group1', context: 'iommu.group.notViable',
        });
        expect(g1.tooltip).toContain('is bound to ixgbe');
        expect(g1.children.map((d) => [d.label, d.description])).toEqual([
            ['nic0', '0000:02:00.0 · vfio-pci'],
            ['nic1', '0000:02:00.1 · ixgbe'],
        ]);
        expect(box!.children[0]!.children[0]).toMatchObject({ icon: 'plug', description: '0000:00:1c.0 · pcieport' });
    });

    test('ids are unique and stable', () => {
        const ids = (nodes: ReturnType<typeof groupsTree>): string[] => nodes.flatMap((n) => [n.id, ...ids([...n.children])]);
        const all = ids(groupsTree(result));
        expect(new Set(all).size).toBe(all.length);
        expect(ids(groupsTree(result))).toEqual(all);
    });

    test('the active machine: the one around the cursor, else the scenario\'s, else the first', () => {
        expect(activeMachine(result, { line: 15 })?.name).toBe('other');
        expect(activeMachine(result, { line: 30, machine: 'other' })?.name).toBe('other');
        expect(activeMachine(result, { line: 30 })?.name).toBe('box');
        expect(groupsTree(result, { line: 15 }).map((m) => m.collapsible)).toEqual(['collapsed', 'expanded']);
        expect(groupsTree({ machines: [] })).toEqual([]);
    });

    test('a device without a driver says so', () => {
        const tree = groupsTree({ machines: [{ name: 'm', groups: [{ id: 3, viable: true, devices: [{ name: 'fpga0', devName: '0000:07:00.0', driver: null, type: 'endpoint' }] }] }] });
        expect(tree[0]!.children[0]!.children[0]!.description).toBe('0000:07:00.0 · no driver');
        expect(deviceIcon('pcie-to-pci-bridge')).toBe('git-merge');
        expect(deviceIcon('mdev')).toBe('vm');
    });
});
