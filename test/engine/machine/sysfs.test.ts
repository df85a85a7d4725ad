/**
 * sysfs driver binding, DMA ownership and SR-IOV (`engine/machine/sysfs.ts`), checked against
 * drivers/base/bus.c (bind_store, unbind_store), drivers/base/dd.c (__driver_probe_device,
 * really_probe), drivers/pci/pci-driver.c (pci_dma_configure), drivers/iommu/iommu.c
 * (iommu_device_use_default_domain, iommu_group_claim_dma_owner, __iommu_device_set_domain),
 * drivers/vfio/pci/vfio_pci_core.c (vfio_pci_core_register_device, vfio_pci_core_sriov_configure),
 * drivers/vfio/vfio_main.c (vfio_unregister_group_dev) and drivers/pci/iov.c (sriov_numvfs_store).
 */
import { describe, expect, test } from 'vitest';
import { ep, pci, rp } from './builders.js';
import { isolated, machineOf, vtdUnit, workstation } from '../machines.js';
import { G, M, dev, expectAllMatched, expectStep, finalKernel, path, scenario, str, v, vfioGroup } from '../scenario.js';

const VIABLE = 1n;
const TYPE1v2 = 3n;
const READ = 1n;
const WRITE = 2n;
const container = path('/dev/vfio/vfio');

describe('bind and unbind through sysfs', () => {
    test('binding a device that already has a driver is EBUSY (__driver_probe_device)', () => {
        const s = scenario(workstation());
        const admin = s.process('admin');
        const bind = admin.bind('nic0', 'vfio-pci', { expect: 'EBUSY' });
        const run = s.run();
        expectAllMatched(run);
        const r = expectStep(run, bind, 'EBUSY', /0000:02:00\.0 \(nic0\) is already bound to ixgbe/);
        expect(r.source?.file).toBe('drivers/base/dd.c');
    });

    test('unbinding a device without a driver is ENOENT: .../driver/unbind does not exist', () => {
        const s = scenario(workstation());
        const admin = s.process('admin');
        const unbind = admin.unbind('fpga0', { expect: 'ENOENT' });
        const twice = [admin.unbind('nvme0'), admin.unbind('nvme0', { expect: 'ENOENT' })];
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, unbind, 'ENOENT', /0000:07:00\.0 \(fpga0\) has no driver/);
        expectStep(run, twice[1]!, 'ENOENT', /nvme0\) has no driver/);
    });

    test('only root writes bind and unbind: EACCES for another uid', () => {
        const s = scenario(workstation());
        const user = s.process('user', { uid: 1000 });
        const unbind = user.unbind('nvme0', { expect: 'EACCES' });
        const bind = user.bind('fpga0', 'vfio-pci', { expect: 'EACCES' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, unbind, 'EACCES', /user \(uid 1000\) cannot write .*driver\/unbind: only root/);
        expectStep(run, bind, 'EACCES', /cannot write \/sys\/bus\/pci\/drivers\/vfio-pci\/bind/);
    });

    test('bind_store finds no such device on the bus: ENODEV', () => {
        const s = scenario(workstation());
        const admin = s.process('admin');
        const unknown = admin.bind('nic7', 'vfio-pci', { expect: 'ENODEV' });
        const mdev = admin.bind('vgpu0', 'vfio-pci', { expect: 'ENODEV' });
        const platform = admin.bind('fpga0', 'vfio-platform', { expect: 'ENODEV' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, unknown, 'ENODEV', /no pci device nic7/);
        expectStep(run, mdev, 'ENODEV', /mdevs bind to their parent/);
        expectStep(run, platform, 'ENODEV', /vfio-platform is not a pci driver/);
        expect(run.results[unknown]!.source?.file).toBe('drivers/base/bus.c');
    });
});

describe('DMA ownership and viability', () => {
    test('driver_managed_dma drivers (vfio-pci, pci-stub, pcieport) leave the group viable; a DMA-API driver does not', () => {
        const s = scenario(workstation());
        const vmm = s.process('vmm');
        vmm.unbind('nic0');
        vmm.unbind('nic1');
        vmm.bind('nic0', 'vfio-pci');
        vmm.bind('nic1', 'pci-stub');
        vmm.open(container, 'container');
        vmm.open(vfioGroup('nic0'), 'group');
        // rp1 (pcieport) and nic1 (pci-stub) share group 2 with nic0: both manage DMA themselves.
        const viable = vmm.ioctl('VFIO_GROUP_GET_STATUS', v('group'), {}, { expect: 'ok', fields: { flags: VIABLE } });
        vmm.unbind('nic1');
        vmm.bind('nic1', 'ixgbe');
        const notViable = vmm.ioctl('VFIO_GROUP_GET_STATUS', v('group'), {}, { expect: 'ok', fields: { flags: 0 } });
        const setc = vmm.ioctl('VFIO_GROUP_SET_CONTAINER', v('group'), { positional: v('container') }, { expect: 'EPERM' });
        const run = s.run();
        expectAllMatched(run);
        expect(run.results[viable]!.values.flags?.value).toBe(VIABLE);
        expect(run.results[notViable]!.values.flags?.value).toBe(0n);
        const r = expectStep(run, setc, 'EPERM', /group 2 is not viable: 0000:02:00\.1 \(nic1\) is bound to ixgbe/);
        expect(r.source?.func).toBe('iommu_group_claim_dma_owner');
    });

    test('a DMA-API driver cannot probe a device of a user-owned group: EBUSY from pci_dma_configure', () => {
        const s = scenario(workstation());
        const vmm = s.process('vmm');
        vmm.unbind('nic0');
        vmm.unbind('nic1');
        vmm.bind('nic0', 'vfio-pci');
        vmm.open(container, 'container');
        vmm.open(vfioGroup('nic0'), 'group');
        vmm.ioctl('VFIO_GROUP_SET_CONTAINER', v('group'), { positional: v('container') });
        const host = s.process('host');
        const kernelDriver = host.bind('nic1', 'ixgbe', { expect: 'EBUSY' });
        // driver_managed_dma drivers still bind: they do not use the DMA API.
        const stub = host.bind('nic1', 'pci-stub');
        const run = s.run();
        expectAllMatched(run);
        const r = expectStep(run, kernelDriver, 'EBUSY', /ixgbe cannot probe 0000:02:00\.1 \(nic1\): its group 2 is owned by VFIO group 2/);
        expect(r.source?.func).toBe('iommu_device_use_default_domain');
        expectStep(run, stub, 'ok');
        expect(finalKernel(run).devices.get('nic1')!.driver).toBe('pci-stub');
    });

    test('vfio-pci refuses a bridge or port: EINVAL (header type is not normal)', () => {
        const s = scenario(workstation());
        const admin = s.process('admin');
        admin.unbind('rp1');
        const bind = admin.bind('rp1', 'vfio-pci', { expect: 'EINVAL' });
        const legacy = admin.bind('legacy', 'vfio-pci', { expect: 'EINVAL' });
        const run = s.run();
        expectAllMatched(run);
        const r = expectStep(run, bind, 'EINVAL', /0000:00:1d\.0 \(rp1\) is a bridge/);
        expect(r.source?.func).toBe('vfio_pci_core_register_device');
        expectStep(run, legacy, 'EINVAL', /legacy\) is a bridge/);
        // A failed probe leaves the device unbound.
        expect(finalKernel(run).devices.get('rp1')!.driver).toBeNull();
    });

    test('a device that requires a direct mapping (RMRR) makes claiming ownership fail EINVAL', () => {
        const m = isolated([ep('01:00.0', 'usb0', { driver: 'xhci_hcd', requireDirect: true })]);
        const s = scenario(m);
        const vmm = s.process('vmm');
        vmm.unbind('usb0');
        vmm.bind('usb0', 'vfio-pci');
        vmm.open(container, 'container');
        vmm.open(vfioGroup('usb0'), 'group');
        // VIABLE only reflects kernel DMA-API users; the RMRR is found when ownership is claimed.
        vmm.ioctl('VFIO_GROUP_GET_STATUS', v('group'), {}, { expect: 'ok', fields: { flags: VIABLE } });
        const setc = vmm.ioctl('VFIO_GROUP_SET_CONTAINER', v('group'), { positional: v('container') }, { expect: 'EINVAL' });
        const again = vmm.ioctl('VFIO_GROUP_GET_STATUS', v('group'), {}, { expect: 'ok', fields: { flags: VIABLE } });
        const run = s.run();
        expectAllMatched(run);
        const r = expectStep(run, setc, 'EINVAL', /0000:01:00\.0 \(usb0\) has an RMRR.*group 1 cannot be blocked/);
        expect(r.source?.func).toBe('__iommu_device_set_domain');
        expectStep(run, again, 'ok');
    });
});

describe('unbinding a VFIO device', () => {
    test('unbinding the last VFIO device of a group revokes the open group: GET_STATUS ENODEV, node gone', () => {
        const s = scenario(workstation());
        const vmm = s.process('vmm');
        vmm.unbind('nvme0');
        vmm.bind('nvme0', 'vfio-pci');
        vmm.open(container, 'container');
        vmm.open(vfioGroup('nvme0'), 'group');
        vmm.ioctl('VFIO_GROUP_SET_CONTAINER', v('group'), { positional: v('container') });
        vmm.ioctl('VFIO_SET_IOMMU', v('container'), { positional: TYPE1v2 });
        vmm.mmap(2n * M, 'ram');
        vmm.ioctl('VFIO_IOMMU_MAP_DMA', v('container'), { vaddr: v('ram'), iova: 0, size: 2n * M, flags: READ | WRITE });
        // No device fd is open, so the unbind returns at once.
        const unbind = vmm.unbind('nvme0');
        const status = vmm.ioctl('VFIO_GROUP_GET_STATUS', v('group'), {}, { expect: 'ENODEV' });
        const setc = vmm.ioctl('VFIO_GROUP_SET_CONTAINER', v('group'), { positional: v('container') }, { expect: 'ENODEV' });
        const unset = vmm.ioctl('VFIO_GROUP_UNSET_CONTAINER', v('group'), {}, { expect: 'EINVAL' });
        const reopen = s.process('other').open(vfioGroup('nvme0'), 'g2', { expect: 'ENOENT' });
        // The container lost its last group: its IOMMU driver is gone, and ownership was released.
        const map = vmm.ioctl('VFIO_IOMMU_MAP_DMA', v('container'), { vaddr: v('ram'), iova: 0, size: 2n * M, flags: READ }, { expect: 'EINVAL' });
        const rebind = vmm.bind('nvme0', 'nvme');
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, unbind, 'ok');
        expectStep(run, status, 'ENODEV', /last device was unregistered/);
        expectStep(run, setc, 'ENODEV', /IOMMU group is gone/);
        expectStep(run, unset, 'EINVAL', /not set on a container/);
        expectStep(run, reopen, 'ENOENT', /\/dev\/vfio\/5 does not exist: no device of IOMMU group 5 \(nvme0\)/);
        expectStep(run, map, 'EINVAL', /no IOMMU driver/);
        expectStep(run, rebind, 'ok');
        expect(finalKernel(run).processes.get('vmm')!.mm.locked_vm).toBe(0n);
    });

    test('unbinding from vfio-pci sleeps while a device fd is open; the close of another process completes it', () => {
        const s = scenario(workstation());
        const qemu = s.process('qemu');
        const admin = s.process('admin');
        qemu.unbind('nvme0');
        qemu.bind('nvme0', 'vfio-pci');
        qemu.open(container, 'container');
        qemu.open(vfioGroup('nvme0'), 'group');
        qemu.ioctl('VFIO_GROUP_SET_CONTAINER', v('group'), { positional: v('container') });
        qemu.ioctl('VFIO_SET_IOMMU', v('container'), { positional: TYPE1v2 });
        qemu.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('group'), { positional: dev('nvme0') }, { bind: 'dev' });
        const unbind = admin.unbind('nvme0');
        const queued = admin.bind('nvme0', 'nvme');
        // While the unbind sleeps the device is off the group's list: no new fd for it.
        const second = qemu.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('group'), { positional: dev('nvme0') }, { expect: 'ENODEV' });
        const status = qemu.ioctl('VFIO_GROUP_GET_STATUS', v('group'), {}, { expect: 'ok', fields: { flags: 3 } });
        const close = qemu.close(v('dev'));
        const after = qemu.ioctl('VFIO_GROUP_GET_STATUS', v('group'), {}, { expect: 'ENODEV' });
        const run = s.run();
        expectAllMatched(run);
        expect(run.stillBlocked).toEqual([]);
        const blockTick = run.ticks.find((t) => t.step === unbind && t.kind === 'block');
        expect(blockTick?.outcome.waitingFor).toMatch(/0000:01:00\.0 \(nvme0\) has 1 open VFIO device file: vfio_unregister_group_dev sleeps/);
        const resume = run.ticks.find((t) => t.step === unbind && t.kind === 'resume')!;
        const closeTick = run.ticks.find((t) => t.step === close)!;
        expect(resume.index).toBeGreaterThan(closeTick.index);
        expect(run.results[queued]!.tick).toBeGreaterThan(resume.index);
        expectStep(run, unbind, 'ok');
        expectStep(run, second, 'ENODEV', /no device "0000:01:00\.0" in VFIO group 5/);
        expectStep(run, status, 'ok');
        expectStep(run, after, 'ENODEV');
        expect(finalKernel(run).devices.get('nvme0')!.driver).toBe('nvme');
    });

    test('a scenario that ends with the unbind still sleeping reports it as still blocked', () => {
        const s = scenario(workstation());
        const qemu = s.process('qemu');
        qemu.unbind('nvme0');
        qemu.bind('nvme0', 'vfio-pci');
        qemu.open(container, 'container');
        qemu.open(vfioGroup('nvme0'), 'group');
        qemu.ioctl('VFIO_GROUP_SET_CONTAINER', v('group'), { positional: v('container') });
        qemu.ioctl('VFIO_SET_IOMMU', v('container'), { positional: TYPE1v2 });
        qemu.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('group'), { positional: dev('nvme0') }, { bind: 'dev' });
        // The process unbinds the device it holds open: nobody will close the fd.
        const unbind = qemu.unbind('nvme0');
        const never = qemu.close(v('dev'));
        const run = s.run();
        expect(run.stillBlocked).toEqual([{ process: 'qemu', step: unbind, waitingFor: expect.stringMatching(/nvme0\) has 1 open VFIO device file/) }]);
        expectStep(run, unbind, 'blocked', /vfio_unregister_group_dev sleeps until it is closed/);
        expectStep(run, never, 'not-run', /qemu is still blocked/);
    });
});

describe('mdevs go with their parent\'s driver (mdev_unregister_parent)', () => {
    test('unbinding the parent removes its mdevs: the emulated mdev\'s group is revoked and its id freed', () => {
        const s = scenario(workstation());
        const vmm = s.process('vmm');
        vmm.open(vfioGroup('vgpu0'), 'group');
        vmm.unbind('gpu0');
        const status = vmm.ioctl('VFIO_GROUP_GET_STATUS', v('group'), {}, { expect: 'ENODEV' });
        const again = s.process('other').open(vfioGroup('vgpu0'), 'g', { expect: 'ENOENT' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, status, 'ENODEV');
        expectStep(run, again, 'ENOENT', /no device vgpu0 exists/);
        const k = finalKernel(run);
        expect(k.groups.has(10)).toBe(false);
        expect(k.devices.has('vgpu1')).toBe(false);
    });

    test('while an mdev\'s device fd is open the parent\'s unbind sleeps until it is closed', () => {
        const s = scenario(workstation());
        const vmm = s.process('vmm');
        vmm.open(container, 'container');
        vmm.open(vfioGroup('vgpu0'), 'group');
        vmm.ioctl('VFIO_GROUP_SET_CONTAINER', v('group'), { positional: v('container') });
        vmm.ioctl('VFIO_SET_IOMMU', v('container'), { positional: TYPE1v2 });
        vmm.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('group'), { positional: dev('vgpu0') }, { bind: 'vgpu' });
        const unbind = s.process('admin').unbind('gpu0');
        const close = vmm.close(v('vgpu'));
        const run = s.run();
        expectAllMatched(run);
        const block = run.ticks.find((t) => t.step === unbind && t.kind === 'block');
        expect(block?.outcome.waitingFor).toMatch(/\(vgpu0\) has 1 open VFIO device file/);
        expect(run.results[unbind]!.tick).toBeGreaterThan(run.results[close]!.tick);
        expect(finalKernel(run).devices.get('gpu0')!.driver).toBeNull();
    });
});

describe('SR-IOV: sriov_numvfs', () => {
    test('above TotalVFs is ERANGE; no SR-IOV capability or no driver is ENOENT; enabling twice is EBUSY', () => {
        const s = scenario(workstation());
        const admin = s.process('admin');
        const range = admin.sriov('gpu0', 5, { expect: 'ERANGE' });
        const noCap = admin.sriov('nvme0', 1, { expect: 'ENOENT' });
        const ok = admin.sriov('gpu0', 2);
        const busy = admin.sriov('gpu0', 3, { expect: 'EBUSY' });
        const same = admin.sriov('gpu0', 2);
        const off = admin.sriov('gpu0', 0);
        admin.unbind('gpu0');
        const noDriver = admin.sriov('gpu0', 1, { expect: 'ENOENT' });
        const user = s.process('user', { uid: 1000 }).sriov('gpu0', 1, { expect: 'EACCES' });
        const run = s.run();
        expectAllMatched(run);
        const r = expectStep(run, range, 'ERANGE', /0000:06:00\.0 \(gpu0\) supports at most 4 VFs \(TotalVFs\), not 5/);
        expect(r.source?.func).toBe('sriov_numvfs_store');
        expectStep(run, noCap, 'ENOENT', /nvme0\) has no SR-IOV capability/);
        expectStep(run, ok, 'ok');
        expectStep(run, busy, 'EBUSY', /already has 2 VFs enabled/);
        expectStep(run, same, 'ok');
        expectStep(run, off, 'ok');
        expectStep(run, noDriver, 'ENOENT', /gpu0\) has no driver bound/);
        expectStep(run, user, 'EACCES', /only root/);
    });

    test('VFs behind an ACS path get groups of their own, with the lowest free ids', () => {
        const s = scenario(workstation());
        const admin = s.process('admin');
        admin.unbind('gpu0');
        admin.bind('gpu0', 'vfio-pci');
        admin.sriov('gpu0', 2);
        // vfio-pci's bus notifier captured the VFs: they are bound to vfio-pci and have nodes.
        const vf0 = admin.open(vfioGroup('gpu0.vf0'), 'g0');
        const vf1 = admin.open(vfioGroup('gpu0.vf1'), 'g1');
        const st = admin.ioctl('VFIO_GROUP_GET_STATUS', v('g0'), {}, { expect: 'ok', fields: { flags: VIABLE } });
        const run = s.run();
        expectAllMatched(run);
        // Groups 0..9 come from boot and 10 was vgpu0's, freed when unbinding nvidia removed
        // the mdev (mdev_unregister_parent): the VFs get the lowest free ids, 10 and 11.
        expect(run.results[vf0]!.values.fd?.display).toMatch(/→ \/dev\/vfio\/10$/);
        expect(run.results[vf1]!.values.fd?.display).toMatch(/→ \/dev\/vfio\/11$/);
        expectStep(run, st, 'ok');
        const k = finalKernel(run);
        expect(k.devices.get('gpu0.vf0')!.devName).toBe('0000:06:10.0');
        expect(k.devices.get('gpu0.vf0')!.driver).toBe('vfio-pci');
        expect(k.groups.get(10)!.devices).toEqual(['gpu0.vf0']);
        expect(k.devices.has('vgpu0')).toBe(false);
    });

    test('VFs below a port without ACS join the port\'s group', () => {
        const m = machineOf([vtdUnit()], [pci(0, 'dmar0',
            rp('00:01.0', 'rp0', {}, ep('01:00.0', 'pf', { driver: 'ixgbe', sriov: 2 })),
        )]);
        const s = scenario(m);
        const admin = s.process('admin');
        admin.sriov('pf', 2);
        admin.unbind('pf.vf0');                 // ixgbevf claimed it when it appeared
        admin.bind('pf.vf0', 'vfio-pci');
        const open = admin.open(vfioGroup('pf.vf0'), 'group');
        const st = admin.ioctl('VFIO_GROUP_GET_STATUS', v('group'), {}, { expect: 'ok', fields: { flags: 0 } });
        const run = s.run();
        expectAllMatched(run);
        expect(run.results[open]!.values.fd?.display).toMatch(/\/dev\/vfio\/0$/);
        // pf is on ixgbe in the same group: not viable.
        expectStep(run, st, 'ok');
        expect(finalKernel(run).groups.get(0)!.devices).toEqual(['rp0', 'pf', 'pf.vf0', 'pf.vf1']);
    });

    test('the VFs of a PF on a kernel driver are claimed by its VF driver (sriov_drivers_autoprobe)', () => {
        const m = machineOf([vtdUnit()], [pci(0, 'dmar0',
            rp('00:01.0', 'rp0', { acs: true }, ep('01:00.0', 'pf', { driver: 'ixgbe', sriov: 2 })),
            rp('00:02.0', 'rp1', { acs: true }, ep('02:00.0', 'gpu', { driver: 'nvidia', sriov: 2 })),
        )]);
        const s = scenario(m);
        const admin = s.process('admin');
        admin.sriov('pf', 2);
        admin.sriov('gpu', 1);
        const busy = admin.bind('pf.vf0', 'vfio-pci', { expect: 'EBUSY' });
        admin.unbind('pf.vf0');
        const ok = admin.bind('pf.vf0', 'vfio-pci');
        const direct = admin.bind('gpu.vf0', 'vfio-pci');
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, busy, 'EBUSY', /0000:01:10\.0 \(pf\.vf0\) is already bound to ixgbevf: unbind it first/);
        expectStep(run, ok, 'ok');
        // No VF driver is known for nvidia: its VF comes up unbound and binds directly.
        expectStep(run, direct, 'ok');
        const k = finalKernel(run);
        expect(k.devices.get('pf.vf1')!.driver).toBe('ixgbevf');
        expect(k.devices.get('pf.vf0')!.driver).toBe('vfio-pci');
    });

    test('disabling VFs removes them and frees their group ids for the next VFs', () => {
        const s = scenario(workstation());
        const admin = s.process('admin');
        admin.unbind('gpu0');
        admin.bind('gpu0', 'vfio-pci');
        admin.sriov('gpu0', 2);
        admin.sriov('gpu0', 0);
        const gone = admin.open(vfioGroup('gpu0.vf0'), 'g', { expect: 'ENOENT' });
        admin.sriov('gpu0', 1);
        const again = admin.open(vfioGroup('gpu0.vf0'), 'g0');
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, gone, 'ENOENT', /no device gpu0\.vf0 exists/);
        expect(run.results[again]!.values.fd?.display).toMatch(/\/dev\/vfio\/10$/);
        expect(finalKernel(run).groups.has(11)).toBe(false);
    });

    test('VF tokens: a VF of a vfio-pci PF needs the PF\'s token (EACCES); a token for a non-SR-IOV device is EINVAL', () => {
        const token = '5f0b8d2a-1c3e-4b6f-9a7d-0e1f2a3b4c5d';
        const s = scenario(workstation());
        const vmm = s.process('vmm');
        vmm.unbind('gpu0');
        vmm.bind('gpu0', 'vfio-pci');
        vmm.sriov('gpu0', 1);
        vmm.open(container, 'c0');
        vmm.open(vfioGroup('gpu0'), 'pfg');
        vmm.ioctl('VFIO_GROUP_SET_CONTAINER', v('pfg'), { positional: v('c0') });
        vmm.ioctl('VFIO_SET_IOMMU', v('c0'), { positional: TYPE1v2 });
        // With no VF in use, the PF's open with a token sets it.
        vmm.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('pfg'), { positional: str(`0000:06:00.0 vf_token=${token}`) }, { bind: 'pf' });
        vmm.open(container, 'c1');
        vmm.open(vfioGroup('gpu0.vf0'), 'vfg');
        vmm.ioctl('VFIO_GROUP_SET_CONTAINER', v('vfg'), { positional: v('c1') });
        vmm.ioctl('VFIO_SET_IOMMU', v('c1'), { positional: TYPE1v2 });
        const noToken = vmm.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('vfg'), { positional: dev('gpu0.vf0') }, { expect: 'EACCES' });
        const wrong = vmm.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('vfg'),
            { positional: str('0000:06:10.0 vf_token=00000000-0000-0000-0000-000000000000') }, { expect: 'EACCES' });
        const malformed = vmm.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('vfg'), { positional: str('0000:06:10.0 vf_token=xyz') }, { expect: 'EINVAL' });
        const right = vmm.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('vfg'), { positional: str(`0000:06:10.0 vf_token=${token}`) }, { bind: 'vf' });
        vmm.unbind('nvme0');
        vmm.bind('nvme0', 'vfio-pci');
        vmm.open(vfioGroup('nvme0'), 'ng');
        const notSriov = vmm.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('ng'), { positional: str(`0000:01:00.0 vf_token=${token}`) }, { expect: 'EINVAL' });
        const run = s.run();
        expectAllMatched(run);
        const r = expectStep(run, noToken, 'EACCES', /0000:06:10\.0 is a VF of 0000:06:00\.0, which vfio-pci drives: the PF's VF token is required/);
        expect(r.source?.file).toBe('drivers/vfio/pci/vfio_pci_core.c');
        expectStep(run, wrong, 'EACCES', /incorrect VF token/);
        expectStep(run, malformed, 'EINVAL', /malformed vf_token/);
        expectStep(run, right, 'ok');
        expectStep(run, notSriov, 'EINVAL', /neither a PF nor a VF/);
    });

    test('once a VF is open, opening the PF needs the current token (vf_token->users)', () => {
        const token = '5f0b8d2a-1c3e-4b6f-9a7d-0e1f2a3b4c5d';
        const s = scenario(workstation());
        const vmm = s.process('vmm');
        vmm.unbind('gpu0');
        vmm.bind('gpu0', 'vfio-pci');
        vmm.sriov('gpu0', 1);
        vmm.open(container, 'c0');
        vmm.open(vfioGroup('gpu0'), 'pfg');
        vmm.ioctl('VFIO_GROUP_SET_CONTAINER', v('pfg'), { positional: v('c0') });
        vmm.ioctl('VFIO_SET_IOMMU', v('c0'), { positional: TYPE1v2 });
        vmm.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('pfg'), { positional: str(`0000:06:00.0 vf_token=${token}`) }, { bind: 'pf' });
        vmm.close(v('pf'));
        vmm.open(container, 'c1');
        vmm.open(vfioGroup('gpu0.vf0'), 'vfg');
        vmm.ioctl('VFIO_GROUP_SET_CONTAINER', v('vfg'), { positional: v('c1') });
        vmm.ioctl('VFIO_SET_IOMMU', v('c1'), { positional: TYPE1v2 });
        vmm.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('vfg'), { positional: str(`0000:06:10.0 vf_token=${token}`) }, { bind: 'vf' });
        const pfNoToken = vmm.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('pfg'), { positional: dev('gpu0') }, { expect: 'EACCES' });
        const pfToken = vmm.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('pfg'), { positional: str(`0000:06:00.0 vf_token=${token}`) }, { bind: 'pf2' });
        vmm.close(v('vf'));
        // No VF open any more: the PF opens without a token again.
        const pfFree = vmm.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('pfg'), { positional: dev('gpu0') }, { bind: 'pf3' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, pfNoToken, 'EACCES', /0000:06:00\.0's VFs are in use: the current VF token is required/);
        expectStep(run, pfToken, 'ok');
        expectStep(run, pfFree, 'ok');
    });
});

describe('big mappings survive a bind elsewhere', () => {
    test('binding a sibling to vfio-pci while the group is owned keeps the container working', () => {
        const s = scenario(workstation());
        const vmm = s.process('vmm');
        vmm.unbind('nic0');
        vmm.unbind('nic1');
        vmm.bind('nic0', 'vfio-pci');
        vmm.open(container, 'container');
        vmm.open(vfioGroup('nic0'), 'group');
        vmm.ioctl('VFIO_GROUP_SET_CONTAINER', v('group'), { positional: v('container') });
        vmm.ioctl('VFIO_SET_IOMMU', v('container'), { positional: TYPE1v2 });
        vmm.mmap(1n * G, 'ram');
        vmm.ioctl('VFIO_IOMMU_MAP_DMA', v('container'), { vaddr: v('ram'), iova: 0, size: 1n * G, flags: READ | WRITE });
        vmm.bind('nic1', 'vfio-pci');
        const d = vmm.dma('nic1', 'write', 0x1000n, 64n);
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, d, 'ok');
    });
});
