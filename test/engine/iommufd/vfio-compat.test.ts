/**
 * The VFIO container interface on iommufd (engine/iommufd/vfio-compat.ts,
 * engine/vfio/group-iommufd.ts): kernel-semantics 3.3 (#6), 3.6 and 5bis.
 */
import { describe, expect, test } from 'vitest';
import { dev, expectAllMatched, expectStep, scenario, v, vfioGroup } from '../scenario.js';
import { ep, pci } from '../machine/builders.js';
import { FIXED_IOVA, K, M, RW, ctxOf, finalKernel, full, machineWith, vtdUnit } from './helpers.js';

const TYPE1 = 1n;
const TYPE1v2 = 3n;
const READ = 1n;
const WRITE = 2n;

const withIommufdContainer = machineWith(vtdUnit(['coherent', 'enforce-coherency', 'intr-remap', 'nesting', 'dirty-tracking']), { cmdline: 'iommufd.vfio_container=1' });

describe('VFIO_GROUP_SET_CONTAINER with an iommufd', () => {
    test('no DMA ownership is claimed: a non-viable group is accepted, and GET_DEVICE_FD fails EPERM', () => {
        const s = scenario(full);
        const p = s.process('vmm');
        p.unbind('nicA');
        p.bind('nicA', 'vfio-pci');
        p.open({ kind: 'literal', path: '/dev/iommu' }, 'iommufd');
        p.open(vfioGroup('nicA'), 'group');
        const status = p.ioctl('VFIO_GROUP_GET_STATUS', v('group'), {}, { expect: 'ok', fields: { flags: 0 } });
        const set = p.ioctl('VFIO_GROUP_SET_CONTAINER', v('group'), { positional: v('iommufd') });
        p.ioctl('VFIO_GROUP_GET_STATUS', v('group'), {}, { expect: 'ok', fields: { flags: 3 } });
        const get = p.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('group'), { positional: dev('nicA') }, { expect: 'EPERM' });
        const ioas = p.ioctl('IOMMU_VFIO_IOAS', v('iommufd'), { op: 0 }, { expect: 'ok', fields: { ioas_id: 1 } });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, status, 'ok');
        expectStep(run, set, 'ok');
        expectStep(run, get, 'EPERM', /0000:03:00\.1 \(nicB\) is bound to ixgbe/);
        expectStep(run, ioas, 'ok');
    });

    test('GET_DEVICE_FD binds and attaches to the compat IOAS; DMA works through the legacy MAP_DMA', () => {
        const s = scenario(full);
        const p = s.process('vmm');
        p.unbind('nvme0');
        p.bind('nvme0', 'vfio-pci');
        p.open({ kind: 'literal', path: '/dev/iommu' }, 'iommufd');
        p.open(vfioGroup('nvme0'), 'group');
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('group'), { positional: v('iommufd') });
        p.ioctl('VFIO_SET_IOMMU', v('iommufd'), { positional: TYPE1v2 });
        p.mmap(1n * M, 'ram');
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('iommufd'), { vaddr: v('ram'), iova: 0, size: 1n * M, flags: READ | WRITE });
        p.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('group'), { positional: dev('nvme0') }, { bind: 'dfd' });
        p.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('group'), { positional: dev('nvme0') }, { bind: 'dfd2' });
        const d = p.dma('nvme0', 'write', 0x1000n, 64n);
        const unset = p.ioctl('VFIO_GROUP_UNSET_CONTAINER', v('group'), {});
        const still = p.dma('nvme0', 'write', 0x1000n, 64n);
        p.close(v('dfd'));
        p.close(v('dfd2'));
        const after = p.dma('nvme0', 'write', 0x1000n, 64n, { expect: 'fault' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, d, 'ok');
        expectStep(run, unset, 'ok');
        expectStep(run, still, 'ok');
        expectStep(run, after, 'fault', /not mapped in DMA-API domain/);
        // IOAS 1 (compat), DEVICE 2 and its auto HWPT 3 while open; the IOAS stays.
        expect([...ctxOf(run).objects.keys()]).toEqual([1]);
        const k = finalKernel(run);
        expect(k.groups.get(k.devices.get('nvme0')!.group!)!.owner).toBeNull();
    });

    test('IOMMU_VFIO_IOAS: GET without one ENODEV, SET a non-IOAS ENOENT, CLEAR makes GET_DEVICE_FD fail ENODEV', () => {
        const s = scenario(full);
        const p = s.process('vmm');
        p.unbind('nvme0');
        p.bind('nvme0', 'vfio-pci');
        p.open({ kind: 'literal', path: '/dev/iommu' }, 'iommufd');
        const none = p.ioctl('IOMMU_VFIO_IOAS', v('iommufd'), { op: 0 }, { expect: 'ENODEV' });
        const rsv = p.ioctl('IOMMU_VFIO_IOAS', v('iommufd'), { op: 0, __reserved: 1 }, { expect: 'EOPNOTSUPP' });
        const badop = p.ioctl('IOMMU_VFIO_IOAS', v('iommufd'), { op: 5 }, { expect: 'EOPNOTSUPP' });
        const noent = p.ioctl('IOMMU_VFIO_IOAS', v('iommufd'), { op: 1, ioas_id: 3 }, { expect: 'ENOENT' });
        p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'mine' });
        p.ioctl('IOMMU_VFIO_IOAS', v('iommufd'), { op: 1, ioas_id: v('mine') });
        p.open(vfioGroup('nvme0'), 'group');
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('group'), { positional: v('iommufd') });
        const got = p.ioctl('IOMMU_VFIO_IOAS', v('iommufd'), { op: 0 }, { expect: 'ok', fields: { ioas_id: 1 } });
        p.ioctl('IOMMU_VFIO_IOAS', v('iommufd'), { op: 2 });
        const get = p.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('group'), { positional: dev('nvme0') }, { expect: 'ENODEV' });
        const info = p.ioctl('VFIO_IOMMU_GET_INFO', v('iommufd'), {}, { expect: 'ENODEV' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, none, 'ENODEV', /has no VFIO compat IOAS/);
        expectStep(run, rsv, 'EOPNOTSUPP');
        expectStep(run, badop, 'EOPNOTSUPP', /op 5/);
        expectStep(run, noent, 'ENOENT', /ioas_id 3/);
        expectStep(run, got, 'ok');
        expectStep(run, get, 'ENODEV');
        expectStep(run, info, 'ENODEV');
    });
});

describe('iommufd-provided /dev/vfio/vfio (CONFIG_IOMMUFD_VFIO_CONTAINER)', () => {
    test('container ioctls: API version, extensions, SET_IOMMU needs a group (ENODEV), MM accounting by default', () => {
        const s = scenario(withIommufdContainer);
        const p = s.process('vmm');
        p.open({ kind: 'literal', path: '/dev/vfio/vfio' }, 'c');
        const ver = p.ioctl('VFIO_GET_API_VERSION', v('c'), {}, { expect: 'ok', fields: { value: 0 } });
        const t1 = p.ioctl('VFIO_CHECK_EXTENSION', v('c'), { positional: TYPE1 }, { expect: 'ok', fields: { value: 1 } });
        const nest = p.ioctl('VFIO_CHECK_EXTENSION', v('c'), { positional: 6 }, { expect: 'ok', fields: { value: 0 } });
        const vaddr = p.ioctl('VFIO_CHECK_EXTENSION', v('c'), { positional: 10 }, { expect: 'ok', fields: { value: 0 } });
        const cc = p.ioctl('VFIO_CHECK_EXTENSION', v('c'), { positional: 4 }, { expect: 'ENODEV' });
        const set = p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 }, { expect: 'ENODEV' });
        const bad = p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: 2 }, { expect: 'EINVAL' });
        const mode = p.ioctl('IOMMU_OPTION', v('c'), { option_id: 0, op: 1 }, { expect: 'ok', fields: { val64: 1 } });
        const dirty = p.ioctl('VFIO_IOMMU_DIRTY_PAGES', v('c'), { flags: 1 }, { expect: 'ENOTTY' });
        const run = s.run();
        expectAllMatched(run);
        for (const i of [ver, t1, nest, vaddr, mode]) {
            expectStep(run, i, 'ok');
        }
        expectStep(run, cc, 'ENODEV');
        expectStep(run, set, 'ENODEV', /no VFIO compat IOAS/);
        expectStep(run, bad, 'EINVAL', /emulates only VFIO_TYPE1_IOMMU and VFIO_TYPE1v2_IOMMU/);
        expectStep(run, dirty, 'ENOTTY');
        expect(finalKernel(run).log).toContain('iommufd: IOMMUFD is providing /dev/vfio/vfio, not VFIO.');
    });

    test('TYPE1v2: a range that splits a mapping is ENOENT (type1 says EINVAL); size is written back', () => {
        const s = scenario(withIommufdContainer);
        const p = s.process('vmm');
        p.unbind('nvme0');
        p.bind('nvme0', 'vfio-pci');
        p.open({ kind: 'literal', path: '/dev/vfio/vfio' }, 'c');
        p.open(vfioGroup('nvme0'), 'group');
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('group'), { positional: v('c') });
        p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 });
        p.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('group'), { positional: dev('nvme0') }, { bind: 'dfd' });
        p.mmap(2n * M, 'ram');
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0x10_0000n, size: 1n * M, flags: READ | WRITE });
        const exist = p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0x10_0000n, size: 4096, flags: READ | WRITE }, { expect: 'EEXIST' });
        const msi = p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0xfee0_0000n, size: 4096, flags: READ }, { expect: 'EINVAL' });
        const vaddrFlag = p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0x40_0000n, size: 4096, flags: 4 }, { expect: 'EINVAL' });
        const split = p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { iova: 0x10_0000n, size: 4096 }, { expect: 'ENOENT', fields: { size: 0 } });
        const empty = p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { iova: 0x80_0000n, size: 4096 }, { expect: 'ok', fields: { size: 0 } });
        const allbad = p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { iova: 0x1000, size: 0, flags: 2 }, { expect: 'EINVAL' });
        const info = p.ioctl('VFIO_IOMMU_GET_INFO', v('c'), { argsz: 256 }, { expect: 'ok', fields: { flags: 3, iova_pgsizes: 0x40201000n } });
        const cc = p.ioctl('VFIO_CHECK_EXTENSION', v('c'), { positional: 4 }, { expect: 'ok', fields: { value: 1 } });
        const whole = p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { iova: 0x10_0000n, size: 1n * M }, { expect: 'ok', fields: { size: 1n * M } });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, exist, 'EEXIST');
        expectStep(run, msi, 'EINVAL', /MSI window/);
        expectStep(run, vaddrFlag, 'EINVAL', /no VFIO_DMA_MAP_FLAG_VADDR/);
        expectStep(run, split, 'ENOENT', /never splits a mapping/);
        expectStep(run, empty, 'ok');
        expectStep(run, allbad, 'EINVAL', /needs iova and size 0/);
        const vals = run.results[info]!.values;
        expect(vals.dma_avail?.value).toBe(0xffff_ffffn);
        expect(vals['iova_ranges[1].end']?.value).toBe(0x7fff_ffff_ffffn);
        expectStep(run, cc, 'ok');
        expectStep(run, whole, 'ok');
    });

    test('TYPE1 (v1): huge pages off, any page-aligned sub-range can be unmapped (the area is cut)', () => {
        const s = scenario(withIommufdContainer);
        const p = s.process('vmm');
        p.unbind('nvme0');
        p.bind('nvme0', 'vfio-pci');
        p.open({ kind: 'literal', path: '/dev/vfio/vfio' }, 'c');
        p.open(vfioGroup('nvme0'), 'group');
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('group'), { positional: v('c') });
        p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1 });
        p.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('group'), { positional: dev('nvme0') }, { bind: 'dfd' });
        p.mmap(2n * M, 'ram', { hugepage: 2n * M });
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0x20_0000n, size: 2n * M, flags: READ | WRITE });
        const small = p.dma('nvme0', 'read', 0x20_0000n, 8n);
        const cut = p.ioctl('VFIO_IOMMU_UNMAP_DMA', v('c'), { iova: 0x21_0000n, size: 64n * K }, { expect: 'ok', fields: { size: 64n * K } });
        const gone = p.dma('nvme0', 'read', 0x21_0000n, 8n, { expect: 'fault' });
        const kept = p.dma('nvme0', 'read', 0x22_0000n, 8n);
        const again = p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1 });
        const run = s.run();
        expectAllMatched(run);
        expect(run.results[small]!.dma!.segments[0]!.pageSize).toBe(4n * K);
        expectStep(run, cut, 'ok');
        expectStep(run, gone, 'fault');
        expectStep(run, kept, 'ok');
        expectStep(run, again, 'ok');
    });

    test('switching to TYPE1 once domains hold mappings is EINVAL', () => {
        const s = scenario(withIommufdContainer);
        const p = s.process('vmm');
        p.unbind('nvme0');
        p.bind('nvme0', 'vfio-pci');
        p.open({ kind: 'literal', path: '/dev/vfio/vfio' }, 'c');
        p.open(vfioGroup('nvme0'), 'group');
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('group'), { positional: v('c') });
        p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1v2 });
        p.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('group'), { positional: dev('nvme0') }, { bind: 'dfd' });
        p.mmap(64n * K, 'ram');
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('c'), { vaddr: v('ram'), iova: 0x1_0000n, size: 64n * K, flags: READ });
        const v1 = p.ioctl('VFIO_SET_IOMMU', v('c'), { positional: TYPE1 }, { expect: 'EINVAL' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, v1, 'EINVAL', /huge pages cannot be turned off now/);
        void FIXED_IOVA;
        void RW;
    });
});

describe('other VFIO groups on an iommufd', () => {
    test('an emulated mdev group: GET_DEVICE_FD makes an ACCESS on the compat IOAS; its parent driver DMAs through it', () => {
        const s = scenario(full);
        const p = s.process('vmm');
        p.mdev('vgpu', 'gpu0', 'emulated');
        p.open({ kind: 'literal', path: '/dev/iommu' }, 'iommufd');
        p.open(vfioGroup('vgpu'), 'group');
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('group'), { positional: v('iommufd') });
        p.ioctl('VFIO_SET_IOMMU', v('iommufd'), { positional: TYPE1v2 });
        p.mmap(64n * K, 'ram');
        p.ioctl('VFIO_IOMMU_MAP_DMA', v('iommufd'), { vaddr: v('ram'), iova: 0x1_0000n, size: 64n * K, flags: READ | WRITE });
        p.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('group'), { positional: dev('vgpu') }, { bind: 'dfd' });
        const d = p.dma('vgpu', 'write', 0x1_0000n, 64n);
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, d, 'ok');
        const ctx = ctxOf(run);
        expect([...ctx.objects.values()].map((o) => o.type)).toEqual(['ioas', 'access']);
    });

    test('a no-iommu group puts the iommufd in no-iommu mode: no bind, CAP_SYS_RAWIO, and real groups refused (EINVAL)', () => {
        const m = {
            ...machineWith(vtdUnit(['coherent', 'enforce-coherency', 'intr-remap']), { cmdline: 'vfio.enable_unsafe_noiommu_mode=1' }),
        };
        const noIommu = { ...m, segments: [...m.segments, pci(1, undefined, ep('00:05.0', 'raw0', { driver: null }))] };
        const s = scenario(noIommu);
        const p = s.process('vmm');
        p.bind('raw0', 'vfio-pci');
        p.unbind('nvme0');
        p.bind('nvme0', 'vfio-pci');
        p.open({ kind: 'literal', path: '/dev/iommu' }, 'iommufd');
        p.open(vfioGroup('raw0'), 'ng');
        p.ioctl('VFIO_GROUP_SET_CONTAINER', v('ng'), { positional: v('iommufd') });
        const ext = p.ioctl('VFIO_CHECK_EXTENSION', v('iommufd'), { positional: 8 }, { expect: 'ok', fields: { value: 1 } });
        const set = p.ioctl('VFIO_SET_IOMMU', v('iommufd'), { positional: 8 });
        const t1 = p.ioctl('VFIO_SET_IOMMU', v('iommufd'), { positional: TYPE1v2 }, { expect: 'EINVAL' });
        const get = p.ioctl('VFIO_GROUP_GET_DEVICE_FD', v('ng'), { positional: dev('raw0') });
        p.open(vfioGroup('nvme0'), 'rg');
        const real = p.ioctl('VFIO_GROUP_SET_CONTAINER', v('rg'), { positional: v('iommufd') }, { expect: 'EINVAL' });
        const run = s.run();
        expectAllMatched(run);
        expectStep(run, ext, 'ok');
        expectStep(run, set, 'ok');
        expectStep(run, t1, 'EINVAL', /holds a no-iommu group/);
        expectStep(run, get, 'ok');
        expectStep(run, real, 'EINVAL', /no-iommu VFIO group/);
        expect(ctxOf(run).objects.size).toBe(0);
    });
});
