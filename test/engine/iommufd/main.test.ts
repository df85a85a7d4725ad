/**
 * `/dev/iommu` itself (engine/iommufd/main.ts, object.ts): open, ioctl dispatch and size rules,
 * IOMMU_DESTROY and id reuse, release of the context, kernel versions.
 */
import { describe, expect, test } from 'vitest';
import { expectAllMatched, expectStep, scenario, v } from '../scenario.js';
import { ALLOC_PASID, FIXED_IOVA, K, M, RW, bindAll, finalKernel, full, machineWith, vtdUnit } from './helpers.js';

const units = vtdUnit(['coherent', 'enforce-coherency', 'intr-remap', 'nesting', 'dirty-tracking']);

describe('open', () => {
    test('/dev/iommu exists from Linux 6.2', () => {
        const s = scenario(machineWith(units, { kernel: { major: 6, minor: 1 } }));
        const o = s.process('p').open({ kind: 'literal', path: '/dev/iommu' }, 'fd', { expect: 'ENOENT' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, o, 'ENOENT', /iommufd appeared in 6\.2/);
    });
});

describe('ioctl dispatch (iommufd_fops_ioctl)', () => {
    test('size below the last mandatory field EINVAL; a VFIO device ioctl ENOTTY; too new ENOTTY; a newer field E2BIG', () => {
        const s = scenario(machineWith(units, { kernel: { major: 6, minor: 12 } }));
        const p = s.process('p');
        p.open({ kind: 'literal', path: '/dev/iommu' }, 'fd');
        const small = p.ioctl('IOMMU_IOAS_ALLOC', v('fd'), { size: 8 }, { expect: 'EINVAL' });
        const dev = p.ioctl('VFIO_DEVICE_GET_INFO', v('fd'), {}, { expect: 'ENOTTY' });
        const grp = p.ioctl('VFIO_GROUP_GET_STATUS', v('fd'), {}, { expect: 'ENOTTY' });
        const viommu = p.ioctl('IOMMU_VIOMMU_ALLOC', v('fd'), { type: 1 }, { expect: 'ENOTTY' });
        const big = p.ioctl('IOMMU_GET_HW_INFO', v('fd'), { dev_id: 1, in_data_type: 1 }, { expect: 'E2BIG' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, small, 'EINVAL', /size 8 is smaller than 12/);
        expectStep(run, dev, 'ENOTTY');
        expectStep(run, grp, 'ENOTTY');
        expectStep(run, viommu, 'ENOTTY', /IOMMU_VIOMMU_ALLOC does not exist in Linux 6\.12 \(it appeared in 6\.13\)/);
        expectStep(run, big, 'E2BIG', /in_data_type is not part of struct iommu_hw_info in Linux 6\.12/);
    });

    test('flags a kernel does not know yet are EOPNOTSUPP (IOMMU_HWPT_ALLOC_PASID before 6.15)', () => {
        const s = scenario(machineWith({ ...units, pasidWidth: 20 }, { kernel: { major: 6, minor: 12 } }));
        bindAll(s, 'vmm', ['nvme0']);
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        const pasid = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas'), flags: ALLOC_PASID }, { expect: 'EOPNOTSUPP' });
        const info = p.ioctl('IOMMU_GET_HW_INFO', v('iommufd'), { dev_id: v('nvme0_id'), data_len: 24 }, { expect: 'ok', fields: { out_capabilities: 1 } });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, pasid, 'EOPNOTSUPP', /flags 0x8 are not IOMMU_HWPT_ALLOC flags of this kernel/);
        expectStep(run, info, 'ok');
    });
});

describe('IOMMU_DESTROY', () => {
    test('unknown id ENOENT; a DEVICE is always EBUSY (the VFIO driver holds it)', () => {
        const s = scenario(full);
        bindAll(s, 'vmm', ['nvme0']);
        const p = s.process('vmm');
        const noent = p.ioctl('IOMMU_DESTROY', v('iommufd'), { id: 5 }, { expect: 'ENOENT' });
        const zero = p.ioctl('IOMMU_DESTROY', v('iommufd'), { id: 0 }, { expect: 'ENOENT' });
        const devb = p.ioctl('IOMMU_DESTROY', v('iommufd'), { id: v('nvme0_id') }, { expect: 'EBUSY' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, noent, 'ENOENT', /id 5 is not an object of iommufd 1/);
        expectStep(run, zero, 'ENOENT');
        expectStep(run, devb, 'EBUSY', /DEVICE 1 \(0000:01:00\.0 nvme0\) is still in use: the VFIO driver holds it until the device fd is closed/);
    });

    test('destroying an IOAS unmaps and unpins everything it held', () => {
        const s = scenario(full);
        const root = s.process('root');
        root.unbind('nvme0');
        root.bind('nvme0', 'vfio-pci');
        s.process('vmm', { uid: 1000, memlock: 8n * M, caps: [] });
        bindAll(s, 'vmm', ['nvme0'], { rebind: false });
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas') }, { bind: 'h' });
        p.mmap(1n * M, 'ram');
        p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 1n * M, iova: 0x10_0000n, flags: FIXED_IOVA | RW });
        const pinned = p.ioctl('IOMMU_IOAS_IOVA_RANGES', v('iommufd'), { ioas_id: v('ioas'), num_iovas: 4 });
        p.ioctl('IOMMU_DESTROY', v('iommufd'), { id: v('h') });
        p.ioctl('IOMMU_DESTROY', v('iommufd'), { id: v('ioas') });
        const run = s.run();
        expectAllMatched(run);
        expect(run.ticks[run.results[pinned]!.tick]!.state.kernel.userLockedVm.get(1000)).toBe(256n);
        expect(finalKernel(run).userLockedVm.get(1000)).toBe(0n);
    });
});

describe('release (iommufd_fops_release)', () => {
    test('closing the fd destroys every object leaf first, freeing their domains and pins', () => {
        const s = scenario(full);
        const root = s.process('root');
        root.unbind('nvme0');
        root.bind('nvme0', 'vfio-pci');
        s.process('vmm', { uid: 1000, memlock: 8n * M, caps: [] });
        bindAll(s, 'vmm', ['nvme0'], { rebind: false });
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'a' });
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'b' });
        p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('a'), flags: 1n }, { bind: 'parent' });
        p.mmap(64n * K, 'ram');
        p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('a'), user_va: v('ram'), length: 64n * K, iova: 0x1_0000n, flags: FIXED_IOVA | RW });
        p.ioctl('IOMMU_IOAS_COPY', v('iommufd'), { src_ioas_id: v('a'), dst_ioas_id: v('b'), src_iova: 0x1_0000n, length: 64n * K, flags: RW });
        p.close(v('nvme0_fd'));
        const domains = p.ioctl('IOMMU_IOAS_IOVA_RANGES', v('iommufd'), { ioas_id: v('a'), num_iovas: 4 });
        p.close(v('iommufd'));
        const run = s.run();
        expectAllMatched(run);
        const mid = run.ticks[run.results[domains]!.tick]!.state.kernel;
        const k = finalKernel(run);
        expect(k.iommufd.ctxs.size).toBe(0);
        expect(k.domains.size).toBe(mid.domains.size - 1);
        expect(k.userLockedVm.get(1000)).toBe(0n);
    });
});
