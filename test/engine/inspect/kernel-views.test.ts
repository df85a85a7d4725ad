import { describe, expect, test } from 'vitest';
import { groupsNode, domainNode, processNode } from '../../../engine/inspect/kernel-views.js';
import { expand, findNode } from '../../../engine/inspect/tree.js';
import type { MachineSpec } from '../../../engine/machine/spec.js';
import { ep, pci, rp, vtd } from '../machine/builders.js';
import { M, dev, path, scenario, v, vfioGroup } from '../scenario.js';

const machine: MachineSpec = {
    name: 'm', iommus: [vtd('dmar0')], platform: [], mdevs: [],
    segments: [pci(0, 'dmar0',
        rp('00:1c.0', 'rp0', {}, ep('01:00.0', 'nic0', { driver: 'ixgbe' }), ep('01:00.1', 'nic1', { driver: 'ixgbe' })),
    )],
};

describe('kernel views', () => {
    test('groups show members, drivers, viability and why not', () => {
        const s = scenario(machine);
        const p = s.process('p');
        p.unbind('nic0');
        p.bind('nic0', 'vfio-pci');
        const run = s.run();
        const k = run.ticks[run.ticks.length - 1]!.state.kernel;
        const g = findNode(groupsNode(k), ['group 0'])!;
        expect(g.value).toBe('3 devices, not viable');
        expect(expand(g)).toMatchObject({
            devices: { '0000:00:1c.0 (rp0)': 'pcieport', '0000:01:00.0 (nic0)': 'vfio-pci', '0000:01:00.1 (nic1)': 'ixgbe' },
            viable: 'no: 0000:01:00.1 (nic1) is bound to ixgbe',
            'vfio node': '/dev/vfio/0',
        });
    });

    test('a domain shows its page table level by level, entries with address, size and permissions', () => {
        const s = scenario(machine);
        const p = s.process('p');
        for (const n of ['nic0', 'nic1']) {
            p.unbind(n);
            p.bind(n, 'vfio-pci');
        }
        p.open(path('/dev/vfio/vfio'), 'c');
        p.open(vfioGroup('nic0'), 'g');
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('c') });
        p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: 3n });
        p.mmap(2n * M, 'ram', { hugepage: 2n * M });
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0x4000_0000n, size: 2n * M, flags: 1n });
        p.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('g'), { positional: dev('nic0') }, { bind: 'd' });
        const run = s.run();
        const k = run.ticks[run.ticks.length - 1]!.state.kernel;
        const domId = k.groups.get(0)!.domain;
        const dom = domainNode(k, k.domains.get(domId)!);
        const pt = findNode(dom, ['page table'])!;
        expect(pt.value).toMatch(/^x86-64, 4 levels, 2M mapped/);
        // Walk down: root → 1G slot 1 → the 2M leaf at index 0.
        const l3 = pt.indexed!.get(0, 10);
        expect(l3).toHaveLength(1);
        const l2 = l3[0]!.indexed!.get(0, 10);
        expect(l2[0]!.name).toBe('[1] 0x40000000-0x7fffffff');
        const leafs = l2[0]!.indexed!.get(0, 10);
        expect(leafs).toHaveLength(1);
        expect(leafs[0]!.name).toBe('[0] 0x40000000-0x401fffff');
        expect(leafs[0]!.value).toMatch(/^→ 0x[0-9a-f]+ 2M R-/);
        const proc = processNode(k, k.processes.get('p')!);
        expect(expand(findNode(proc, ['fds'])!)).toEqual({
            3: '/dev/vfio/vfio (container 1)', 4: '/dev/vfio/0 (on container 1)', 5: 'VFIO device 0000:01:00.0 (nic0) (through its group)',
        });
    });
});
