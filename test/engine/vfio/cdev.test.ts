/**
 * The VFIO device cdev (engine/vfio/device-cdev.ts, engine/vfio/iommufd.ts): kernel-semantics
 * section 4, in the order of its tables.
 */
import { describe, expect, test } from 'vitest';
import { bootKernel } from '../../../engine/kernel.js';
import { initialVfToken } from '../../../engine/vfio/vfio-pci.js';
import { ep, pci, rp } from '../machine/builders.js';
import { dev, expectAllMatched, expectStep, scenario, v, vfioDevice, vfioGroup } from '../scenario.js';
import { ATTACH_PASID, FIXED_IOVA, K, RW, arr, bindAll, ctxOf, finalKernel, full, machineWith, vtdUnit } from '../iommufd/helpers.js';

describe('VFIO_DEVICE_BIND_IOMMUFD', () => {
    test('an unbound cdev fd refuses every other ioctl (EINVAL)', () => {
        const s = scenario(full);
        const p = s.process('vmm');
        p.unbind('nvme0');
        p.bind('nvme0', 'vfio-pci');
        p.open(vfioDevice('nvme0'), 'fd');
        const info = p.ioctl('VFIO_DEVICE_GET_INFO', v('fd'), {}, { expect: 'EINVAL' });
        const attach = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('fd'), { pt_id: 1 }, { expect: 'EINVAL' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, info, 'EINVAL', /not bound to an iommufd yet: only VFIO_DEVICE_BIND_IOMMUFD is allowed/);
        expectStep(run, attach, 'EINVAL');
    });

    test('argument checks in kernel order: argsz, iommufd < 0 / flags, group fd, group open, bound twice, EBADF, EBADFD, opened elsewhere', () => {
        const s = scenario(full);
        const p = s.process('vmm');
        p.unbind('nvme0');
        p.bind('nvme0', 'vfio-pci');
        p.open({ kind: 'literal', path: '/dev/iommu' }, 'iommufd');
        p.open({ kind: 'literal', path: '/dev/kvm' }, 'kvm');
        p.open(vfioDevice('nvme0'), 'fd');
        p.open(vfioDevice('nvme0'), 'fd2');
        const argsz = p.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('fd'), { iommufd: v('iommufd'), argsz: 12 }, { expect: 'EINVAL' });
        const neg = p.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('fd'), { iommufd: -1 }, { expect: 'EINVAL' });
        const flags = p.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('fd'), { iommufd: v('iommufd'), flags: 2 }, { expect: 'EINVAL' });
        p.open(vfioGroup('nvme0'), 'group');
        const grp = p.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('fd'), { iommufd: v('iommufd') }, { expect: 'EBUSY' });
        p.close(v('group'));
        const badf = p.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('fd'), { iommufd: 77 }, { expect: 'EBADF' });
        const badfd = p.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('fd'), { iommufd: v('kvm') }, { expect: 'EBADFD' });
        const ok = p.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('fd'), { iommufd: v('iommufd') }, { expect: 'ok', fields: { out_devid: 1 } });
        const twice = p.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('fd'), { iommufd: v('iommufd') }, { expect: 'EINVAL' });
        const other = p.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('fd2'), { iommufd: v('iommufd') }, { expect: 'EINVAL' });
        const gopen = p.open(vfioGroup('nvme0'), 'g2', { expect: 'EBUSY' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, argsz, 'EINVAL', /argsz 12 is smaller than 16/);
        expectStep(run, neg, 'EINVAL', /iommufd -1 is negative/);
        expectStep(run, flags, 'EINVAL', /flags 2 are not VFIO_DEVICE_BIND flags/);
        expectStep(run, grp, 'EBUSY', /\/dev\/vfio\/\d+ .* is open: the group and cdev interfaces exclude each other/);
        expectStep(run, badf, 'EBADF');
        expectStep(run, badfd, 'EBADFD', /is not an iommufd/);
        expectStep(run, twice, 'EINVAL', /already bound to iommufd 1/);
        expectStep(run, other, 'EINVAL', /already open through another cdev fd/);
        expectStep(run, gopen, 'EBUSY', /bound to an iommufd through its cdev/);
    });

    test('a device fd from VFIO_GROUP_GET_DEVICE_FD cannot be bound (EINVAL)', () => {
        const s = scenario(full);
        const p = s.process('vmm');
        p.unbind('nvme0');
        p.bind('nvme0', 'vfio-pci');
        p.open({ kind: 'literal', path: '/dev/vfio/vfio' }, 'container');
        p.open(vfioGroup('nvme0'), 'group');
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('group'), { positional: v('container') });
        p.ioctl('VFIO_SET_IOMMU', v('container'), { positional: 3 });
        p.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('group'), { positional: dev('nvme0') }, { bind: 'dfd' });
        p.open({ kind: 'literal', path: '/dev/iommu' }, 'iommufd');
        const b = p.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('dfd'), { iommufd: v('iommufd') }, { expect: 'EINVAL' });
        const a = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('dfd'), { pt_id: 1 }, { expect: 'ENOTTY' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, b, 'EINVAL', /came from VFIO_GROUP_GET_DEVICE_FD/);
        expectStep(run, a, 'ENOTTY');
    });

    test('no cdev node and no HWPT_ALLOC before Linux 6.6 (ENOENT, ENOTTY); PASID flags not before 6.15 (EINVAL)', () => {
        const s = scenario(machineWith(vtdUnit(['coherent', 'enforce-coherency', 'intr-remap']), { kernel: { major: 6, minor: 5 } }));
        const p = s.process('vmm');
        p.unbind('nvme0');
        p.bind('nvme0', 'vfio-pci');
        p.open({ kind: 'literal', path: '/dev/iommu' }, 'iommufd');
        const nocdev = p.open(vfioDevice('nvme0'), 'fd', { expect: 'ENOENT' });
        p.open({ kind: 'literal', path: '/dev/vfio/vfio' }, 'container');
        const old = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: 1, pt_id: 2 }, { expect: 'ENOTTY' });
        const s2 = scenario(machineWith(vtdUnit(['coherent', 'enforce-coherency', 'intr-remap'], { pasidWidth: 20 }), { kernel: { major: 6, minor: 12 } }));
        bindAll(s2, 'vmm', ['nvme0']);
        const q = s2.process('vmm');
        q.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        const pasid = q.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ioas'), flags: ATTACH_PASID, pasid: 1, argsz: 16 }, { expect: 'EINVAL' });
        const run = s.run();
        const run2 = s2.run();
        expectAllMatched(run);
        expectAllMatched(run2);
        expectStep(run, nocdev, 'ENOENT', /VFIO device cdevs appeared in 6\.6/);
        expectStep(run, old, 'ENOTTY', /IOMMU_HWPT_ALLOC does not exist in Linux 6\.5/);
        expectStep(run2, pasid, 'EINVAL', /flags 1 are not VFIO_DEVICE_ATTACH flags of this kernel/);
    });
});

describe('VFIO_DEVICE_ATTACH_IOMMUFD_PT / DETACH', () => {
    test('argsz and flags EINVAL; PASID needs argsz 16; pt_id written back', () => {
        const s = scenario(full);
        bindAll(s, 'vmm', ['nvme0']);
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        const small = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ioas'), argsz: 8 }, { expect: 'EINVAL' });
        const flags = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ioas'), flags: 2 }, { expect: 'EINVAL' });
        const pasidsz = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ioas'), flags: ATTACH_PASID, pasid: 1, argsz: 12 }, { expect: 'EINVAL' });
        const ok = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('ioas') }, { expect: 'ok', fields: { pt_id: 3 } });
        const dsmall = p.ioctl('VFIO_DEVICE_DETACH_IOMMUFD_PT', v('nvme0_fd'), { argsz: 4 }, { expect: 'EINVAL' });
        const dflags = p.ioctl('VFIO_DEVICE_DETACH_IOMMUFD_PT', v('nvme0_fd'), { flags: 4 }, { expect: 'EINVAL' });
        const dpasid = p.ioctl('VFIO_DEVICE_DETACH_IOMMUFD_PT', v('nvme0_fd'), { flags: ATTACH_PASID, argsz: 8 }, { expect: 'EINVAL' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, small, 'EINVAL', /argsz 8 is smaller than 12/);
        expectStep(run, flags, 'EINVAL', /flags 2/);
        expectStep(run, pasidsz, 'EINVAL', /VFIO_DEVICE_ATTACH_PASID needs the pasid field/);
        expectStep(run, ok, 'ok');
        expectStep(run, dsmall, 'EINVAL', /argsz 4 is smaller than 8/);
        expectStep(run, dflags, 'EINVAL');
        expectStep(run, dpasid, 'EINVAL', /VFIO_DEVICE_DETACH_PASID needs the pasid field/);
    });
});

describe('emulated mdevs: an ACCESS object', () => {
    test('bind creates an ACCESS; attach needs an IOAS (ENOENT); no PASIDs (EOPNOTSUPP); DMA goes through the IOAS', () => {
        const s = scenario(full);
        const p = s.process('vmm');
        p.mdev('vgpu', 'gpu0', 'emulated');
        p.open({ kind: 'literal', path: '/dev/iommu' }, 'iommufd');
        p.open(vfioDevice('vgpu'), 'fd');
        const bind = p.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('fd'), { iommufd: v('iommufd') }, { bind: 'id' });
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        const hwpt = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('id'), pt_id: v('ioas') }, { expect: 'ENOENT' });
        const notIoas = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('fd'), { pt_id: v('id') }, { expect: 'ENOENT' });
        const pasid = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('fd'), { pt_id: v('ioas'), flags: ATTACH_PASID, pasid: 1 }, { expect: 'EOPNOTSUPP' });
        const before = p.dma('vgpu', 'write', 0x1_0000n, 64n, { expect: 'fault' });
        const attach = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('fd'), { pt_id: v('ioas') }, { expect: 'ok', fields: { pt_id: 2 } });
        const noMap = p.dma('vgpu', 'write', 0x1_0000n, 64n, { expect: 'fault' });
        p.mmap(64n * K, 'ram');
        p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: v('ram'), length: 64n * K, iova: 0x1_0000n, flags: FIXED_IOVA | 4n });
        const ro = p.dma('vgpu', 'write', 0x1_0000n, 64n, { expect: 'fault' });
        const rd = p.dma('vgpu', 'read', 0x1_0000n, 64n);
        const destroy = p.ioctl('IOMMU_DESTROY', v('iommufd'), { id: v('id') }, { expect: 'EBUSY' });
        const ioasBusy = p.ioctl('IOMMU_DESTROY', v('iommufd'), { id: v('ioas') }, { expect: 'EBUSY' });
        const range = p.ioctl('IOMMU_IOAS_IOVA_RANGES', v('iommufd'), { ioas_id: v('ioas'), num_iovas: 1 }, { expect: 'ok', fields: { out_iova_alignment: 4096 } });
        p.close(v('fd'));
        const freed = p.ioctl('IOMMU_DESTROY', v('iommufd'), { id: v('ioas') });
        const run = s.run();
        expectAllMatched(run);
        expect(run.results[bind]!.values.out_devid?.value).toBe(1n);
        expectStep(run, hwpt, 'ENOENT', /dev_id 1 is not a DEVICE of iommufd 1 \(it is ACCESS 1/);
        expectStep(run, notIoas, 'ENOENT', /pt_id 1 is not an IOAS/);
        expectStep(run, pasid, 'EOPNOTSUPP', /cannot attach PASIDs/);
        expectStep(run, before, 'fault', /not attached to an IOAS/);
        expectStep(run, attach, 'ok');
        expectStep(run, noMap, 'fault', /no mapping at IOVA 0x10000 in IOAS 2/);
        expectStep(run, ro, 'fault', /is not WRITEABLE \(iommufd_access_rw: EPERM\)/);
        expectStep(run, rd, 'ok');
        expectStep(run, destroy, 'EBUSY', /ACCESS 1 .*the VFIO driver of the emulated device holds it/);
        expectStep(run, ioasBusy, 'EBUSY', /ACCESS 1 .* uses it/);
        expectStep(run, range, 'ok');
        expectStep(run, freed, 'ok');
        expect(ctxOf(run).objects.size).toBe(0);
    });
});

describe('release', () => {
    test('closing a bound fd detaches PASIDs and the RID and releases the group; unbind from vfio-pci then completes', () => {
        const s = scenario(full);
        bindAll(s, 'vmm', ['nvme0']);
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas'), flags: 8n }, { bind: 'h' });
        p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('h') });
        p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('h'), flags: ATTACH_PASID, pasid: 9 });
        const unbind = s.process('admin').unbind('nvme0');
        p.close(v('nvme0_fd'));
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, unbind, 'ok');
        const k = finalKernel(run);
        const nvme = k.devices.get('nvme0')!;
        expect(nvme.driver).toBeNull();
        expect(nvme.pasids.size).toBe(0);
        const g = k.groups.get(nvme.group!)!;
        expect(g.pasid_array.size).toBe(0);
        expect(g.owner).toBeNull();
        expect(g.domain).toBe(g.default_domain);
        void RW;
    });
});

describe('VF token through the cdev (Linux 6.17+)', () => {
    test('a VF of a vfio-pci PF needs the PF\'s token: EACCES without or with a wrong one; TOKEN on a driver without tokens EINVAL', () => {
        const m = machineWith(vtdUnit(['coherent', 'enforce-coherency', 'intr-remap']));
        const sriov = { ...m, segments: [...m.segments, pci(1, 'dmar0', rp('00:06.0', 'rp6', { acs: true }, ep('01:00.0', 'pf0', { driver: 'ixgbe', sriov: 2 })))] };
        const token = initialVfToken(bootKernel(sriov).kernel.devices.get('pf0')!);
        const value = BigInt(`0x${token.replace(/-/g, '')}`);
        const uuid = arr([{ hi: value >> 64n, lo: value & ((1n << 64n) - 1n) }]);
        const s = scenario(sriov);
        const p = s.process('vmm');
        p.unbind('pf0');
        p.bind('pf0', 'vfio-pci');
        p.sriov('pf0', 1);
        p.open({ kind: 'literal', path: '/dev/iommu' }, 'iommufd');
        p.open(vfioDevice('pf0.vf0'), 'vf');
        const none = p.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('vf'), { iommufd: v('iommufd') }, { expect: 'EACCES' });
        const wrong = p.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('vf'), { iommufd: v('iommufd'), flags: 1, token_uuid_ptr: 0x1234n }, { expect: 'EACCES' });
        const nullp = p.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('vf'), { iommufd: v('iommufd'), flags: 1, token_uuid_ptr: 0 }, { expect: 'EFAULT' });
        const ok = p.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('vf'), { iommufd: v('iommufd'), flags: 1, token_uuid_ptr: uuid });
        p.mdev('vx', 'gpu0', 'emulated');
        p.open(vfioDevice('vx'), 'mfd');
        const mdevTok = p.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v('mfd'), { iommufd: v('iommufd'), flags: 1, token_uuid_ptr: uuid }, { expect: 'EINVAL' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, none, 'EACCES', /the PF's VF token is required/);
        expectStep(run, wrong, 'EACCES', /incorrect VF token/);
        expectStep(run, nullp, 'EFAULT', /token_uuid_ptr is NULL/);
        expectStep(run, ok, 'ok');
        expectStep(run, mdevTok, 'EINVAL', /has no VF token/);
    });
});
