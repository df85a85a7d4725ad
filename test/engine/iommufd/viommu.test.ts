/**
 * vIOMMU, vDEVICE, HW queue, FAULT and vEVENTQ objects (engine/iommufd/viommu.ts, eventq.ts):
 * kernel-semantics 5.13 and 5.14.
 */
import { describe, expect, test } from 'vitest';
import type { IommuSpec } from '../../../engine/machine/spec.js';
import { expectAllMatched, expectStep, n, scenario, v } from '../scenario.js';
import { FAULT_ID_VALID, NEST_PARENT, arr, bindAll, ctxOf, full, machineWith } from './helpers.js';

const smmu: IommuSpec = { name: 'smmu0', kind: 'arm-smmu-v3', addressWidth: 48, features: ['coherent', 'enforce-coherency', 'intr-remap', 'nesting'] };
const arm = machineWith(smmu);

function armSetup() {
    const s = scenario(arm);
    bindAll(s, 'vmm', ['nvme0', 'nic0']);
    const p = s.process('vmm');
    p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
    p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas'), flags: NEST_PARENT }, { bind: 's2' });
    return { s, p };
}

describe('IOMMU_VIOMMU_ALLOC', () => {
    test('VT-d has no vIOMMU (EOPNOTSUPP); flags or type DEFAULT EOPNOTSUPP; dev_id ENOENT', () => {
        const s = scenario(full);
        bindAll(s, 'vmm', ['nvme0']);
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        const def = p.ioctl('IOMMU_VIOMMU_ALLOC', v('iommufd'), { type: 0, dev_id: v('nvme0_id') }, { expect: 'EOPNOTSUPP' });
        const flags = p.ioctl('IOMMU_VIOMMU_ALLOC', v('iommufd'), { type: 1, flags: 1, dev_id: v('nvme0_id') }, { expect: 'EOPNOTSUPP' });
        const noent = p.ioctl('IOMMU_VIOMMU_ALLOC', v('iommufd'), { type: 1, dev_id: 9 }, { expect: 'ENOENT' });
        const intel = p.ioctl('IOMMU_VIOMMU_ALLOC', v('iommufd'), { type: 1, dev_id: v('nvme0_id'), hwpt_id: v('ioas') }, { expect: 'EOPNOTSUPP' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, def, 'EOPNOTSUPP', /DEFAULT is reserved/);
        expectStep(run, flags, 'EOPNOTSUPP', /flags must be 0/);
        expectStep(run, noent, 'ENOENT');
        expectStep(run, intel, 'EOPNOTSUPP', /VT-d driver has no vIOMMU support/);
    });

    test('SMMUv3: the parent must be a NEST_PARENT HWPT_PAGING (ENOENT / EINVAL); Tegra241 type EOPNOTSUPP', () => {
        const { s, p } = armSetup();
        p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas') }, { bind: 's1' });
        const tegra = p.ioctl('IOMMU_VIOMMU_ALLOC', v('iommufd'), { type: 2, dev_id: v('nvme0_id'), hwpt_id: v('s2') }, { expect: 'EOPNOTSUPP' });
        const notHwpt = p.ioctl('IOMMU_VIOMMU_ALLOC', v('iommufd'), { type: 1, dev_id: v('nvme0_id'), hwpt_id: v('ioas') }, { expect: 'ENOENT' });
        const notParent = p.ioctl('IOMMU_VIOMMU_ALLOC', v('iommufd'), { type: 1, dev_id: v('nvme0_id'), hwpt_id: v('s1') }, { expect: 'EINVAL' });
        const ok = p.ioctl('IOMMU_VIOMMU_ALLOC', v('iommufd'), { type: 1, dev_id: v('nvme0_id'), hwpt_id: v('s2') }, { bind: 'viommu' });
        const busy = p.ioctl('IOMMU_DESTROY', v('iommufd'), { id: v('s2') }, { expect: 'EBUSY' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, tegra, 'EOPNOTSUPP', /not an NVIDIA Tegra241 CMDQV/);
        expectStep(run, notHwpt, 'ENOENT', /hwpt_id 3 is not a HWPT/);
        expectStep(run, notParent, 'EINVAL', /not allocated with IOMMU_HWPT_ALLOC_NEST_PARENT/);
        expectStep(run, ok, 'ok');
        expectStep(run, busy, 'EBUSY', /vIOMMU \d+ uses it as its parent/);
    });
});

describe('vDEVICEs and vSTE nested HWPTs (SMMUv3)', () => {
    test('vDEVICE rules; a vSTE needs the vDEVICE to attach; closing the device leaves a tombstone id', () => {
        const { s, p } = armSetup();
        p.ioctl('IOMMU_VIOMMU_ALLOC', v('iommufd'), { type: 1, dev_id: v('nvme0_id'), hwpt_id: v('s2') }, { bind: 'viommu' });
        const ste = arr([{ 'ste[0]': 0x1n | (5n << 1n) | 0x1000n, 'ste[1]': 0 }]);
        const bad = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('viommu'), data_type: 2, data_uptr: arr([{ 'ste[0]': 0x1n | (6n << 1n) }]) }, { expect: 'EIO' });
        const wrongType = p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('viommu'), data_type: 1, data_len: 16, data_uptr: ste }, { expect: 'EINVAL' });
        p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('viommu'), data_type: 2, data_uptr: ste }, { bind: 'vste' });
        const noVdev = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('vste') }, { expect: 'ENOENT' });
        const vdev = p.ioctl('IOMMU_VDEVICE_ALLOC', v('iommufd'), { viommu_id: v('viommu'), dev_id: v('nvme0_id'), virt_id: 0x10 }, { bind: 'vdev' });
        const dupDev = p.ioctl('IOMMU_VDEVICE_ALLOC', v('iommufd'), { viommu_id: v('viommu'), dev_id: v('nvme0_id'), virt_id: 0x11 }, { expect: 'EEXIST' });
        const dupId = p.ioctl('IOMMU_VDEVICE_ALLOC', v('iommufd'), { viommu_id: v('viommu'), dev_id: v('nic0_id'), virt_id: 0x10 }, { expect: 'EEXIST' });
        const noViommu = p.ioctl('IOMMU_VDEVICE_ALLOC', v('iommufd'), { viommu_id: 99, dev_id: v('nic0_id'), virt_id: 1 }, { expect: 'ENOENT' });
        const attach = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('vste') });
        const inv = p.ioctl('IOMMU_HWPT_INVALIDATE', v('iommufd'), { hwpt_id: v('viommu'), data_type: 1, data_uptr: arr([{ 'cmd[0]': 0x12 }, { 'cmd[0]': (0x10n << 32n) | 0x05n }, { 'cmd[0]': (0x77n << 32n) | 0x05n }]) }, { expect: 'EIO', fields: { entry_num: 2 } });
        const viommuBusy = p.ioctl('IOMMU_DESTROY', v('iommufd'), { id: v('viommu') }, { expect: 'EBUSY' });
        p.ioctl('VFIO_DEVICE_DETACH_IOMMUFD_PT', v('nvme0_fd'), {});
        p.close(v('nvme0_fd'));
        const tomb = p.ioctl('IOMMU_DESTROY', v('iommufd'), { id: v('vdev') }, { expect: 'ENOENT' });
        const next = p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {});
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, bad, 'EIO', /Config 6 is not abort \(0\), bypass \(4\) or stage-1 translate \(5\)/);
        expectStep(run, wrongType, 'EINVAL', /data_type 1 is not IOMMU_HWPT_DATA_ARM_SMMUV3/);
        expectStep(run, noVdev, 'ENOENT', /has no vDEVICE on vIOMMU \d+/);
        expectStep(run, vdev, 'ok');
        expectStep(run, dupDev, 'EEXIST', /already has vDEVICE/);
        expectStep(run, dupId, 'EEXIST', /virtual id 0x10 is already used/);
        expectStep(run, noViommu, 'ENOENT');
        expectStep(run, attach, 'ok');
        expectStep(run, inv, 'EIO', /entry 2: no vDEVICE of vIOMMU \d+ has virtual SID 0x77/);
        expectStep(run, viommuBusy, 'EBUSY', /vDEVICE .* belongs to it/);
        expectStep(run, tomb, 'ENOENT', /tombstone/);
        // The tombstone's id is not reused.
        const vdevId = run.results[vdev]!.values.out_vdevice_id!.value;
        expect(run.results[next]!.values.out_ioas_id!.value).not.toBe(vdevId);
        expect(ctxOf(run).tombstones.has(Number(vdevId))).toBe(true);
    });

    test('IOMMU_HW_QUEUE_ALLOC: argument checks, then no modeled IOMMU has hardware queues', () => {
        const { s, p } = armSetup();
        p.ioctl('IOMMU_VIOMMU_ALLOC', v('iommufd'), { type: 1, dev_id: v('nvme0_id'), hwpt_id: v('s2') }, { bind: 'viommu' });
        const def = p.ioctl('IOMMU_HW_QUEUE_ALLOC', v('iommufd'), { viommu_id: v('viommu'), type: 0, length: 4096 }, { expect: 'EOPNOTSUPP' });
        const len = p.ioctl('IOMMU_HW_QUEUE_ALLOC', v('iommufd'), { viommu_id: v('viommu'), type: 1, length: 0 }, { expect: 'EINVAL' });
        const ovf = p.ioctl('IOMMU_HW_QUEUE_ALLOC', v('iommufd'), { viommu_id: v('viommu'), type: 1, nesting_parent_iova: -4096, length: 0x2000 }, { expect: 'EOVERFLOW' });
        const noent = p.ioctl('IOMMU_HW_QUEUE_ALLOC', v('iommufd'), { viommu_id: 99, type: 1, length: 4096 }, { expect: 'ENOENT' });
        const none = p.ioctl('IOMMU_HW_QUEUE_ALLOC', v('iommufd'), { viommu_id: v('viommu'), type: 1, length: 4096 }, { expect: 'EOPNOTSUPP' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, def, 'EOPNOTSUPP');
        expectStep(run, len, 'EINVAL', /length is 0/);
        expectStep(run, ovf, 'EOVERFLOW');
        expectStep(run, noent, 'ENOENT');
        expectStep(run, none, 'EOPNOTSUPP', /only an NVIDIA Tegra241 CMDQV provides them/);
    });
});

describe('event queues', () => {
    test('IOMMU_FAULT_QUEUE_ALLOC: an object and an fd; busy while the fd is open or a HWPT uses it', () => {
        const s = scenario(full);
        bindAll(s, 'vmm', ['nvme0']);
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        const flags = p.ioctl('IOMMU_FAULT_QUEUE_ALLOC', v('iommufd'), { flags: 1 }, { expect: 'EOPNOTSUPP' });
        const fq = p.ioctl('IOMMU_FAULT_QUEUE_ALLOC', v('iommufd'), {}, { bind: 'fault' });
        p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('ioas'), flags: FAULT_ID_VALID, fault_id: v('fault') }, { bind: 'h' });
        const attach = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nvme0_fd'), { pt_id: v('h') });
        const busy = p.ioctl('IOMMU_DESTROY', v('iommufd'), { id: v('fault') }, { expect: 'EBUSY' });
        // fds: 3 iommufd, 4 the cdev, 5 the fault queue.
        const noIoctl = p.ioctl('IOMMU_IOAS_ALLOC', n(5), {}, { expect: 'ENOTTY' });
        p.ioctl('VFIO_DEVICE_DETACH_IOMMUFD_PT', v('nvme0_fd'), {});
        p.ioctl('IOMMU_DESTROY', v('iommufd'), { id: v('h') });
        const stillFd = p.ioctl('IOMMU_DESTROY', v('iommufd'), { id: v('fault') }, { expect: 'EBUSY' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, flags, 'EOPNOTSUPP');
        expect(run.results[fq]!.values.out_fault_fd?.value).toBe(5n);
        expectStep(run, attach, 'ok');
        expectStep(run, busy, 'EBUSY', /its fault queue fd is open; HWPT \d+ reports its faults to it/);
        expectStep(run, noIoctl, 'ENOTTY');
        expectStep(run, stillFd, 'EBUSY', /its fault queue fd is open/);
    });

    test('a fault HWPT needs a device with PRI (ENODEV)', () => {
        const s = scenario(full);
        bindAll(s, 'vmm', ['nic0']);
        const p = s.process('vmm');
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
        p.ioctl('IOMMU_FAULT_QUEUE_ALLOC', v('iommufd'), {}, { bind: 'fault' });
        p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nic0_id'), pt_id: v('ioas'), flags: FAULT_ID_VALID, fault_id: v('fault') }, { bind: 'h' });
        const a = p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v('nic0_fd'), { pt_id: v('h') }, { expect: 'ENODEV' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, a, 'ENODEV', /has no PRI/);
    });

    test('IOMMU_VEVENTQ_ALLOC: one queue per type; depth 0 EINVAL; the fd keeps it', () => {
        const { s, p } = armSetup();
        p.ioctl('IOMMU_VIOMMU_ALLOC', v('iommufd'), { type: 1, dev_id: v('nvme0_id'), hwpt_id: v('s2') }, { bind: 'viommu' });
        const def = p.ioctl('IOMMU_VEVENTQ_ALLOC', v('iommufd'), { viommu_id: v('viommu'), type: 0, veventq_depth: 8 }, { expect: 'EOPNOTSUPP' });
        const depth = p.ioctl('IOMMU_VEVENTQ_ALLOC', v('iommufd'), { viommu_id: v('viommu'), type: 1, veventq_depth: 0 }, { expect: 'EINVAL' });
        const noent = p.ioctl('IOMMU_VEVENTQ_ALLOC', v('iommufd'), { viommu_id: 99, type: 1, veventq_depth: 8 }, { expect: 'ENOENT' });
        const ok = p.ioctl('IOMMU_VEVENTQ_ALLOC', v('iommufd'), { viommu_id: v('viommu'), type: 1, veventq_depth: 8 }, { bind: 'q' });
        const dup = p.ioctl('IOMMU_VEVENTQ_ALLOC', v('iommufd'), { viommu_id: v('viommu'), type: 1, veventq_depth: 8 }, { expect: 'EEXIST' });
        const busy = p.ioctl('IOMMU_DESTROY', v('iommufd'), { id: v('q') }, { expect: 'EBUSY' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, def, 'EOPNOTSUPP');
        expectStep(run, depth, 'EINVAL', /veventq_depth is 0/);
        expectStep(run, noent, 'ENOENT');
        expectStep(run, ok, 'ok');
        expectStep(run, dup, 'EEXIST', /already has vEVENTQ/);
        expectStep(run, busy, 'EBUSY', /its event queue fd is open/);
    });
});
