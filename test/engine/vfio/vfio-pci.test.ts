/**
 * vfio-pci's own rules (`engine/vfio/vfio-pci.ts`) against drivers/vfio/pci/vfio_pci_core.c:
 * vfio_pci_core_register_device (bridges EINVAL, PFs with VFs EBUSY), vfio_pci_ioctl_get_info,
 * vfio_pci_ioctl_get_region_info, vfio_pci_ioctl_reset.
 */
import { describe, expect, test } from 'vitest';
import { iommu_device_unuse_default_domain } from '../../../engine/iommu/core.js';
import { applyOp, bootKernel, updateKernel } from '../../../engine/kernel.js';
import { spawnProcess } from '../../../engine/fs/process.js';
import { ep } from '../machine/builders.js';
import { isolated, workstation } from '../machines.js';
import { dev, expectAllMatched, expectStep, path, scenario, v, vfioGroup } from '../scenario.js';

const TYPE1v2 = 3n;
const FLAGS_RESET = 1n;
const FLAGS_PCI = 2n;
const REGION_READ = 1n;
const REGION_WRITE = 2n;

describe('device fd ioctls', () => {
    test('GET_INFO: RESET|PCI, 9 regions, 5 IRQ types; GET_REGION_INFO; RESET', () => {
        const m = isolated([
            ep('01:00.0', 'nic0', { driver: 'ixgbe' }),
            ep('02:00.0', 'old', { driver: 'e100', conventional: true }),
            ep('03:00.0', 'gpu0', { driver: 'amdgpu', className: 'display' }),
        ]);
        const s = scenario(m);
        const p = s.process('vmm');
        p.open(path('/dev/vfio/vfio'), 'c');
        for (const [d, g] of [['nic0', 'g0'], ['old', 'g1'], ['gpu0', 'g2']] as const) {
            p.unbind(d);
            p.bind(d, 'vfio-pci');
            p.open(vfioGroup(d), g);
            p.ioctl('VFIO_GROUP_SET_CONTAINER', v(g), { positional: v('c') });
        }
        p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 });
        p.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('g0'), { positional: dev('nic0') }, { bind: 'd' });
        p.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('g1'), { positional: dev('old') }, { bind: 'o' });
        p.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('g2'), { positional: dev('gpu0') }, { bind: 'gpu' });
        const info = p.ioctl('VFIO_DEVICE_GET_INFO', v('d'), {}, {
            expect: 'ok', fields: { flags: FLAGS_RESET | FLAGS_PCI, num_regions: 9, num_irqs: 5 },
        });
        const small = p.ioctl('VFIO_DEVICE_GET_INFO', v('d'), { argsz: 15 }, { expect: 'EINVAL' });
        const config = p.ioctl('VFIO_DEVICE_GET_REGION_INFO', v('d'), { positional: 7 }, {
            expect: 'ok', fields: { size: 4096, flags: REGION_READ | REGION_WRITE, offset: 7n << 40n },
        });
        const noVga = p.ioctl('VFIO_DEVICE_GET_REGION_INFO', v('d'), { positional: 8 }, { expect: 'EINVAL' });
        const beyond = p.ioctl('VFIO_DEVICE_GET_REGION_INFO', v('d'), { positional: 9 }, { expect: 'EINVAL' });
        const regSmall = p.ioctl('VFIO_DEVICE_GET_REGION_INFO', v('d'), { positional: 7, argsz: 31 }, { expect: 'EINVAL' });
        const vga = p.ioctl('VFIO_DEVICE_GET_REGION_INFO', v('gpu'), { positional: 8 }, { expect: 'ok', fields: { size: 0xc0000 } });
        const reset = p.ioctl('VFIO_DEVICE_RESET', v('d'));
        // A conventional function with no reset method listed has none: reset_works is false.
        const oldInfo = p.ioctl('VFIO_DEVICE_GET_INFO', v('o'), {}, { expect: 'ok', fields: { flags: FLAGS_PCI } });
        const oldConfig = p.ioctl('VFIO_DEVICE_GET_REGION_INFO', v('o'), { positional: 7 }, { expect: 'ok', fields: { size: 256 } });
        const noReset = p.ioctl('VFIO_DEVICE_RESET', v('o'), {}, { expect: 'EINVAL' });
        const notDevice = p.ioctl('VFIO_IOMMU_MAP_DMA', v('d'), {}, { expect: 'ENOTTY' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, info, 'ok');
        expectStep(run, small, 'EINVAL', /argsz 15 is smaller than 16/);
        expectStep(run, config, 'ok');
        expectStep(run, noVga, 'EINVAL', /is not a VGA device/);
        const r = expectStep(run, beyond, 'EINVAL', /region index 9 is beyond the 9 vfio-pci regions/);
        expect(r.source?.func).toBe('vfio_pci_ioctl_get_region_info');
        expectStep(run, regSmall, 'EINVAL', /argsz 31 is smaller than 32/);
        expectStep(run, vga, 'ok');
        expectStep(run, reset, 'ok');
        expectStep(run, oldInfo, 'ok');
        expectStep(run, oldConfig, 'ok');
        expectStep(run, noReset, 'EINVAL', /old\) has no reset method/);
        expectStep(run, notDevice, 'ENOTTY');
    });
});

describe('vfio_pci_core_register_device', () => {
    test('a PF whose driver left SR-IOV enabled cannot be bound to vfio-pci: EBUSY', () => {
        const boot = bootKernel(workstation());
        let k = updateKernel(boot.kernel, (d) => {
            spawnProcess(d, { name: 'admin' });
        });
        k = applyOp(k, 'admin', { op: 'sriov', device: 'gpu0', numvfs: 2n }).kernel;
        // pci_iov_remove: "driver left SR-IOV enabled after remove" (a PF driver that does not
        // disable its VFs in ->remove). The engine's PF drivers all disable them, so set it up.
        k = updateKernel(k, (d) => {
            const gpu = d.devices.get('gpu0')!;
            iommu_device_unuse_default_domain(d, gpu);
            gpu.driver = null;
        });
        const { outcome } = applyOp(k, 'admin', { op: 'bind', device: 'gpu0', driver: 'vfio-pci' });
        expect(outcome.errno).toBe('EBUSY');
        expect(outcome.reason).toMatch(/0000:06:00\.0 \(gpu0\) has 2 VFs enabled: vfio-pci cannot bind a PF with SR-IOV enabled/);
        expect(outcome.source?.func).toBe('vfio_pci_core_register_device');
    });

    test('a device without an IOMMU group is refused (EINVAL) unless noiommu mode is on', () => {
        const s = scenario({
            name: 'bare', iommus: [], platform: [], mdevs: [],
            segments: [{ segment: 0, children: [ep('00:03.0', 'nic0', { driver: 'e1000e' })(0)] }],
        });
        const p = s.process('admin');
        p.unbind('nic0');
        const bind = p.bind('nic0', 'vfio-pci', { expect: 'EINVAL' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, bind, 'EINVAL', /has no IOMMU group: VFIO refuses a device without IOMMU protection \(vfio.enable_unsafe_noiommu_mode is off\)/);
    });
});
