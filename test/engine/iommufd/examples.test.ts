/**
 * The iommufd scenarios of the shared examples and of the language design, run on the engine
 * as steps: every expectation written there must hold.
 */
import { describe, expect, test } from 'vitest';
import { expectAllMatched, expectStep, scenario, v, vfioDevice, vfioGroup } from '../scenario.js';
import { ALLOC_PASID, ATTACH_PASID, FIXED_IOVA, G, K, M, RW, accelHost, ctxOf, finalKernel, full, server } from './helpers.js';

describe('language.md: iommufd_basics', () => {
    test('bind, map, attach (an auto HWPT), the IOAS is busy, DMA lands in the mapped memory', () => {
        const s = scenario(full);
        const vmm = s.process('vmm');
        vmm.unbind('nvme0');
        vmm.bind('nvme0', 'vfio-pci');
        vmm.open({ kind: 'literal', path: '/dev/iommu' }, 'iommufd');
        vmm.open(vfioDevice('nvme0'), 'vdev');
        const bind = vmm.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('vdev'), { iommufd: v('iommufd') }, { bind: 'devid' });
        const alloc = vmm.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        vmm.mmap(2n * M, 'ram');
        vmm.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 2n * M, iova: 0x10_0000n, flags: FIXED_IOVA | RW });
        const attach = vmm.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('vdev'), { pt_id: v('ioas') }, { bind: 'hwpt' });
        const destroy = vmm.ioctl('IOMMU_DESTROY', v('iommufd'), { id: v('ioas') }, { expect: 'EBUSY' });
        const dma = vmm.dma('nvme0', 'write', 0x10_0000n, 4n * K);
        const run = s.run();
        expectAllMatched(run);
        expect(run.results[bind]!.values.out_devid?.value).toBe(1n);
        expect(run.results[alloc]!.values.out_ioas_id?.value).toBe(2n);
        expect(run.results[attach]!.values.pt_id?.value).toBe(3n);
        expectStep(run, destroy, 'EBUSY', /IOAS 2 is still in use: HWPT 3 \(auto\) maps it/);
        const seg = run.results[dma]!.dma!.segments[0]!;
        expect(seg.domain).toBeDefined();
        // The 2 MiB THP-aligned anonymous mapping is not physically contiguous: 4K leaves.
        expect(seg.pageSize).toBe(4n * K);
    });
});

describe('example 02: the IOAS is the container', () => {
    test('device_centric_vfio', () => {
        const s = scenario(server);
        const vmm = s.process('vmm');
        vmm.unbind('nvme0');
        vmm.bind('nvme0', 'vfio-pci');
        vmm.unbind('nic0');
        vmm.bind('nic0', 'vfio-pci');
        vmm.open({ kind: 'literal', path: '/dev/iommu' }, 'iommufd');
        vmm.open(vfioDevice('nvme0'), 'disk');
        vmm.open(vfioDevice('nic0'), 'net');
        vmm.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('disk'), { iommufd: v('iommufd') }, { bind: 'disk_id' });
        vmm.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('net'), { iommufd: v('iommufd') }, { bind: 'net_id' });
        vmm.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'guest' });
        vmm.mmap(1n * G, 'ram');
        vmm.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('guest'), user_va: v('ram'), length: 1n * G, iova: 0, flags: FIXED_IOVA | RW });
        const a1 = vmm.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('disk'), { pt_id: v('guest') }, { bind: 'hwpt' });
        const a2 = vmm.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('net'), { pt_id: v('guest') });
        const d1 = vmm.dma('nvme0', 'write', 0x1000n, 4n * K);
        const d2 = vmm.dma('nic0', 'read', 0x3fff_f000n, 4n * K);
        const busy = vmm.ioctl('IOMMU_DESTROY', v('iommufd'), { id: v('guest') }, { expect: 'EBUSY' });
        const other = s.process('other');
        const open = other.open(vfioGroup('nvme0'), 'g', { expect: 'EBUSY' });
        const run = s.run();
        expectAllMatched(run);
        // Same IOMMU unit: the second device reuses the auto HWPT.
        expect(run.results[a2]!.values.pt_id?.value).toBe(run.results[a1]!.values.pt_id?.value);
        expect(run.results[d1]!.dma!.segments[0]!.domain).toBe(run.results[d2]!.dma!.segments[0]!.domain);
        expectStep(run, busy, 'EBUSY', /HWPT 4 \(auto\) maps it/);
        expectStep(run, open, 'EBUSY', /bound to an iommufd through its cdev/);
    });

    test('one_group_one_domain', () => {
        const s = scenario(server);
        const vmm = s.process('vmm');
        vmm.unbind('nicA');
        vmm.bind('nicA', 'vfio-pci');
        vmm.unbind('nicB');
        vmm.bind('nicB', 'vfio-pci');
        vmm.open({ kind: 'literal', path: '/dev/iommu' }, 'iommufd');
        vmm.open(vfioDevice('nicA'), 'a');
        vmm.open(vfioDevice('nicB'), 'b');
        vmm.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('a'), { iommufd: v('iommufd') });
        vmm.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('b'), { iommufd: v('iommufd') });
        vmm.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas1' });
        vmm.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas2' });
        const a = vmm.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('a'), { pt_id: v('ioas1') });
        const bad = vmm.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('b'), { pt_id: v('ioas2') }, { expect: 'EINVAL' });
        const b = vmm.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('b'), { pt_id: v('ioas1') });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, bad, 'EINVAL', /group \d+ has its RID attached to HWPT 5 .*every device of an IOMMU group must use the same HWPT/);
        expect(run.results[b]!.values.pt_id?.value).toBe(run.results[a]!.values.pt_id?.value);
        // The failed attach allocated HWPT 6 for ioas2 and released it: nothing is left on ioas2.
        const ctx = ctxOf(run);
        expect([...ctx.objects.keys()]).toEqual([1, 2, 3, 4, 5]);
    });
});

describe('example 03: two_vms_one_pasid', () => {
    test('two slices of one parent: PASID numbers belong to the requester ID', () => {
        const s = scenario(accelHost);
        for (const [vm, slice] of [['vm1', 'wq_a'], ['vm2', 'wq_b']] as const) {
            const p = s.process(vm);
            p.open({ kind: 'literal', path: '/dev/iommu' }, 'iommufd');
            p.open(vfioDevice(slice), 'slice');
            p.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('slice'), { iommufd: v('iommufd') }, { bind: 'dev' });
            p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
            p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('dev'), pt_id: v('ioas'), flags: ALLOC_PASID }, { bind: 'hwpt' });
        }
        const vm1 = s.process('vm1');
        const ok1 = vm1.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('slice'), { pt_id: v('hwpt'), flags: ATTACH_PASID, pasid: 1 });
        const vm2 = s.process('vm2');
        const busy = vm2.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('slice'), { pt_id: v('hwpt'), flags: ATTACH_PASID, pasid: 1 }, { expect: 'EBUSY' });
        const ok2 = vm2.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('slice'), { pt_id: v('hwpt'), flags: ATTACH_PASID, pasid: 2 });
        const run = s.run();
        expectAllMatched(run);
        expect(run.results[ok1]!.values.pt_id?.value).toBe(3n);
        expect(run.results[ok2]!.values.pt_id?.value).toBe(3n);
        expectStep(run, busy, 'EBUSY', /PASID 1 of group \d+ \(requester ID of 0000:01:00\.0 \(dsa0\)\) is already attached, by iommufd 1/);
        // Both PASIDs sit in dsa0's PASID table; dsa0 stays on idxd with its default domain.
        const k = finalKernel(run);
        const dsa0 = k.devices.get('dsa0')!;
        const group = k.groups.get(dsa0.group!)!;
        expect([...group.pasid_array.keys()].sort()).toEqual([1, 2]);
        expect([...dsa0.pasids.keys()].sort()).toEqual([1, 2]);
        expect(dsa0.driver).toBe('idxd');
        expect(group.owner).toBeNull();
        expect(group.domain).toBe(group.default_domain);
    });
});

describe('kernel-semantics section 10: IOVA ranges after attaching an Intel device', () => {
    function ranges(flags: bigint) {
        const s = scenario(full);
        const vmm = s.process('vmm');
        vmm.unbind('nvme0');
        vmm.bind('nvme0', 'vfio-pci');
        vmm.open({ kind: 'literal', path: '/dev/iommu' }, 'iommufd');
        vmm.open(vfioDevice('nvme0'), 'vdev');
        vmm.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('vdev'), { iommufd: v('iommufd') }, { bind: 'dev' });
        vmm.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        const fresh = vmm.ioctl('IOMMU_IOAS_IOVA_RANGES', v('iommufd'), { ioas_id: v('ioas'), num_iovas: 4 });
        if (flags === 0n) {
            vmm.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('vdev'), { pt_id: v('ioas') });
        } else {
            vmm.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('dev'), pt_id: v('ioas'), flags }, { bind: 'hwpt' });
            vmm.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('vdev'), { pt_id: v('hwpt') });
        }
        const after = vmm.ioctl('IOMMU_IOAS_IOVA_RANGES', v('iommufd'), { ioas_id: v('ioas'), num_iovas: 4 });
        const run = s.run();
        expectAllMatched(run);
        return { fresh: run.results[fresh]!.values, after: run.results[after]!.values };
    }

    test('first stage (auto HWPT): [0, 0xfedfffff] and [0xfef00000, 2^47 - 1], alignment 4K', () => {
        const { fresh, after } = ranges(0n);
        expect(fresh.num_iovas?.value).toBe(1n);
        expect(fresh['allowed_iovas[0].last']?.value).toBe(0xffff_ffff_ffff_ffffn);
        expect(fresh.out_iova_alignment?.value).toBe(1n);
        expect(after.num_iovas?.value).toBe(2n);
        expect(after['allowed_iovas[0].start']?.value).toBe(0n);
        expect(after['allowed_iovas[0].last']?.value).toBe(0xfedf_ffffn);
        expect(after['allowed_iovas[1].start']?.value).toBe(0xfef0_0000n);
        expect(after['allowed_iovas[1].last']?.value).toBe(0x7fff_ffff_ffffn);
        expect(after.out_iova_alignment?.value).toBe(4096n);
    });

    test('a DIRTY_TRACKING HWPT is second stage: the last range ends at 2^48 - 1', () => {
        const { after } = ranges(2n);
        expect(after.num_iovas?.value).toBe(2n);
        expect(after['allowed_iovas[1].last']?.value).toBe(0xffff_ffff_ffffn);
    });
});
