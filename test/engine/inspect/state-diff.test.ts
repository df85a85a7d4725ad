import { describe, expect, test } from 'vitest';
import { diffKernelStates } from '../../../engine/inspect/state-diff.js';
import type { MachineSpec } from '../../../engine/machine/spec.js';
import type { ScenarioRun } from '../../../engine/runner.js';
import type { KernelState } from '../../../engine/state.js';
import { ep, pci, rp, vtd } from '../machine/builders.js';
import { G, path, scenario, v, vfioGroup } from '../scenario.js';

const machine: MachineSpec = {
    name: 'm', iommus: [vtd('dmar0')], platform: [], mdevs: [],
    segments: [pci(0, 'dmar0',
        rp('00:1c.0', 'rp0', {}, ep('01:00.0', 'nic0', { driver: 'ixgbe' }), ep('01:00.1', 'nic1', { driver: 'ixgbe' })),
    )],
};

/** The kernel before and after step `index`'s tick. */
function around(run: ScenarioRun, index: number): [KernelState, KernelState] {
    const tick = run.ticks.find(t => t.step === index)!;
    const before = tick.index === 0 ? run.initial.kernel : run.ticks[tick.index - 1]!.state.kernel;
    return [before, tick.state.kernel];
}

describe('diffKernelStates', () => {
    const s = scenario(machine);
    const p = s.process('qemu');
    const unbind = p.unbind('nic0');
    p.bind('nic0', 'vfio-pci');
    p.unbind('nic1');
    p.bind('nic1', 'vfio-pci');
    const open = p.open(path('/dev/vfio/vfio'), 'c');
    p.open(vfioGroup('nic0'), 'g');
    const setContainer = p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('c') });
    p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: 3n });
    p.mmap(G, 'ram');
    const map = p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0n, size: G, flags: 3n });
    const failing = p.close({ kind: 'int', value: 99n });
    const run = s.run();

    test('a driver change names the device and both drivers', () => {
        expect(diffKernelStates(...around(run, unbind))).toContain('nic0: driver ixgbe → none');
    });

    test('attaching a group to a container: the group gets an owner and a blocking domain, the container the group', () => {
        const diff = diffKernelStates(...around(run, setContainer));
        expect(diff.find(l => l.startsWith('group 0:'))).toMatch(/^group 0: owner → VFIO group \d+, domain → blocking domain \d+$/);
        expect(diff).toContain('container 1: +group 0');
    });

    test('a mapping shows in the container, the domain and the process', () => {
        const diff = diffKernelStates(...around(run, map));
        expect(diff).toContain('container 1: +1 mapping [0x0, 0x3fffffff]');
        expect(diff.some(l => /^domain \d+: mapped 0 → 1G$/.test(l))).toBe(true);
        expect(diff).toContain('qemu: locked_vm 0 → 1G');
    });

    test('an open names the new fd and what it refers to', () => {
        const diff = diffKernelStates(...around(run, open));
        expect(diff).toEqual(['qemu: fd 3 → /dev/vfio/vfio (container 1)', '+ container 1']);
    });

    test('a failed call and identical states change nothing', () => {
        expect(diffKernelStates(...around(run, failing))).toEqual([]);
        const k = run.initial.kernel;
        expect(diffKernelStates(k, k)).toEqual([]);
    });

    test('long diffs are cut with a count of the rest', () => {
        const before = run.initial.kernel;
        const after = run.ticks[run.ticks.length - 1]!.state.kernel;
        const all = diffKernelStates(before, after, { maxLines: 1000 });
        const cut = diffKernelStates(before, after, { maxLines: 3 });
        expect(all.length).toBeGreaterThan(3);
        expect(cut).toHaveLength(3);
        expect(cut[2]).toBe(`… and ${all.length - 2} more changes`);
    });
});
