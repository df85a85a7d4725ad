/**
 * The legacy container `/dev/vfio/vfio` (`engine/vfio/container.ts`) against
 * drivers/vfio/container.c: vfio_fops_unl_ioctl, vfio_container_ioctl_check_extension (polling
 * type1 then noiommu while no driver is set), vfio_ioctl_set_iommu, vfio_noiommu_open, and
 * vfio_iommu_type1_check_extension / vfio_iommu_type1_open.
 */
import { describe, expect, test } from 'vitest';
import { ep } from '../machine/builders.js';
import { isolated, machineOf, vtdUnit, workstation } from '../machines.js';
import { M, expectAllMatched, expectStep, path, scenario, v, vfioGroup } from '../scenario.js';
import type { MachineSpec } from '../../../engine/machine/spec.js';

const VFIO_TYPE1_IOMMU = 1n;
const VFIO_SPAPR_TCE_IOMMU = 2n;
const TYPE1v2 = 3n;
const VFIO_DMA_CC_IOMMU = 4n;
const VFIO_TYPE1_NESTING_IOMMU = 6n;
const VFIO_NOIOMMU_IOMMU = 8n;
const VFIO_UNMAP_ALL = 9n;
const VFIO_UPDATE_VADDR = 10n;
const container = path('/dev/vfio/vfio');

function nicMachine(opts: { enforce?: boolean; kernel?: { major: number; minor: number } } = {}): MachineSpec {
    const unit = vtdUnit('dmar0', { features: opts.enforce === false ? ['coherent', 'intr-remap'] : undefined });
    return { ...isolated([ep('01:00.0', 'nic0', { driver: 'ixgbe' })], { unit }), kernel: opts.kernel };
}

describe('VFIO_GET_API_VERSION and VFIO_CHECK_EXTENSION', () => {
    test('before any driver is set every registered driver is polled; after SET_IOMMU type1 answers', () => {
        const s = scenario(nicMachine());
        const p = s.process('vmm');
        p.unbind('nic0');
        p.bind('nic0', 'vfio-pci');
        p.open(container, 'c');
        const api = p.ioctl('VFIO_GET_API_VERSION', v('c'), {}, { expect: 'ok', fields: { value: 0 } });
        const before: Array<[bigint, number]> = [
            [VFIO_TYPE1_IOMMU, 1], [TYPE1v2, 1], [VFIO_UNMAP_ALL, 1],
            // type1 answers these only once it is the container's driver (iommu != NULL).
            [VFIO_UPDATE_VADDR, 0], [VFIO_DMA_CC_IOMMU, 0],
            // noiommu mode is off; SPAPR TCE does not exist on x86; the nesting type was retired in 6.13.
            [VFIO_NOIOMMU_IOMMU, 0], [VFIO_SPAPR_TCE_IOMMU, 0], [VFIO_TYPE1_NESTING_IOMMU, 0], [99n, 0],
        ];
        const pre = before.map(([ext, want]) => p.ioctl('VFIO_CHECK_EXTENSION', v('c'), { positional: ext }, { expect: 'ok', fields: { value: want } }));
        p.open(vfioGroup('nic0'), 'g');
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('c') });
        p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 });
        const after: Array<[bigint, number]> = [
            [VFIO_TYPE1_IOMMU, 1], [TYPE1v2, 1], [VFIO_UNMAP_ALL, 1], [VFIO_UPDATE_VADDR, 1],
            // every domain enforces cache coherency (VT-d snoop control, ecap.SC)
            [VFIO_DMA_CC_IOMMU, 1], [VFIO_NOIOMMU_IOMMU, 0],
        ];
        const post = after.map(([ext, want]) => p.ioctl('VFIO_CHECK_EXTENSION', v('c'), { positional: ext }, { expect: 'ok', fields: { value: want } }));
        const run = s.run();
        expectAllMatched(run);
        expect(run.results[api]!.values.value?.value).toBe(0n);
        expect([...pre, ...post].every((i) => run.results[i]!.outcome === 'ok')).toBe(true);
    });

    test('VFIO_DMA_CC_IOMMU is 0 when a domain cannot enforce coherency (no snoop control)', () => {
        const s = scenario(nicMachine({ enforce: false }));
        const p = s.process('vmm');
        p.unbind('nic0');
        p.bind('nic0', 'vfio-pci');
        p.open(container, 'c');
        p.open(vfioGroup('nic0'), 'g');
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('c') });
        p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 });
        const cc = p.ioctl('VFIO_CHECK_EXTENSION', v('c'), { positional: VFIO_DMA_CC_IOMMU }, { expect: 'ok', fields: { value: 0 } });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, cc, 'ok');
    });

    test('VFIO_UPDATE_VADDR is 0 while an mdev (emulated) group uses the container', () => {
        const s = scenario(workstation());
        const p = s.process('vmm');
        p.open(container, 'c');
        p.open(vfioGroup('vgpu0'), 'g');
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('c') });
        p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 });
        const vaddr = p.ioctl('VFIO_CHECK_EXTENSION', v('c'), { positional: VFIO_UPDATE_VADDR }, { expect: 'ok', fields: { value: 0 } });
        // An mdev-only container has no domain: DMA_CC_IOMMU is vacuously 1.
        const cc = p.ioctl('VFIO_CHECK_EXTENSION', v('c'), { positional: VFIO_DMA_CC_IOMMU }, { expect: 'ok', fields: { value: 1 } });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, vaddr, 'ok');
        expectStep(run, cc, 'ok');
    });

    test('before 6.13 type1 still claimed VFIO_TYPE1_NESTING_IOMMU', () => {
        const s = scenario(nicMachine({ kernel: { major: 6, minor: 12 } }));
        const p = s.process('vmm');
        p.open(container, 'c');
        const nesting = p.ioctl('VFIO_CHECK_EXTENSION', v('c'), { positional: VFIO_TYPE1_NESTING_IOMMU }, { expect: 'ok', fields: { value: 1 } });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, nesting, 'ok');
    });
});

describe('VFIO_SET_IOMMU', () => {
    test('EINVAL without a group or once set; ENODEV for a type no driver offers; EINVAL for a type1 extension that is no type', () => {
        const s = scenario(nicMachine());
        const p = s.process('vmm');
        p.unbind('nic0');
        p.bind('nic0', 'vfio-pci');
        p.open(container, 'c');
        const noGroup = p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 }, { expect: 'EINVAL' });
        const mapEarly = p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: 0, iova: 0, size: 4096, flags: 3 }, { expect: 'EINVAL' });
        p.open(vfioGroup('nic0'), 'g');
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('c') });
        const nesting = p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: VFIO_TYPE1_NESTING_IOMMU }, { expect: 'ENODEV' });
        const spapr = p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: VFIO_SPAPR_TCE_IOMMU }, { expect: 'ENODEV' });
        const noiommu = p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: VFIO_NOIOMMU_IOMMU }, { expect: 'ENODEV' });
        // type1's CHECK_EXTENSION says yes to VFIO_UNMAP_ALL, so it is opened with it, and refuses.
        const unmapAll = p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: VFIO_UNMAP_ALL }, { expect: 'EINVAL' });
        const ok = p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 });
        const twice = p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: VFIO_TYPE1_IOMMU }, { expect: 'EINVAL' });
        // Once type1 is set, ioctls it does not know are ENOTTY.
        const unknown = p.ioctl('VFIO_GROUP_GET_STATUS', v('c'), {}, { expect: 'ENOTTY' });
        const run = s.run();
        expectAllMatched(run);
        const r = expectStep(run, noGroup, 'EINVAL', /container 1 has no group yet/);
        expect(r.source?.func).toBe('vfio_ioctl_set_iommu');
        expectStep(run, mapEarly, 'EINVAL', /no IOMMU driver yet \(VFIO_SET_IOMMU\)/);
        expectStep(run, nesting, 'ENODEV', /no VFIO IOMMU driver supports type 6/);
        expectStep(run, spapr, 'ENODEV', /type 2/);
        expectStep(run, noiommu, 'ENODEV', /type 8/);
        expectStep(run, unmapAll, 'EINVAL', /vfio_iommu_type1 cannot open IOMMU type 9/);
        expectStep(run, ok, 'ok');
        expectStep(run, twice, 'EINVAL', /already uses the type1 IOMMU driver/);
        expectStep(run, unknown, 'ENOTTY', /vfio_iommu_type1 does not handle VFIO_GROUP_GET_STATUS/);
    });

    test('interrupt remapping off: every group attach fails EPERM and the container stays without a driver', () => {
        const unit = vtdUnit('dmar0', { features: ['coherent', 'enforce-coherency'] });
        const s = scenario(isolated([ep('01:00.0', 'nic0', { driver: 'e1000e' })], { unit }));
        const p = s.process('vmm');
        p.unbind('nic0');
        p.bind('nic0', 'vfio-pci');
        p.open(container, 'c');
        p.open(vfioGroup('nic0'), 'g');
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('c') });
        const set = p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 }, { expect: 'EPERM' });
        const retry = p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 }, { expect: 'EPERM' });
        const dma = p.dma('nic0', 'read', 0n, 8n, { expect: 'fault' });
        const run = s.run();
        expectAllMatched(run);
        const r = expectStep(run, set, 'EPERM', /no interrupt remapping.*allow_unsafe_interrupts=1/);
        expect(r.source?.func).toBe('vfio_iommu_type1_attach_group');
        expectStep(run, retry, 'EPERM');
        // The group stays owned (blocked): its DMA faults.
        expectStep(run, dma, 'fault', /blocking domain/);
    });

    test('noiommu containers: only VFIO_NOIOMMU_IOMMU, and it needs CAP_SYS_RAWIO', () => {
        const m = machineOf([], [{ segment: 0, children: [ep('00:03.0', 'nic0', { driver: 'e1000e' })(0)] }],
            { cmdline: 'vfio.enable_unsafe_noiommu_mode=1' });
        const s = scenario(m);
        const root = s.process('root');
        root.unbind('nic0');
        root.bind('nic0', 'vfio-pci');
        root.open(container, 'c');
        const ext = root.ioctl('VFIO_CHECK_EXTENSION', v('c'), { positional: VFIO_NOIOMMU_IOMMU }, { expect: 'ok', fields: { value: 1 } });
        root.open(path('/dev/vfio/noiommu-0'), 'g');
        root.ioctl('VFIO_GROUP_SET_CONTAINER', v('g'), { positional: v('c') });
        // With a noiommu group in it, the container may only poll the noiommu driver.
        const type1Ext = root.ioctl('VFIO_CHECK_EXTENSION', v('c'), { positional: TYPE1v2 }, { expect: 'ok', fields: { value: 0 } });
        const type1 = root.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 }, { expect: 'ENODEV' });
        root.send(v('c'), 'weak', 'c');
        const weak = s.process('weak', { caps: ['CAP_IPC_LOCK'] });
        const eperm = weak.ioctl('VFIO_SET_IOMMU', v('c'), { positional: VFIO_NOIOMMU_IOMMU }, { expect: 'EPERM' });
        const set = root.ioctl('VFIO_SET_IOMMU', v('c'), { positional: VFIO_NOIOMMU_IOMMU });
        const map = root.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: 0, iova: 0, size: 1n * M, flags: 3 }, { expect: 'ENOTTY' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, ext, 'ok');
        expectStep(run, type1Ext, 'ok');
        expectStep(run, type1, 'ENODEV', /noiommu container only takes VFIO_NOIOMMU_IOMMU/);
        expectStep(run, eperm, 'EPERM', /lacks CAP_SYS_RAWIO/);
        expectStep(run, set, 'ok');
        expectStep(run, map, 'ENOTTY', /noiommu backend has no VFIO_IOMMU_MAP_DMA/);
    });
});
