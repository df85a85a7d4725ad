/**
 * The VFIO group file `/dev/vfio/N` (`engine/vfio/group.ts`) against drivers/vfio/group.c:
 * vfio_group_fops_open (exclusive), vfio_group_ioctl_get_status, _set_container,
 * _unset_container, _get_device_fd (vfio_df_group_open, container.c:vfio_group_use_container)
 * and vfio_group_fops_release (device fds hold the group file: any close order works).
 */
import { describe, expect, test } from 'vitest';
import { workstation } from '../machines.js';
import { M, dev, expectAllMatched, expectStep, finalKernel, path, scenario, str, v, vfioGroup } from '../scenario.js';
import type { ProcessBuilder } from '../scenario.js';

const VIABLE = 1n;
const CONTAINER_SET = 2n;
const TYPE1v2 = 3n;
const READ = 1n;
const WRITE = 2n;
const container = path('/dev/vfio/vfio');

/** nic0 and nic1 (group 2, with rp1 on pcieport) handed to vfio-pci. */
function takeNics(p: ProcessBuilder): void {
    p.unbind('nic0');
    p.unbind('nic1');
    p.bind('nic0', 'vfio-pci');
    p.bind('nic1', 'vfio-pci');
}

describe('VFIO_GROUP_GET_STATUS', () => {
    test('argsz below 8 is EINVAL; flags follow viability, then CONTAINER_SET | VIABLE', () => {
        const s = scenario(workstation());
        const p = s.process('vmm');
        takeNics(p);
        p.open(container, 'c');
        p.open(vfioGroup('nic0'), 'g');
        const small = p.ioctl('VFIO_GROUP_GET_STATUS', v('g'), { argsz: 7 }, { expect: 'EINVAL' });
        const viable = p.ioctl('VFIO_GROUP_GET_STATUS', v('g'), {}, { expect: 'ok', fields: { flags: VIABLE } });
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('c') });
        const set = p.ioctl('VFIO_GROUP_GET_STATUS', v('g'), {}, { expect: 'ok', fields: { flags: VIABLE | CONTAINER_SET } });
        const run = s.run();
        expectAllMatched(run);
        const r = expectStep(run, small, 'EINVAL', /argsz 7 is smaller than 8/);
        expect(r.source?.func).toBe('vfio_group_ioctl_get_status');
        expectStep(run, viable, 'ok');
        expectStep(run, set, 'ok');
    });
});

describe('VFIO_GROUP_SET_CONTAINER', () => {
    test('EBADF, EBADFD for a file that is not a container, EINVAL once set, EPERM when not viable', () => {
        const s = scenario(workstation());
        const p = s.process('vmm');
        p.unbind('nic0');
        p.bind('nic0', 'vfio-pci');
        p.open(container, 'c');
        p.open(path('/dev/kvm'), 'kvm');
        p.open(vfioGroup('nic0'), 'g');
        const badf = p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: 99 }, { expect: 'EBADF' });
        const badfd = p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('kvm') }, { expect: 'EBADFD' });
        const self = p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('g') }, { expect: 'EBADFD' });
        const eperm = p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('c') }, { expect: 'EPERM' });
        p.unbind('nic1');
        p.bind('nic1', 'vfio-pci');
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('c') });
        p.open(container, 'c2');
        const einval = p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('c2') }, { expect: 'EINVAL' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, badf, 'EBADF', /fd 99 is not open in vmm/);
        expectStep(run, badfd, 'EBADFD', /\/dev\/kvm\) is neither a VFIO container nor an iommufd/);
        expectStep(run, self, 'EBADFD');
        expectStep(run, eperm, 'EPERM', /group 2 is not viable: 0000:02:00\.1 \(nic1\) is bound to ixgbe/);
        const r = expectStep(run, einval, 'EINVAL', /group 2 is already set on container 1/);
        expect(r.source?.func).toBe('vfio_group_ioctl_set_container');
    });
});

describe('VFIO_GROUP_UNSET_CONTAINER', () => {
    test('EINVAL without a container, EBUSY while device fds are open; success gives ownership back', () => {
        const s = scenario(workstation());
        const p = s.process('vmm');
        takeNics(p);
        p.open(container, 'c');
        p.open(vfioGroup('nic0'), 'g');
        const none = p.ioctl('VFIO_GROUP_UNSET_CONTAINER', v('g'), {}, { expect: 'EINVAL' });
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('c') });
        p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 });
        p.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('g'), { positional: dev('nic0') }, { bind: 'd' });
        const busy = p.ioctl('VFIO_GROUP_UNSET_CONTAINER', v('g'), {}, { expect: 'EBUSY' });
        const typed = p.dma('nic1', 'read', 0n, 8n, { expect: 'fault' });
        p.unbind('nic1');
        const owned = p.bind('nic1', 'ixgbe', { expect: 'EBUSY' });
        p.close(v('d'));
        const unset = p.ioctl('VFIO_GROUP_UNSET_CONTAINER', v('g'), {}, { expect: 'ok' });
        const status = p.ioctl('VFIO_GROUP_GET_STATUS', v('g'), {}, { expect: 'ok', fields: { flags: VIABLE } });
        // The last group out deprivileges the container: it needs a group and SET_IOMMU again.
        const map = p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: 0, iova: 0, size: 4096, flags: 3 }, { expect: 'EINVAL' });
        // Back on the DMA-API default domain: nothing mapped there, but not blocked either.
        const dflt = p.dma('nic1', 'read', 0n, 8n, { expect: 'fault' });
        const kernel = p.bind('nic1', 'ixgbe');
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, none, 'EINVAL', /group 2 is not set on a container/);
        const r = expectStep(run, busy, 'EBUSY', /group 2 has 1 device\(s\) open through the container/);
        expect(r.source?.func).toBe('vfio_group_ioctl_unset_container');
        expectStep(run, typed, 'fault', /IOVA 0x0 is not mapped in paging domain/);
        expectStep(run, owned, 'EBUSY', /owned by VFIO group 2/);
        expectStep(run, unset, 'ok');
        expectStep(run, status, 'ok');
        expectStep(run, map, 'EINVAL', /no IOMMU driver yet/);
        expectStep(run, dflt, 'fault', /IOVA 0x0 is not mapped in DMA-API domain/);
        expect(run.results[dflt]!.dma?.fault?.reason).toBe('not-present');
        expectStep(run, kernel, 'ok');
    });
});

describe('VFIO_GROUP_GET_DEVICE_FD', () => {
    test('ENODEV for a name not in the group; EINVAL without a container or without an IOMMU driver', () => {
        const s = scenario(workstation());
        const p = s.process('vmm');
        takeNics(p);
        p.open(container, 'c');
        p.open(vfioGroup('nic0'), 'g');
        const unknown = p.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('g'), { positional: dev('nvme0') }, { expect: 'ENODEV' });
        const trailing = p.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('g'), { positional: str('0000:02:00.0x') }, { expect: 'ENODEV' });
        const noContainer = p.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('g'), { positional: dev('nic0') }, { expect: 'EINVAL' });
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('c') });
        const noDriver = p.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('g'), { positional: dev('nic0') }, { expect: 'EINVAL' });
        p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 });
        const first = p.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('g'), { positional: dev('nic0') }, { bind: 'd1' });
        // The group path lets a device be opened again (open_count 2): a second, independent fd.
        const second = p.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('g'), { positional: str('0000:02:00.0') }, { bind: 'd2' });
        const other = p.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('g'), { positional: dev('nic1') }, { bind: 'd3' });
        const info = p.ioctl('VFIO_DEVICE_GET_INFO', v('d2'), {}, { expect: 'ok', fields: { num_regions: 9 } });
        const run = s.run();
        expectAllMatched(run);
        const r = expectStep(run, unknown, 'ENODEV', /no device "0000:01:00\.0" in VFIO group 2 \(it has 0000:02:00\.[01], 0000:02:00\.[01]\)/);
        expect(r.source?.func).toBe('vfio_group_ioctl_get_device_fd');
        expectStep(run, trailing, 'ENODEV');
        expectStep(run, noContainer, 'EINVAL', /group 2 is not set on a container/);
        expectStep(run, noDriver, 'EINVAL', /container 1 has no IOMMU driver: VFIO_SET_IOMMU first/);
        const fds = [first, second, other].map((i) => run.results[i]!.values.fd!.value);
        expect(new Set(fds).size).toBe(3);
        expectStep(run, info, 'ok');
        // Two device opens (nic0, nic1) use the container; nic0's second fd does not count again.
        const g = [...finalKernel(run).vfio.groups.values()].find((x) => x.iommuGroup === 2)!;
        expect(g.container_users).toBe(3);
    });
});

describe('opening and closing /dev/vfio/N', () => {
    test('one open file per group, system-wide: another process (or the same) gets EBUSY', () => {
        const s = scenario(workstation());
        const p = s.process('vmm');
        takeNics(p);
        p.open(vfioGroup('nic0'), 'g');
        const same = p.open(vfioGroup('nic1'), 'g2', { expect: 'EBUSY' });
        const other = s.process('other').open(vfioGroup('nic0'), 'g', { expect: 'EBUSY' });
        const notBound = s.process('other').open(vfioGroup('nvme0'), 'g3', { expect: 'ENOENT' });
        const literal = s.process('other').open(path('/dev/vfio/2'), 'g4', { expect: 'EBUSY' });
        p.close(v('g'));
        const after = s.process('other').open(path('/dev/vfio/2'), 'g5');
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, same, 'EBUSY', /\/dev\/vfio\/2 is already open \(by vmm\)/);
        const r = expectStep(run, other, 'EBUSY', /already open \(by vmm\): a group is opened by one owner at a time/);
        expect(r.source?.func).toBe('vfio_group_fops_open');
        expectStep(run, notBound, 'ENOENT', /\/dev\/vfio\/5 does not exist: no device of IOMMU group 5 \(nvme0\) is bound to a VFIO driver/);
        expectStep(run, literal, 'EBUSY');
        expectStep(run, after, 'ok');
    });

    test('a device fd keeps the group file alive: closing the group first changes nothing until the device fd goes', () => {
        const s = scenario(workstation());
        const p = s.process('vmm');
        takeNics(p);
        p.open(container, 'c');
        p.open(vfioGroup('nic0'), 'g');
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('c') });
        p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 });
        p.mmap(2n * M, 'ram');
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0, size: 2n * M, flags: READ | WRITE });
        p.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('g'), { positional: dev('nic0') }, { bind: 'd' });
        p.close(v('g'));
        p.close(v('c'));
        const stillOpen = s.process('other').open(vfioGroup('nic0'), 'x', { expect: 'EBUSY' });
        const dmaWhileHeld = p.dma('nic0', 'write', 0x1000n, 64n);
        p.unbind('nic1');
        const ownedByGroup = p.bind('nic1', 'ixgbe', { expect: 'EBUSY' });
        p.close(v('d'));
        const released = s.process('other').open(vfioGroup('nic0'), 'y');
        const dmaAfter = p.dma('nic0', 'write', 0x1000n, 64n, { expect: 'fault' });
        const kernelDriver = p.bind('nic1', 'ixgbe');
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, stillOpen, 'EBUSY');
        expectStep(run, dmaWhileHeld, 'ok');
        expectStep(run, ownedByGroup, 'EBUSY');
        expectStep(run, released, 'ok');
        expectStep(run, kernelDriver, 'ok');
        // The group went back to its DMA-API domain: the container's mapping is gone.
        expectStep(run, dmaAfter, 'fault', /DMA-API domain/);
        const k = finalKernel(run);
        expect(k.vfio.containers.size).toBe(0);
        expect(k.processes.get('vmm')!.mm.locked_vm).toBe(0n);
    });

    test('closing the device fd first, then the group, also releases everything', () => {
        const s = scenario(workstation());
        const p = s.process('vmm');
        takeNics(p);
        p.open(container, 'c');
        p.open(vfioGroup('nic0'), 'g');
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('c') });
        p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 });
        p.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('g'), { positional: dev('nic0') }, { bind: 'd' });
        p.close(v('d'));
        const status = p.ioctl('VFIO_GROUP_GET_STATUS', v('g'), {}, { expect: 'ok', fields: { flags: VIABLE | CONTAINER_SET } });
        p.close(v('g'));
        const viable = s.process('other').open(vfioGroup('nic0'), 'y');
        const st = s.process('other').ioctl('VFIO_GROUP_GET_STATUS', v('y'), {}, { expect: 'ok', fields: { flags: VIABLE } });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, status, 'ok');
        expectStep(run, viable, 'ok');
        expectStep(run, st, 'ok');
    });

    test('exit closes every fd: the group and its container are released', () => {
        const s = scenario(workstation());
        const p = s.process('vmm');
        takeNics(p);
        p.open(container, 'c');
        p.open(vfioGroup('nic0'), 'g');
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('c') });
        p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 });
        p.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('g'), { positional: dev('nic0') }, { bind: 'd' });
        p.exit();
        const reopen = s.process('other').open(vfioGroup('nic0'), 'y');
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, reopen, 'ok');
        expect(finalKernel(run).groups.get(2)!.owner).toBeNull();
    });
});
