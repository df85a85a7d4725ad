import { describe, expect, test } from 'vitest';
import { kv } from '../../../engine/uapi/define.js';
import {
    allConstantSets,
    allIoctls,
    availableIn,
    constantSet,
    constantsFor,
    findConstant,
    findElementField,
    findField,
    findIoctl,
    formatConstant,
    resolveConstant,
    setOfConstant,
    shortName,
} from '../../../engine/uapi/index.js';

/** Every constant written in /work/shared/design/language.md and /work/shared/examples/*.iommu. */
const USED: readonly { ioctl: string; field?: string; written: string; full: string; value: bigint }[] = [
    { ioctl: 'VFIO_GROUP_GET_STATUS', field: 'flags', written: 'VIABLE', full: 'VFIO_GROUP_FLAGS_VIABLE', value: 1n },
    { ioctl: 'VFIO_SET_IOMMU', written: 'VFIO_TYPE1v2_IOMMU', full: 'VFIO_TYPE1v2_IOMMU', value: 3n },
    { ioctl: 'VFIO_CHECK_EXTENSION', written: 'VFIO_TYPE1v2_IOMMU', full: 'VFIO_TYPE1v2_IOMMU', value: 3n },
    { ioctl: 'VFIO_CHECK_EXTENSION', written: 'VFIO_DMA_CC_IOMMU', full: 'VFIO_DMA_CC_IOMMU', value: 4n },
    { ioctl: 'VFIO_IOMMU_MAP_DMA', field: 'flags', written: 'READ', full: 'VFIO_DMA_MAP_FLAG_READ', value: 1n },
    { ioctl: 'VFIO_IOMMU_MAP_DMA', field: 'flags', written: 'WRITE', full: 'VFIO_DMA_MAP_FLAG_WRITE', value: 2n },
    { ioctl: 'IOMMU_IOAS_MAP', field: 'flags', written: 'FIXED_IOVA', full: 'IOMMU_IOAS_MAP_FIXED_IOVA', value: 1n },
    { ioctl: 'IOMMU_IOAS_MAP', field: 'flags', written: 'WRITEABLE', full: 'IOMMU_IOAS_MAP_WRITEABLE', value: 2n },
    { ioctl: 'IOMMU_IOAS_MAP', field: 'flags', written: 'READABLE', full: 'IOMMU_IOAS_MAP_READABLE', value: 4n },
    { ioctl: 'IOMMU_HWPT_ALLOC', field: 'flags', written: 'PASID', full: 'IOMMU_HWPT_ALLOC_PASID', value: 8n },
    {
        ioctl: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT',
        field: 'flags',
        written: 'PASID',
        full: 'VFIO_DEVICE_ATTACH_PASID',
        value: 1n,
    },
    { ioctl: 'KVM_CREATE_DEVICE', field: 'type', written: 'KVM_DEV_TYPE_VFIO', full: 'KVM_DEV_TYPE_VFIO', value: 4n },
    { ioctl: 'KVM_SET_DEVICE_ATTR', field: 'group', written: 'KVM_DEV_VFIO_FILE', full: 'KVM_DEV_VFIO_FILE', value: 1n },
    {
        ioctl: 'KVM_SET_DEVICE_ATTR',
        field: 'attr',
        written: 'KVM_DEV_VFIO_FILE_ADD',
        full: 'KVM_DEV_VFIO_FILE_ADD',
        value: 1n,
    },
    {
        ioctl: 'KVM_SET_DEVICE_ATTR',
        field: 'attr',
        written: 'KVM_DEV_VFIO_FILE_DEL',
        full: 'KVM_DEV_VFIO_FILE_DEL',
        value: 2n,
    },
];

describe('constants used by the language and the shared examples resolve', () => {
    test.each(USED)('$ioctl $field: $written', ({ ioctl, field, written, full, value }) => {
        const c = resolveConstant(written, field === undefined ? { ioctl } : { ioctl, field });
        expect(c?.name).toBe(full);
        expect(c?.value).toBe(value);
        // and the full name resolves in the same place
        expect(resolveConstant(full, field === undefined ? { ioctl } : { ioctl, field })?.value).toBe(value);
        // the field actually takes that set
        const io = findIoctl(ioctl);
        const setId = field === undefined ? (io?.arg.kind === 'int' ? io.arg.constants : undefined) : io && findField(io, field)?.constants;
        expect(setId).toBe(setOfConstant(full)?.id);
    });

    test('short names of the int argument of SET_IOMMU / CHECK_EXTENSION drop VFIO_', () => {
        expect(resolveConstant('TYPE1v2_IOMMU', { ioctl: 'VFIO_SET_IOMMU' })?.value).toBe(3n);
        expect(resolveConstant('TYPE1_IOMMU', { ioctl: 'VFIO_CHECK_EXTENSION' })?.value).toBe(1n);
        expect(resolveConstant('NOIOMMU_IOMMU', { ioctl: 'VFIO_SET_IOMMU' })?.value).toBe(8n);
        expect(resolveConstant('UNMAP_ALL', { ioctl: 'VFIO_CHECK_EXTENSION' })?.value).toBe(9n);
        expect(resolveConstant('UPDATE_VADDR', { ioctl: 'VFIO_CHECK_EXTENSION' })?.value).toBe(10n);
    });

    test('short names are only valid in their own field', () => {
        expect(resolveConstant('READ', { ioctl: 'IOMMU_IOAS_MAP', field: 'flags' })).toBeUndefined();
        expect(resolveConstant('READABLE', { ioctl: 'VFIO_IOMMU_MAP_DMA', field: 'flags' })).toBeUndefined();
        expect(resolveConstant('VIABLE', { ioctl: 'VFIO_GROUP_GET_STATUS', field: 'argsz' })).toBeUndefined();
        expect(resolveConstant('PASID', { ioctl: 'VFIO_DEVICE_DETACH_IOMMUFD_PT', field: 'flags' })?.name).toBe(
            'VFIO_DEVICE_DETACH_PASID',
        );
        expect(resolveConstant('NOPE', { ioctl: 'NO_SUCH_IOCTL' })).toBeUndefined();
    });

    test('full names resolve anywhere', () => {
        expect(resolveConstant('IOMMU_IOAS_MAP_READABLE', { ioctl: 'VFIO_IOMMU_MAP_DMA', field: 'flags' })?.value).toBe(4n);
        expect(findConstant('IOMMU_HWPT_ALLOC_NEST_PARENT')?.value).toBe(1n);
        expect(findConstant('READ')).toBeUndefined();
    });

    test('element fields of arrays, written as array.field', () => {
        const inv = findIoctl('IOMMU_HWPT_INVALIDATE');
        expect(inv && findElementField(inv, 'data_uptr', 'npages')?.offset).toBe(8);
        expect(inv && findElementField(inv, 'data_uptr', 'cmd')?.count).toBe(2);
        expect(resolveConstant('LEAF', { ioctl: 'IOMMU_HWPT_INVALIDATE', field: 'data_uptr.flags' })?.name).toBe(
            'IOMMU_VTD_INV_FLAGS_LEAF',
        );
        const ranges = findIoctl('IOMMU_IOAS_ALLOW_IOVAS');
        expect(ranges && findElementField(ranges, 'allowed_iovas', 'last')?.offset).toBe(8);
        expect(ranges && findElementField(ranges, 'ioas_id', 'last')).toBeUndefined();
    });

    test('aliases and names with an irregular prefix', () => {
        expect(resolveConstant('FAULT_ID_VALID', { ioctl: 'IOMMU_HWPT_ALLOC', field: 'flags' })?.name).toBe(
            'IOMMU_HWPT_FAULT_ID_VALID',
        );
        expect(resolveConstant('ARM_SMMUV3', { ioctl: 'IOMMU_HWPT_INVALIDATE', field: 'data_type' })?.name).toBe(
            'IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3',
        );
        expect(resolveConstant('KVM_DEV_VFIO_GROUP', { ioctl: 'KVM_SET_DEVICE_ATTR', field: 'group' })?.value).toBe(1n);
        expect(resolveConstant('GROUP_ADD', { ioctl: 'KVM_SET_DEVICE_ATTR', field: 'attr' })?.aliasOf).toBe(
            'KVM_DEV_VFIO_FILE_ADD',
        );
        expect(resolveConstant('ADD', { ioctl: 'KVM_SET_DEVICE_ATTR', field: 'attr' })?.name).toBe('KVM_DEV_VFIO_FILE_ADD');
        expect(resolveConstant('FILE', { ioctl: 'KVM_SET_DEVICE_ATTR', field: 'group' })?.name).toBe('KVM_DEV_VFIO_FILE');
        expect(resolveConstant('VFIO', { ioctl: 'KVM_CREATE_DEVICE', field: 'type' })?.name).toBe('KVM_DEV_TYPE_VFIO');
        expect(resolveConstant('TEST', { ioctl: 'KVM_CREATE_DEVICE', field: 'flags' })?.value).toBe(1n);
        const nesting = resolveConstant('VFIO_TYPE1_NESTING_IOMMU', { ioctl: 'VFIO_SET_IOMMU' });
        expect(nesting?.aliasOf).toBe('__VFIO_RESERVED_TYPE1_NESTING_IOMMU');
        expect(nesting && availableIn(nesting, kv(6, 12))).toBe(true);
        expect(nesting && availableIn(nesting, kv(6, 13))).toBe(false);
        expect(findConstant('__VFIO_RESERVED_TYPE1_NESTING_IOMMU')?.value).toBe(6n);
    });

    test('names and short names are unique', () => {
        const names = allConstantSets().flatMap((s) => s.constants.map((c) => c.name));
        expect(new Set(names).size).toBe(names.length);
        for (const set of allConstantSets()) {
            const shorts = set.constants.map((c) => shortName(c, set)).filter((s) => s !== undefined);
            expect(new Set(shorts).size, set.id).toBe(shorts.length);
            for (const c of set.constants) {
                if (c.aliasOf) {
                    expect(findConstant(c.aliasOf)?.value, c.name).toBe(c.value);
                }
            }
        }
    });

    test('every constants reference names an existing set', () => {
        for (const io of allIoctls()) {
            if (io.arg.kind === 'int' && io.arg.constants) {
                expect(constantSet(io.arg.constants)).toBeDefined();
            }
            if (io.arg.kind === 'struct') {
                for (const f of io.arg.struct.fields) {
                    if (f.constants) {
                        expect(constantSet(f.constants), `${io.name}.${f.name}`).toBeDefined();
                    }
                }
            }
        }
    });
});

describe('constantsFor', () => {
    const names = (ioctl: string, field?: string): string[] => constantsFor(ioctl, field).map((c) => c.name);

    test('flags of a field', () => {
        expect(names('IOMMU_IOAS_MAP', 'flags')).toEqual([
            'IOMMU_IOAS_MAP_FIXED_IOVA',
            'IOMMU_IOAS_MAP_WRITEABLE',
            'IOMMU_IOAS_MAP_READABLE',
        ]);
        expect(names('VFIO_IOMMU_MAP_DMA', 'flags')).toEqual([
            'VFIO_DMA_MAP_FLAG_READ',
            'VFIO_DMA_MAP_FLAG_WRITE',
            'VFIO_DMA_MAP_FLAG_VADDR',
        ]);
        expect(names('IOMMU_HWPT_ALLOC', 'flags')).toEqual([
            'IOMMU_HWPT_ALLOC_NEST_PARENT',
            'IOMMU_HWPT_ALLOC_DIRTY_TRACKING',
            'IOMMU_HWPT_FAULT_ID_VALID',
            'IOMMU_HWPT_ALLOC_PASID',
        ]);
    });

    test('the int argument', () => {
        expect(names('VFIO_SET_IOMMU')).toContain('VFIO_TYPE1v2_IOMMU');
        expect(names('VFIO_SET_IOMMU')).toHaveLength(11);
        expect(names('VFIO_GET_API_VERSION')).toEqual([]);
    });

    test('enum fields', () => {
        expect(names('IOMMU_OPTION', 'option_id')).toEqual(['IOMMU_OPTION_RLIMIT_MODE', 'IOMMU_OPTION_HUGE_PAGES']);
        expect(names('IOMMU_OPTION', 'op')).toEqual(['IOMMU_OPTION_OP_SET', 'IOMMU_OPTION_OP_GET']);
        expect(names('IOMMU_VFIO_IOAS', 'op')).toEqual(['IOMMU_VFIO_IOAS_GET', 'IOMMU_VFIO_IOAS_SET', 'IOMMU_VFIO_IOAS_CLEAR']);
        expect(names('IOMMU_HWPT_ALLOC', 'data_type')).toEqual([
            'IOMMU_HWPT_DATA_NONE',
            'IOMMU_HWPT_DATA_VTD_S1',
            'IOMMU_HWPT_DATA_ARM_SMMUV3',
            'IOMMU_HWPT_DATA_AMD_GUEST',
        ]);
        expect(names('KVM_SET_DEVICE_ATTR', 'attr')).toContain('KVM_DEV_VFIO_GROUP_ADD');
    });

    test('fields without constants', () => {
        expect(names('IOMMU_IOAS_MAP', 'iova')).toEqual([]);
        expect(names('IOMMU_IOAS_MAP', 'nope')).toEqual([]);
        expect(names('NOPE', 'flags')).toEqual([]);
    });
});

describe('formatConstant', () => {
    test('flags', () => {
        expect(formatConstant('vfio_group_status.flags', 3n)).toBe('VIABLE | CONTAINER_SET');
        expect(formatConstant('vfio_group_status.flags', 1n)).toBe('VIABLE');
        expect(formatConstant('vfio_group_status.flags', 0n)).toBe('0');
        expect(formatConstant('vfio_group_status.flags', 0x11n)).toBe('VIABLE | 0x10');
        expect(formatConstant('iommufd_ioas_map_flags', 7n)).toBe('FIXED_IOVA | WRITEABLE | READABLE');
        expect(formatConstant('iommufd_ioas_map_flags', 6n, 'full')).toBe('IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE');
        expect(formatConstant('iommufd_hwpt_alloc_flags', 0xcn)).toBe('FAULT_ID_VALID | PASID');
        expect(formatConstant('iommufd_hw_capabilities', 0x7n)).toBe('DIRTY_TRACKING | PCI_PASID_EXEC | PCI_PASID_PRIV');
    });

    test('flags with a sub-field', () => {
        expect(formatConstant('vfio_device_feature.flags', 0x10001n)).toBe('GET | MIGRATION');
        expect(formatConstant('vfio_device_feature.flags', 0x60002n)).toBe('SET | PROBE | MIG_DEVICE_STATE');
        expect(formatConstant('vfio_device_feature.flags', 0x20000n)).toBe('SET | PCI_VF_TOKEN');
        expect(formatConstant('vfio_device_feature.flags', 0x1007fn)).toBe('GET | 0x7f');
    });

    test('enums', () => {
        expect(formatConstant('vfio_extension', 3n)).toBe('TYPE1v2_IOMMU');
        expect(formatConstant('vfio_extension', 3n, 'full')).toBe('VFIO_TYPE1v2_IOMMU');
        expect(formatConstant('vfio_extension', 6n)).toBe('__VFIO_RESERVED_TYPE1_NESTING_IOMMU');
        expect(formatConstant('vfio_extension', 42n)).toBe('0x2a');
        expect(formatConstant('iommu_hw_info_type', 0n)).toBe('NONE');
        expect(formatConstant('kvm_device_attr.group', 1n, 'full')).toBe('KVM_DEV_VFIO_FILE');
        expect(formatConstant('kvm_device_attr.attr', 2n)).toBe('DEL');
        expect(formatConstant('iommu_hwpt_invalidate_data_type', 1n)).toBe('ARM_SMMUV3');
        expect(formatConstant('no-such-set', 5n)).toBe('0x5');
    });
});

describe('versions of constants (kernel-semantics section 9)', () => {
    const since = (name: string): unknown => findConstant(name)?.since;

    test('samples', () => {
        expect(since('VFIO_TYPE1_IOMMU')).toEqual(kv(3, 6));
        expect(since('VFIO_TYPE1v2_IOMMU')).toEqual(kv(3, 14));
        expect(since('VFIO_DMA_CC_IOMMU')).toEqual(kv(3, 14));
        expect(since('VFIO_NOIOMMU_IOMMU')).toEqual(kv(4, 5));
        expect(since('VFIO_UNMAP_ALL')).toEqual(kv(5, 12));
        expect(since('VFIO_UPDATE_VADDR')).toEqual(kv(5, 12));
        expect(since('VFIO_DMA_MAP_FLAG_VADDR')).toEqual(kv(5, 12));
        expect(since('VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE')).toEqual(kv(5, 4));
        expect(since('VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL')).toEqual(kv(5, 10));
        expect(since('KVM_DEV_TYPE_VFIO')).toEqual(kv(3, 13));
        expect(since('KVM_DEV_VFIO_GROUP_ADD')).toEqual(kv(3, 13));
        expect(since('KVM_DEV_VFIO_FILE_ADD')).toEqual(kv(6, 6));
        expect(since('IOMMU_IOAS_MAP_FIXED_IOVA')).toEqual(kv(6, 2));
        expect(since('IOMMU_OPTION_HUGE_PAGES')).toEqual(kv(6, 2));
        expect(since('IOMMU_HWPT_ALLOC_NEST_PARENT')).toEqual(kv(6, 7));
        expect(since('IOMMU_HWPT_ALLOC_DIRTY_TRACKING')).toEqual(kv(6, 7));
        expect(since('IOMMU_HWPT_DATA_VTD_S1')).toEqual(kv(6, 7));
        expect(since('IOMMU_HW_CAP_DIRTY_TRACKING')).toEqual(kv(6, 7));
        expect(since('IOMMU_HWPT_FAULT_ID_VALID')).toEqual(kv(6, 11));
        expect(since('IOMMU_HWPT_DATA_ARM_SMMUV3')).toEqual(kv(6, 13));
        expect(since('IOMMU_HW_INFO_TYPE_ARM_SMMUV3')).toEqual(kv(6, 13));
        expect(since('IOMMU_VIOMMU_TYPE_ARM_SMMUV3')).toEqual(kv(6, 13));
        expect(since('IOMMU_HWPT_ALLOC_PASID')).toEqual(kv(6, 15));
        expect(since('VFIO_DEVICE_ATTACH_PASID')).toEqual(kv(6, 15));
        expect(since('IOMMU_HW_CAP_PCI_PASID_EXEC')).toEqual(kv(6, 15));
        expect(since('IOMMU_HW_INFO_FLAG_INPUT_TYPE')).toEqual(kv(6, 17));
        expect(since('IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV')).toEqual(kv(6, 17));
        expect(since('VFIO_DEVICE_BIND_FLAG_TOKEN')).toEqual(kv(6, 17));
        expect(since('IOMMU_HWPT_DATA_AMD_GUEST')).toEqual(kv(7, 0));
        expect(since('IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED')).toEqual(kv(7, 0));
    });
});
