/**
 * The legacy-VFIO parts of the shared examples, run on the engine as steps (the language is not
 * involved): each expectation written in the example must hold.
 */
import { describe, expect, test } from 'vitest';
import type { IommuSpec, MachineSpec } from '../../../engine/machine/spec.js';
import { ep, pci, rp } from '../machine/builders.js';
import { G, M, K, dev, expectAllMatched, expectStep, finalKernel, scenario, v, vfioGroup } from '../scenario.js';
import { workstation } from '../machines.js';

const VIABLE = 1n;
const TYPE1v2 = 3n;
const READ = 1n;
const WRITE = 2n;

function vtd(features: IommuSpec['features'], addressWidth = 48, pageSizes = [4n * K, 2n * M, 1n * G]): IommuSpec {
    return { name: 'dmar0', kind: 'intel-vtd', addressWidth, pageSizes, features };
}

/** /work/shared/examples/01-groups-not-devices.iommu, machine `desktop`. */
const desktop: MachineSpec = {
    name: 'desktop',
    iommus: [{ ...vtd(['coherent', 'enforce-coherency', 'intr-remap', 'nesting', 'dirty-tracking']), pasidWidth: 20 }],
    segments: [pci(0, 'dmar0',
        rp('00:1c.0', 'rp0', {}, ep('01:00.0', 'nic0', { driver: 'ixgbe' }), ep('01:00.1', 'nic1', { driver: 'ixgbe' })),
        rp('00:1d.0', 'rp1', { acs: true }, ep('02:00.0', 'gpu0', { driver: 'nvidia', sriov: 4 })),
    )],
    platform: [],
    mdevs: [{ name: 'vgpu0', parent: 'gpu0', kind: 'emulated' }],
};

describe('example 01: the group is the unit of isolation', () => {
    test('one_function_is_not_enough', () => {
        const s = scenario(desktop);
        const vmm = s.process('vmm');
        vmm.unbind('nic0');
        vmm.bind('nic0', 'vfio-pci');
        vmm.open({ kind: 'literal', path: '/dev/vfio/vfio' }, 'container');
        vmm.open(vfioGroup('nic0'), 'group');
        const status1 = vmm.ioctl('VFIO_GROUP_GET_STATUS', v('group'), {}, { expect: 'ok', fields: { flags: 0 } });
        const setc1 = vmm.ioctl('VFIO_GROUP_SET_CONTAINER', v('group'), { positional: v('container') }, { expect: 'EPERM' });
        vmm.unbind('nic1');
        vmm.bind('nic1', 'vfio-pci');
        vmm.ioctl('VFIO_GROUP_GET_STATUS', v('group'), {}, { expect: 'ok', fields: { flags: VIABLE } });
        vmm.ioctl('VFIO_GROUP_SET_CONTAINER', v('group'), { positional: v('container') });
        vmm.ioctl('VFIO_SET_IOMMU', v('container'), { positional: TYPE1v2 });
        vmm.mmap(256n * M, 'ram');
        vmm.ioctl('VFIO_IOMMU_MAP_DMA', v('container'), { vaddr: v('ram'), iova: 0, size: 256n * M, flags: READ | WRITE });
        vmm.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('group'), { positional: dev('nic0') }, { bind: 'port0' });
        const dma1 = vmm.dma('nic1', 'write', 0x20_0000n, 4n * K);
        const dma2 = vmm.dma('nic0', 'read', 0x1000_0000n, 8n, { expect: 'fault' });
        const host = s.process('host');
        host.unbind('nic1');
        const bind = host.bind('nic1', 'ixgbe', { expect: 'EBUSY' });
        const run = s.run();
        expectAllMatched(run);
        expect(run.results[status1]!.values.flags?.value).toBe(0n);
        // The reason names the sibling on a kernel driver, and where Linux says no.
        const r = expectStep(run, setc1, 'EPERM', /^group 0 is not viable: 0000:01:00\.1 \(nic1\) is bound to ixgbe$/);
        expect(r.source?.file).toBe('drivers/iommu/iommu.c');
        expect(run.results[dma1]!.dma?.segments[0]?.pageSize).toBe(4n * K);
        expectStep(run, dma2, 'fault', /not mapped/);
        expectStep(run, bind, 'EBUSY', /owned by VFIO group/);
    });

    test('emulated_mdev gets a group of its own and DMAs through the container', () => {
        const s = scenario(desktop);
        const vmm = s.process('vmm');
        vmm.open({ kind: 'literal', path: '/dev/vfio/vfio' }, 'container');
        vmm.open(vfioGroup('vgpu0'), 'group');
        vmm.ioctl('VFIO_GROUP_GET_STATUS', v('group'), {}, { expect: 'ok', fields: { flags: VIABLE } });
        vmm.ioctl('VFIO_GROUP_SET_CONTAINER', v('group'), { positional: v('container') });
        vmm.ioctl('VFIO_SET_IOMMU', v('container'), { positional: TYPE1v2 });
        vmm.mmap(64n * M, 'ram');
        vmm.ioctl('VFIO_IOMMU_MAP_DMA', v('container'), { vaddr: v('ram'), iova: 0, size: 64n * M, flags: READ | WRITE });
        vmm.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('group'), { positional: dev('vgpu0') }, { bind: 'vgpu' });
        const d = vmm.dma('vgpu0', 'write', 0x1000n, 4n * K);
        const run = s.run();
        expectAllMatched(run);
        expect(run.results[d]!.dma?.segments[0]?.pa).toBeGreaterThan(0n);
    });
});

/** /work/shared/examples/04-type1-and-interrupt-remapping.iommu */
function oldServer(cmdline?: string): MachineSpec {
    return {
        name: cmdline ? 'old_server_unsafe' : 'old_server', cmdline,
        iommus: [vtd(['coherent', 'enforce-coherency'], 39, [4n * K, 2n * M])],
        segments: [pci(0, 'dmar0', rp('00:01.0', 'rp0', { acs: true }, ep('01:00.0', 'nic0', { driver: 'e1000e' })))],
        platform: [], mdevs: [],
    };
}

describe('example 04: type1 refuses an IOMMU that cannot isolate MSIs', () => {
    test('msi_not_isolated', () => {
        const s = scenario(oldServer());
        const vmm = s.process('vmm');
        vmm.unbind('nic0');
        vmm.bind('nic0', 'vfio-pci');
        vmm.open({ kind: 'literal', path: '/dev/vfio/vfio' }, 'container');
        vmm.open(vfioGroup('nic0'), 'group');
        vmm.ioctl('VFIO_CHECK_EXTENSION', v('container'), { positional: TYPE1v2 }, { expect: 'ok', fields: { value: 1 } });
        vmm.ioctl('VFIO_GROUP_SET_CONTAINER', v('group'), { positional: v('container') });
        const set = vmm.ioctl('VFIO_SET_IOMMU', v('container'), { positional: TYPE1v2 }, { expect: 'EPERM' });
        const get = vmm.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('group'), { positional: dev('nic0') }, { expect: 'EINVAL' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, set, 'EPERM', /interrupt remapping.*allow_unsafe_interrupts/);
        expectStep(run, get, 'EINVAL', /no IOMMU driver/);
    });

    test('opted_in', () => {
        const s = scenario(oldServer('vfio_iommu_type1.allow_unsafe_interrupts=1'));
        const vmm = s.process('vmm');
        vmm.unbind('nic0');
        vmm.bind('nic0', 'vfio-pci');
        vmm.open({ kind: 'literal', path: '/dev/vfio/vfio' }, 'container');
        vmm.open(vfioGroup('nic0'), 'group');
        vmm.ioctl('VFIO_GROUP_SET_CONTAINER', v('group'), { positional: v('container') });
        vmm.ioctl('VFIO_SET_IOMMU', v('container'), { positional: TYPE1v2 });
        vmm.mmap(512n * M, 'ram');
        vmm.ioctl('VFIO_IOMMU_MAP_DMA', v('container'), { vaddr: v('ram'), iova: 0, size: 512n * M, flags: READ | WRITE });
        const eexist = vmm.ioctl('VFIO_IOMMU_MAP_DMA', v('container'), { vaddr: v('ram'), iova: 0x1000_0000, size: 2n * M, flags: READ }, { expect: 'EEXIST' });
        const split = vmm.ioctl('VFIO_IOMMU_UNMAP_DMA', v('container'), { iova: 0x100_0000, size: 2n * M }, { expect: 'EINVAL' });
        const msi = vmm.ioctl('VFIO_IOMMU_MAP_DMA', v('container'), { vaddr: v('ram'), iova: 0xfee0_0000, size: 1n * M, flags: READ }, { expect: 'EINVAL' });
        vmm.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('group'), { positional: dev('nic0') }, { bind: 'dev' });
        const dma = vmm.dma('nic0', 'write', 0x1fff_f000n, 4n * K);
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, eexist, 'EEXIST', /overlaps the existing mapping/);
        expectStep(run, split, 'EINVAL', /never splits/);
        expectStep(run, msi, 'EINVAL', /MSI window/);
        expect(run.results[dma]!.dma?.segments.length).toBe(1);
    });
});

/** The contract's own example: language.md, machine `workstation`, scenario `assign_nic`. */
describe('language.md: assign_nic on the workstation', () => {
    test('the derived groups the scenario relies on', () => {
        const k = finalKernel(scenario(workstation()).run());
        const ids = (n: string) => k.devices.get(n)!.group;
        expect([ids('igpu'), ids('rp0'), ids('nic0'), ids('sound0')]).toEqual([0, 1, 2, 3]);
        expect(k.groups.get(2)!.devices).toEqual(['rp1', 'nic0', 'nic1']);
        expect(k.groups.get(3)!.devices).toEqual(['legacy', 'sound0']);
    });

    test('every expectation it states holds, and the intruder gets EBUSY', () => {
        const s = scenario(workstation());
        const qemu = s.process('qemu');
        qemu.unbind('nic0');
        qemu.unbind('nic1');
        qemu.bind('nic0', 'vfio-pci');
        qemu.bind('nic1', 'vfio-pci');
        qemu.open({ kind: 'literal', path: '/dev/vfio/vfio' }, 'container');
        const group = qemu.open(vfioGroup('nic0'), 'group');
        const status = qemu.ioctl('VFIO_GROUP_GET_STATUS', v('group'), {}, { expect: 'ok', fields: { flags: VIABLE } });
        qemu.ioctl('VFIO_GROUP_SET_CONTAINER', v('group'), { positional: v('container') });
        qemu.ioctl('VFIO_SET_IOMMU', v('container'), { positional: TYPE1v2 });
        qemu.mmap(1n * G, 'ram');
        qemu.ioctl('VFIO_IOMMU_MAP_DMA', v('container'), { vaddr: v('ram'), iova: 0, size: 1n * G, flags: READ | WRITE });
        const devFd = qemu.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('group'), { positional: dev('nic0') }, { bind: 'dev' });
        const ok = qemu.dma('nic0', 'write', 0x1000n, 64n);
        const beyond = qemu.dma('nic0', 'read', 0x4000_0000n, 8n, { expect: 'fault' });
        const intruder = s.process('intruder').open(vfioGroup('nic0'), 'g', { expect: 'EBUSY' });
        const run = s.run();
        expectAllMatched(run);
        expect(run.results[group]!.values.fd?.display).toMatch(/→ \/dev\/vfio\/2$/);
        expect(run.results[status]!.values.flags?.value).toBe(VIABLE);
        expect(run.results[devFd]!.values.fd?.value).toBeGreaterThan(0n);
        expect(run.results[ok]!.dma?.segments[0]?.pageSize).toBe(4n * K);
        const f = expectStep(run, beyond, 'fault', /IOVA 0x40000000 is not mapped in paging domain/);
        expect(f.dma?.fault?.reason).toBe('not-present');
        const r = expectStep(run, intruder, 'EBUSY', /\/dev\/vfio\/2 is already open \(by qemu\): a group is opened by one owner at a time/);
        expect(r.source?.file).toBe('drivers/vfio/group.c');
    });
});
