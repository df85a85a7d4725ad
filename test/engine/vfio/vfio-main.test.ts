/**
 * VFIO device registration (`engine/vfio/vfio-main.ts`) against drivers/vfio/group.c
 * (vfio_group_find_or_alloc, vfio_noiommu_group_alloc, vfio_create_group: the
 * "noiommu-N" node name) and drivers/vfio/container.c (vfio_noiommu_open,
 * vfio_group_use_container): noiommu mode.
 */
import { describe, expect, test } from 'vitest';
import type { MachineSpec } from '../../../engine/machine/spec.js';
import { ep } from '../machine/builders.js';
import { machineOf } from '../machines.js';
import { dev, expectAllMatched, expectStep, finalKernel, path, scenario, v, vfioGroup } from '../scenario.js';

const VFIO_NOIOMMU_IOMMU = 8n;

/** A PCI segment with no IOMMU in front of it (no DMAR covers it). */
function bare(cmdline?: string): MachineSpec {
    return machineOf([], [{ segment: 0, children: [ep('00:03.0', 'nic0', { driver: 'e1000e' })(0), ep('00:04.0', 'nic1', { driver: 'e1000e' })(0)] }], { cmdline });
}

describe('noiommu mode (vfio.enable_unsafe_noiommu_mode=1)', () => {
    test('a device without an IOMMU gets /dev/vfio/noiommu-N; everything needs CAP_SYS_RAWIO; DMA is untranslated', () => {
        const s = scenario(bare('vfio.enable_unsafe_noiommu_mode=1'));
        const root = s.process('root');
        root.unbind('nic0');
        root.bind('nic0', 'vfio-pci');
        root.unbind('nic1');
        root.bind('nic1', 'vfio-pci');
        const weak = s.process('weak', { caps: ['CAP_IPC_LOCK'] });
        const eperm = weak.open(vfioGroup('nic0'), 'g', { expect: 'EPERM' });
        const plain = weak.open(path('/dev/vfio/0'), 'g', { expect: 'ENOENT' });
        const open = root.open(vfioGroup('nic0'), 'g');
        root.open(path('/dev/vfio/vfio'), 'c');
        const status = root.ioctl('VFIO_GROUP_GET_STATUS', v('g'), {}, { expect: 'ok', fields: { flags: 1 } });
        root.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('c') });
        // A second noiommu group may join the same container (all noiommu).
        root.open(vfioGroup('nic1'), 'g1');
        const second = root.ioctl('VFIO_GROUP_SET_CONTAINER', v('g1'), { positional: v('c') });
        const early = root.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('g'), { positional: dev('nic0') }, { expect: 'EINVAL' });
        root.ioctl('VFIO_SET_IOMMU', v('c'), { positional: VFIO_NOIOMMU_IOMMU });
        root.send(v('g'), 'weak', 'rg');
        const weakDev = weak.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('rg'), { positional: dev('nic0') }, { expect: 'EPERM' });
        const fd = root.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('g'), { positional: dev('nic0') }, { bind: 'd' });
        const dma = root.dma('nic0', 'write', 0x1234_5000n, 64n);
        const run = s.run();
        expectAllMatched(run);
        const r = expectStep(run, eperm, 'EPERM', /\/dev\/vfio\/noiommu-0 is a noiommu group: opening it needs CAP_SYS_RAWIO/);
        expect(r.source?.func).toBe('vfio_group_fops_open');
        expectStep(run, plain, 'ENOENT');
        expect(run.results[open]!.values.fd?.display).toMatch(/\/dev\/vfio\/noiommu-0$/);
        expectStep(run, status, 'ok');
        expectStep(run, second, 'ok');
        expectStep(run, early, 'EINVAL', /no IOMMU driver/);
        expectStep(run, weakDev, 'EPERM', /noiommu device needs CAP_SYS_RAWIO/);
        expectStep(run, fd, 'ok');
        // No IOMMU: the bus address is the physical address.
        expect(run.results[dma]!.values.pa?.value).toBe(0x1234_5000n);
        expect(run.results[dma]!.dma?.segments[0]?.domain).toBeUndefined();
        expect(finalKernel(run).log.some((l) => /Adding kernel taint for vfio-noiommu group on device/.test(l))).toBe(true);
    });

    test('a noiommu group and an IOMMU-backed group cannot share a container: EPERM', () => {
        const m: MachineSpec = {
            ...bare('vfio.enable_unsafe_noiommu_mode=1'),
            iommus: [{ name: 'dmar0', kind: 'intel-vtd', features: ['coherent', 'enforce-coherency', 'intr-remap'] }],
            segments: [
                { segment: 0, children: [ep('00:03.0', 'nic0', { driver: 'e1000e' })(0)] },
                { segment: 1, iommu: 'dmar0', children: [ep('00:03.0', 'nic1', { driver: 'e1000e' })(1)] },
            ],
        };
        const s = scenario(m);
        const p = s.process('root');
        p.unbind('nic0');
        p.bind('nic0', 'vfio-pci');
        p.unbind('nic1');
        p.bind('nic1', 'vfio-pci');
        p.open(path('/dev/vfio/vfio'), 'c');
        p.open(vfioGroup('nic1'), 'real');
        p.open(vfioGroup('nic0'), 'fake');
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('real'), { positional: v('c') });
        const mix = p.ioctl('VFIO_GROUP_SET_CONTAINER', v('fake'), { positional: v('c') }, { expect: 'EPERM' });
        const run = s.run();
        expectAllMatched(run);
        const r = expectStep(run, mix, 'EPERM', /holds IOMMU-backed groups: real and fake groups cannot mix/);
        expect(r.source?.func).toBe('vfio_container_attach_group');
        // The noiommu group took the lowest free IOMMU group id after the real one (0).
        expect(run.results.find((x) => x.op === 'open' && x.values.fd?.display?.includes('noiommu'))!.values.fd!.display).toMatch(/noiommu-1$/);
    });
});
