/**
 * The KVM-VFIO pseudo device (`engine/kvm/kvm.ts`) against virt/kvm/vfio.c (kvm_vfio_create,
 * kvm_vfio_set_file, kvm_vfio_file_add, kvm_vfio_file_del, kvm_vfio_has_attr,
 * kvm_vfio_update_coherency, kvm_vfio_release), virt/kvm/kvm_main.c (kvm_ioctl_create_device,
 * kvm_device_ioctl_attr) and drivers/vfio/group.c:vfio_group_enforced_coherent; example 05.
 */
import { describe, expect, test } from 'vitest';
import type { MachineSpec } from '../../../engine/machine/spec.js';
import { ep } from '../machine/builders.js';
import { isolated, vtdUnit } from '../machines.js';
import type { ProcessBuilder } from '../scenario.js';
import { dev, expectAllMatched, expectStep, finalKernel, kernelAfter, path, scenario, v, vfioGroup } from '../scenario.js';

const TYPE1v2 = 3n;
const VFIO_DMA_CC_IOMMU = 4n;
const KVM_DEV_TYPE_VFIO = 4n;
const KVM_CREATE_DEVICE_TEST = 1n;
const FILE = 1n;
const ADD = 1n;
const DEL = 2n;

/** Example 05's desktop: gpu0 behind a VT-d unit with or without snoop control. */
function desktop(enforce: boolean): MachineSpec {
    const unit = vtdUnit('dmar0', { features: enforce ? ['coherent', 'enforce-coherency', 'intr-remap'] : ['coherent', 'intr-remap'] });
    return isolated([ep('01:00.0', 'gpu0', { driver: 'amdgpu', noSnoop: true })], { unit });
}

function assign(p: ProcessBuilder): void {
    p.unbind('gpu0');
    p.bind('gpu0', 'vfio-pci');
    p.open(path('/dev/vfio/vfio'), 'container');
    p.open(vfioGroup('gpu0'), 'group');
    p.ioctl('VFIO_GROUP_SET_CONTAINER', v('group'), { positional: v('container') });
    p.ioctl('VFIO_SET_IOMMU', v('container'), { positional: TYPE1v2 });
}

function vm(p: ProcessBuilder): number {
    p.open(path('/dev/kvm'), 'kvm');
    p.ioctl('KVM_CREATE_VM', v('kvm'), {}, { bind: 'vm' });
    return p.ioctl('KVM_CREATE_DEVICE', v('vm'), { type: KVM_DEV_TYPE_VFIO }, { bind: 'kv' });
}

const attr = (a: bigint, file: ReturnType<typeof v> | number) => ({ group: FILE, attr: a, file });

describe('example 05: noncoherent_dma_needs_wbinvd', () => {
    test('every expectation of the example, and the VM\'s noncoherent state along the way', () => {
        const s = scenario(desktop(false));
        const q = s.process('qemu');
        assign(q);
        const cc = q.ioctl('VFIO_CHECK_EXTENSION', v('container'), { positional: VFIO_DMA_CC_IOMMU }, { expect: 'ok', fields: { value: 0 } });
        vm(q);
        const add = q.ioctl('KVM_SET_DEVICE_ATTR', v('kv'), attr(ADD, v('group')));
        const again = q.ioctl('KVM_SET_DEVICE_ATTR', v('kv'), attr(ADD, v('group')), { expect: 'EEXIST' });
        const second = q.ioctl('KVM_CREATE_DEVICE', v('vm'), { type: KVM_DEV_TYPE_VFIO }, { expect: 'EBUSY' });
        const del = q.ioctl('KVM_SET_DEVICE_ATTR', v('kv'), attr(DEL, v('group')));
        const delAgain = q.ioctl('KVM_SET_DEVICE_ATTR', v('kv'), attr(DEL, v('group')), { expect: 'ENOENT' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, cc, 'ok');
        const vmOf = (i: number) => [...kernelAfter(run, i).kvm.vms.values()][0]!;
        expect(vmOf(add).noncoherentDma).toBe(1);
        const r = expectStep(run, again, 'EEXIST', /already added to VM 1's KVM-VFIO device/);
        expect(r.source?.func).toBe('kvm_vfio_file_add');
        expectStep(run, second, 'EBUSY', /only one per VM/);
        expect(vmOf(del).noncoherentDma).toBe(0);
        expectStep(run, delAgain, 'ENOENT', /was not added to VM 1's KVM-VFIO device/);
    });

    test('with snoop control the group is enforced coherent: the VM stays coherent', () => {
        const s = scenario(desktop(true));
        const q = s.process('qemu');
        assign(q);
        vm(q);
        const add = q.ioctl('KVM_SET_DEVICE_ATTR', v('kv'), attr(ADD, v('group')));
        const run = s.run();
        expectAllMatched(run);
        expect([...kernelAfter(run, add).kvm.vms.values()][0]!.noncoherentDma).toBe(0);
    });
});

describe('KVM-VFIO rows', () => {
    test('EBADF, EINVAL for a non-VFIO file, ENXIO for other attributes; device fds are accepted; HAS/GET_ATTR', () => {
        const s = scenario(desktop(false));
        const q = s.process('qemu');
        assign(q);
        q.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('group'), { positional: dev('gpu0') }, { bind: 'dev' });
        vm(q);
        const badf = q.ioctl('KVM_SET_DEVICE_ATTR', v('kv'), attr(ADD, 77), { expect: 'EBADF' });
        const efault = q.ioctl('KVM_SET_DEVICE_ATTR', v('kv'), { group: FILE, attr: ADD, addr: 0 }, { expect: 'EFAULT' });
        const notVfio = q.ioctl('KVM_SET_DEVICE_ATTR', v('kv'), attr(ADD, v('container')), { expect: 'EINVAL' });
        const kvmFd = q.ioctl('KVM_SET_DEVICE_ATTR', v('kv'), attr(ADD, v('kvm')), { expect: 'EINVAL' });
        const otherAttr = q.ioctl('KVM_SET_DEVICE_ATTR', v('kv'), attr(3n, v('group')), { expect: 'ENXIO' });
        const otherGroup = q.ioctl('KVM_SET_DEVICE_ATTR', v('kv'), { group: 2, attr: ADD, file: v('group') }, { expect: 'ENXIO' });
        const delBadf = q.ioctl('KVM_SET_DEVICE_ATTR', v('kv'), attr(DEL, 77), { expect: 'EBADF' });
        const device = q.ioctl('KVM_SET_DEVICE_ATTR', v('kv'), attr(ADD, v('dev')));
        const hasAdd = q.ioctl('KVM_HAS_DEVICE_ATTR', v('kv'), { group: FILE, attr: ADD });
        const hasOther = q.ioctl('KVM_HAS_DEVICE_ATTR', v('kv'), { group: FILE, attr: 3 }, { expect: 'ENXIO' });
        const get = q.ioctl('KVM_GET_DEVICE_ATTR', v('kv'), { group: FILE, attr: ADD }, { expect: 'EPERM' });
        const test1 = q.ioctl('KVM_CREATE_DEVICE', v('vm'), { type: KVM_DEV_TYPE_VFIO, flags: KVM_CREATE_DEVICE_TEST });
        const noType = q.ioctl('KVM_CREATE_DEVICE', v('vm'), { type: 99 }, { expect: 'ENODEV' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, badf, 'EBADF', /fd 77 is not open in qemu/);
        expectStep(run, efault, 'EFAULT', /no fd to read/);
        const r = expectStep(run, notVfio, 'EINVAL', /\/dev\/vfio\/vfio\) is neither a VFIO group nor a VFIO device file/);
        expect(r.source?.func).toBe('kvm_vfio_file_add');
        expectStep(run, kvmFd, 'EINVAL');
        expectStep(run, otherAttr, 'ENXIO', /no attribute 3 in KVM_DEV_VFIO_FILE/);
        expectStep(run, otherGroup, 'ENXIO', /no attribute group 2/);
        expectStep(run, delBadf, 'EBADF');
        expectStep(run, device, 'ok');
        expectStep(run, hasAdd, 'ok');
        expectStep(run, hasOther, 'ENXIO');
        expectStep(run, get, 'EPERM');
        expectStep(run, test1, 'ok');
        expectStep(run, noType, 'ENODEV');
        // The device fd is noncoherent too (no snoop control behind it).
        expect([...finalKernel(run).kvm.vms.values()][0]!.noncoherentDma).toBe(1);
    });

    test('the KVM-VFIO device holds the file: closing the group fd keeps the group open until the device is released', () => {
        const s = scenario(desktop(false));
        const q = s.process('qemu');
        assign(q);
        vm(q);
        q.ioctl('KVM_SET_DEVICE_ATTR', v('kv'), attr(ADD, v('group')));
        q.close(v('group'));
        const held = s.process('other').open(vfioGroup('gpu0'), 'g', { expect: 'EBUSY' });
        q.close(v('kv'));
        const free = s.process('other').open(vfioGroup('gpu0'), 'g2');
        // The device is gone with its fd (kvm_vfio_release): a new one may be created.
        const recreate = q.ioctl('KVM_CREATE_DEVICE', v('vm'), { type: KVM_DEV_TYPE_VFIO });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, held, 'EBUSY');
        expectStep(run, free, 'ok');
        expectStep(run, recreate, 'ok');
        expect([...finalKernel(run).kvm.vms.values()][0]!.noncoherentDma).toBe(0);
    });
});
