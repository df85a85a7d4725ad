import { describe, expect, test } from 'vitest';
import type { KernelVersion } from '../../../engine/machine/spec.js';
import { kv } from '../../../engine/uapi/define.js';
import {
    allIoctls,
    availableIn,
    findField,
    findIoctl,
    findIoctlByCmd,
    ioctlsForFile,
    writableFields,
} from '../../../engine/uapi/index.js';
import { io, iow, iowr } from '../../../engine/uapi/ioc.js';

describe('command numbers', () => {
    const vfio = (n: number): number => io(';', 100 + n);
    const expected: Record<string, number> = {
        VFIO_GET_API_VERSION: 0x3b64,
        VFIO_CHECK_EXTENSION: 0x3b65,
        VFIO_SET_IOMMU: 0x3b66,
        VFIO_GROUP_GET_STATUS: 0x3b67,
        VFIO_GROUP_SET_CONTAINER: 0x3b68,
        VFIO_GROUP_UNSET_CONTAINER: 0x3b69,
        VFIO_GROUP_GET_DEVICE_FD: 0x3b6a,
        VFIO_DEVICE_GET_INFO: vfio(7),
        VFIO_DEVICE_GET_REGION_INFO: vfio(8),
        VFIO_DEVICE_GET_IRQ_INFO: vfio(9),
        VFIO_DEVICE_RESET: vfio(11),
        VFIO_DEVICE_GET_PCI_HOT_RESET_INFO: vfio(12),
        VFIO_DEVICE_PCI_HOT_RESET: vfio(13),
        VFIO_IOMMU_GET_INFO: vfio(12),
        VFIO_IOMMU_MAP_DMA: vfio(13),
        VFIO_IOMMU_UNMAP_DMA: vfio(14),
        VFIO_DEVICE_FEATURE: vfio(17),
        VFIO_IOMMU_DIRTY_PAGES: vfio(17),
        VFIO_DEVICE_BIND_IOMMUFD: 0x3b76,
        VFIO_DEVICE_ATTACH_IOMMUFD_PT: 0x3b77,
        VFIO_DEVICE_DETACH_IOMMUFD_PT: 0x3b78,
        IOMMU_DESTROY: 0x3b80,
        IOMMU_IOAS_ALLOC: 0x3b81,
        IOMMU_IOAS_ALLOW_IOVAS: 0x3b82,
        IOMMU_IOAS_COPY: 0x3b83,
        IOMMU_IOAS_IOVA_RANGES: 0x3b84,
        IOMMU_IOAS_MAP: 0x3b85,
        IOMMU_IOAS_UNMAP: 0x3b86,
        IOMMU_OPTION: 0x3b87,
        IOMMU_VFIO_IOAS: 0x3b88,
        IOMMU_HWPT_ALLOC: 0x3b89,
        IOMMU_GET_HW_INFO: 0x3b8a,
        IOMMU_HWPT_SET_DIRTY_TRACKING: 0x3b8b,
        IOMMU_HWPT_GET_DIRTY_BITMAP: 0x3b8c,
        IOMMU_HWPT_INVALIDATE: 0x3b8d,
        IOMMU_FAULT_QUEUE_ALLOC: 0x3b8e,
        IOMMU_IOAS_MAP_FILE: 0x3b8f,
        IOMMU_VIOMMU_ALLOC: 0x3b90,
        IOMMU_VDEVICE_ALLOC: 0x3b91,
        IOMMU_IOAS_CHANGE_PROCESS: 0x3b92,
        IOMMU_VEVENTQ_ALLOC: 0x3b93,
        IOMMU_HW_QUEUE_ALLOC: 0x3b94,
        KVM_GET_API_VERSION: 0xae00,
        KVM_CREATE_VM: 0xae01,
        KVM_CREATE_DEVICE: iowr(0xae, 0xe0, 12),
        KVM_SET_DEVICE_ATTR: iow(0xae, 0xe1, 24),
        KVM_GET_DEVICE_ATTR: iow(0xae, 0xe2, 24),
        KVM_HAS_DEVICE_ATTR: iow(0xae, 0xe3, 24),
    };

    test.each(Object.entries(expected))('%s', (name, cmd) => {
        expect(findIoctl(name)?.cmd).toBe(cmd);
    });

    test('known literal numbers', () => {
        expect(findIoctl('KVM_CREATE_DEVICE')?.cmd).toBe(0xc00caee0);
        expect(findIoctl('KVM_SET_DEVICE_ATTR')?.cmd).toBe(0x4018aee1);
    });

    test('the table is exactly the covered set, without duplicates', () => {
        const names = allIoctls().map((i) => i.name);
        expect(new Set(names).size).toBe(names.length);
        expect(new Set(names)).toEqual(new Set(Object.keys(expected)));
    });

    test('no two ioctls share a number on the same kind of file', () => {
        for (const a of allIoctls()) {
            for (const b of allIoctls()) {
                if (a !== b && a.cmd === b.cmd) {
                    expect(a.fileKinds.filter((k) => b.fileKinds.includes(k)), `${a.name} / ${b.name}`).toEqual([]);
                }
            }
        }
    });

    test('findIoctlByCmd tells reused numbers apart by file', () => {
        expect(findIoctlByCmd(0x3b70, 'vfio-device')?.name).toBe('VFIO_DEVICE_GET_PCI_HOT_RESET_INFO');
        expect(findIoctlByCmd(0x3b70, 'vfio-container')?.name).toBe('VFIO_IOMMU_GET_INFO');
        expect(findIoctlByCmd(0x3b70, 'iommufd')?.name).toBe('VFIO_IOMMU_GET_INFO');
        expect(findIoctlByCmd(0x3b75, 'iommufd')).toBeUndefined();
        expect(findIoctlByCmd(0x3b85, 'iommufd')?.name).toBe('IOMMU_IOAS_MAP');
        expect(findIoctlByCmd(0x3b85, 'vfio-container')).toBeUndefined();
    });
});

describe('files', () => {
    const names = (k: Parameters<typeof ioctlsForFile>[0]): string[] => ioctlsForFile(k).map((i) => i.name).sort();

    test('container', () => {
        expect(names('vfio-container')).toEqual(
            [
                'VFIO_CHECK_EXTENSION',
                'VFIO_GET_API_VERSION',
                'VFIO_IOMMU_DIRTY_PAGES',
                'VFIO_IOMMU_GET_INFO',
                'VFIO_IOMMU_MAP_DMA',
                'VFIO_IOMMU_UNMAP_DMA',
                'VFIO_SET_IOMMU',
            ].sort(),
        );
    });

    test('group', () => {
        expect(names('vfio-group')).toEqual(
            ['VFIO_GROUP_GET_DEVICE_FD', 'VFIO_GROUP_GET_STATUS', 'VFIO_GROUP_SET_CONTAINER', 'VFIO_GROUP_UNSET_CONTAINER'],
        );
    });

    test('device', () => {
        expect(names('vfio-device')).toEqual(
            [
                'VFIO_DEVICE_ATTACH_IOMMUFD_PT',
                'VFIO_DEVICE_BIND_IOMMUFD',
                'VFIO_DEVICE_DETACH_IOMMUFD_PT',
                'VFIO_DEVICE_FEATURE',
                'VFIO_DEVICE_GET_INFO',
                'VFIO_DEVICE_GET_IRQ_INFO',
                'VFIO_DEVICE_GET_PCI_HOT_RESET_INFO',
                'VFIO_DEVICE_GET_REGION_INFO',
                'VFIO_DEVICE_PCI_HOT_RESET',
                'VFIO_DEVICE_RESET',
            ],
        );
    });

    test('iommufd: every IOMMU_* ioctl plus the VFIO compat ones, but not DIRTY_PAGES', () => {
        const n = names('iommufd');
        expect(n.filter((x) => x.startsWith('IOMMU_'))).toHaveLength(21);
        expect(n.filter((x) => x.startsWith('VFIO_'))).toEqual(
            [
                'VFIO_CHECK_EXTENSION',
                'VFIO_GET_API_VERSION',
                'VFIO_IOMMU_GET_INFO',
                'VFIO_IOMMU_MAP_DMA',
                'VFIO_IOMMU_UNMAP_DMA',
                'VFIO_SET_IOMMU',
            ],
        );
    });

    test('kvm, vm and device', () => {
        expect(names('kvm')).toEqual(['KVM_CREATE_VM', 'KVM_GET_API_VERSION']);
        expect(names('kvm-vm')).toEqual(['KVM_CREATE_DEVICE']);
        expect(names('kvm-device')).toEqual(['KVM_GET_DEVICE_ATTR', 'KVM_HAS_DEVICE_ATTR', 'KVM_SET_DEVICE_ATTR']);
        expect(names('memfd')).toEqual([]);
    });
});

describe('what a call binds and takes', () => {
    test('main values', () => {
        const main = (n: string): [string | undefined, string | undefined] => [findIoctl(n)?.main, findIoctl(n)?.retName];
        expect(main('VFIO_GROUP_GET_DEVICE_FD')).toEqual(['ret', 'fd']);
        expect(main('KVM_CREATE_VM')).toEqual(['ret', 'fd']);
        expect(main('VFIO_CHECK_EXTENSION')).toEqual(['ret', 'value']);
        expect(main('VFIO_GET_API_VERSION')).toEqual(['ret', 'value']);
        expect(main('VFIO_DEVICE_BIND_IOMMUFD')[0]).toBe('out_devid');
        expect(main('IOMMU_IOAS_ALLOC')[0]).toBe('out_ioas_id');
        expect(main('IOMMU_HWPT_ALLOC')[0]).toBe('out_hwpt_id');
        expect(main('VFIO_DEVICE_ATTACH_IOMMUFD_PT')[0]).toBe('pt_id');
        expect(main('IOMMU_IOAS_MAP')[0]).toBe('iova');
        expect(main('IOMMU_IOAS_MAP_FILE')[0]).toBe('iova');
        expect(main('IOMMU_IOAS_COPY')[0]).toBe('dst_iova');
        expect(main('KVM_CREATE_DEVICE')[0]).toBe('fd');
        expect(main('IOMMU_FAULT_QUEUE_ALLOC')[0]).toBe('out_fault_id');
        expect(main('IOMMU_VIOMMU_ALLOC')[0]).toBe('out_viommu_id');
        expect(main('IOMMU_VDEVICE_ALLOC')[0]).toBe('out_vdevice_id');
        expect(main('IOMMU_OPTION')[0]).toBe('val64');
        expect(main('IOMMU_VFIO_IOAS')[0]).toBe('ioas_id');
        expect(main('IOMMU_IOAS_UNMAP')[0]).toBe('length');
        expect(main('VFIO_IOMMU_UNMAP_DMA')[0]).toBe('size');
        expect(findIoctl('IOMMU_DESTROY')?.positionalField).toBe('id');
    });

    test('main and positional fields exist; main fields are written by the kernel', () => {
        for (const i of allIoctls()) {
            if (i.main !== undefined && i.main !== 'ret') {
                const f = findField(i, i.main);
                expect(f, `${i.name}.${i.main}`).toBeDefined();
                expect(f?.dir, `${i.name}.${i.main}`).not.toBe('in');
            }
            if (i.positionalField !== undefined) {
                expect(findField(i, i.positionalField)?.dir, `${i.name}.${i.positionalField}`).not.toBe('out');
            }
            expect(i.source).toMatch(/^(drivers|virt)\/[\w/]+\.c:\w+$/);
            expect(i.doc.length).toBeGreaterThan(10);
        }
    });

    test('the file pseudo field of KVM_SET_DEVICE_ATTR', () => {
        const set = findIoctl('KVM_SET_DEVICE_ATTR');
        expect(set).toBeDefined();
        if (!set) {
            return;
        }
        expect(findField(set, 'file')).toMatchObject({ type: 's32', pointeeOf: 'addr', dir: 'in' });
        expect(writableFields(set).map((f) => f.name)).toEqual(['flags', 'group', 'attr', 'addr', 'file']);
    });

    test('writable fields leave out what only the kernel writes', () => {
        const map = findIoctl('IOMMU_IOAS_MAP');
        expect(map && writableFields(map).map((f) => f.name)).toEqual([
            'size', 'flags', 'ioas_id', '__reserved', 'user_va', 'length', 'iova',
        ]);
        const bind = findIoctl('VFIO_DEVICE_BIND_IOMMUFD');
        expect(bind && writableFields(bind).map((f) => f.name)).toEqual(['argsz', 'flags', 'iommufd', 'token_uuid_ptr']);
        const status = findIoctl('VFIO_GROUP_GET_STATUS');
        expect(status && writableFields(status).map((f) => f.name)).toEqual(['argsz']);
        const ext = findIoctl('VFIO_CHECK_EXTENSION');
        expect(ext && writableFields(ext)).toEqual([]);
    });

    test('GET_INFO reports the capability chain as pseudo out fields', () => {
        const info = findIoctl('VFIO_IOMMU_GET_INFO');
        expect(info).toBeDefined();
        if (!info) {
            return;
        }
        const ranges = findField(info, 'iova_ranges');
        expect(ranges?.cap?.name).toBe('VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE');
        expect(ranges?.array?.elem.fields.map((f) => [f.name, f.offset])).toEqual([['start', 0], ['end', 8]]);
        expect(findField(info, 'dma_avail')?.cap?.id).toBe(3);
        expect(findField(info, 'nr_iovas')?.offset).toBe(-1);
    });
});

describe('kernel versions', () => {
    const since = (name: string): KernelVersion | undefined => findIoctl(name)?.since;

    test('ioctls (kernel-semantics section 9)', () => {
        expect(since('VFIO_GET_API_VERSION')).toEqual(kv(3, 6));
        expect(since('VFIO_IOMMU_MAP_DMA')).toEqual(kv(3, 6));
        expect(since('VFIO_IOMMU_DIRTY_PAGES')).toEqual(kv(5, 8));
        expect(since('IOMMU_IOAS_MAP')).toEqual(kv(6, 2));
        expect(since('IOMMU_VFIO_IOAS')).toEqual(kv(6, 2));
        expect(since('VFIO_DEVICE_BIND_IOMMUFD')).toEqual(kv(6, 6));
        expect(since('IOMMU_HWPT_ALLOC')).toEqual(kv(6, 6));
        expect(since('IOMMU_GET_HW_INFO')).toEqual(kv(6, 6));
        expect(since('IOMMU_HWPT_GET_DIRTY_BITMAP')).toEqual(kv(6, 7));
        expect(since('IOMMU_HWPT_INVALIDATE')).toEqual(kv(6, 8));
        expect(since('IOMMU_FAULT_QUEUE_ALLOC')).toEqual(kv(6, 11));
        expect(since('IOMMU_VIOMMU_ALLOC')).toEqual(kv(6, 13));
        expect(since('IOMMU_IOAS_CHANGE_PROCESS')).toEqual(kv(6, 13));
        expect(since('IOMMU_VEVENTQ_ALLOC')).toEqual(kv(6, 15));
        expect(since('IOMMU_HW_QUEUE_ALLOC')).toEqual(kv(6, 17));
    });

    test('fields', () => {
        const attach = findIoctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT');
        const pasid = attach && findField(attach, 'pasid');
        expect(pasid?.since).toEqual(kv(6, 15));
        expect(pasid && availableIn(pasid, kv(6, 12))).toBe(false);
        expect(pasid && availableIn(pasid, kv(6, 15))).toBe(true);
        const hwpt = findIoctl('IOMMU_HWPT_ALLOC');
        expect(hwpt && findField(hwpt, 'fault_id')?.since).toEqual(kv(6, 11));
    });

    test('availableIn', () => {
        const map = findIoctl('IOMMU_IOAS_MAP');
        expect(map && availableIn(map, kv(6, 1))).toBe(false);
        expect(map && availableIn(map, kv(6, 2))).toBe(true);
        expect(map && availableIn(map, kv(7, 0))).toBe(true);
        expect(availableIn({}, kv(3, 0))).toBe(true);
    });
});
