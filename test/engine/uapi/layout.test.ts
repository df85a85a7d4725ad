import { describe, expect, test } from 'vitest';
import { allIoctls, allStructs, findIoctl, isPseudoField, structSizeIn } from '../../../engine/uapi/index.js';
import { kv } from '../../../engine/uapi/define.js';
import { scalarSize } from '../../../engine/uapi/ioc.js';
import type { StructDef } from '../../../engine/uapi/types.js';

/**
 * The C declarations of the uAPI structs, retyped from the headers, laid out here by the LP64
 * rules (each member at the next multiple of its alignment; `__aligned_u64` and `__u64` 8-aligned
 * on 64-bit; sizeof rounded up to the largest alignment; flexible array members not counted).
 * `a|b` is an anonymous union of two members of the same type.
 */
type CType = 'u8' | 'u16' | 'u32' | 's32' | 'u64' | 'aligned_u64' | 'ptr';
type Decl = readonly [name: string, type: CType, count?: number];

const C_SIZE: Record<CType, number> = { u8: 1, u16: 2, u32: 4, s32: 4, u64: 8, aligned_u64: 8, ptr: 8 };

const C_STRUCTS: Record<string, readonly Decl[]> = {
    // vfio.h
    vfio_group_status: [['argsz', 'u32'], ['flags', 'u32']],
    vfio_iova_range: [['start', 'u64'], ['end', 'u64']],
    vfio_iommu_type1_info: [
        ['argsz', 'u32'], ['flags', 'u32'], ['iova_pgsizes', 'aligned_u64'], ['cap_offset', 'u32'], ['pad', 'u32'],
    ],
    vfio_iommu_type1_dma_map: [['argsz', 'u32'], ['flags', 'u32'], ['vaddr', 'u64'], ['iova', 'u64'], ['size', 'u64']],
    vfio_iommu_type1_dma_unmap: [['argsz', 'u32'], ['flags', 'u32'], ['iova', 'u64'], ['size', 'u64']],
    vfio_iommu_type1_dirty_bitmap: [['argsz', 'u32'], ['flags', 'u32']],
    vfio_device_info: [
        ['argsz', 'u32'], ['flags', 'u32'], ['num_regions', 'u32'], ['num_irqs', 'u32'], ['cap_offset', 'u32'], ['pad', 'u32'],
    ],
    vfio_region_info: [
        ['argsz', 'u32'], ['flags', 'u32'], ['index', 'u32'], ['cap_offset', 'u32'], ['size', 'aligned_u64'],
        ['offset', 'aligned_u64'],
    ],
    vfio_irq_info: [['argsz', 'u32'], ['flags', 'u32'], ['index', 'u32'], ['count', 'u32']],
    vfio_pci_dependent_device: [['group_id|devid', 'u32'], ['segment', 'u16'], ['bus', 'u8'], ['devfn', 'u8']],
    vfio_pci_hot_reset_info: [['argsz', 'u32'], ['flags', 'u32'], ['count', 'u32']],
    vfio_pci_hot_reset: [['argsz', 'u32'], ['flags', 'u32'], ['count', 'u32']],
    vfio_device_feature: [['argsz', 'u32'], ['flags', 'u32']],
    vfio_device_bind_iommufd: [
        ['argsz', 'u32'], ['flags', 'u32'], ['iommufd', 's32'], ['out_devid', 'u32'], ['token_uuid_ptr', 'aligned_u64'],
    ],
    vfio_device_attach_iommufd_pt: [['argsz', 'u32'], ['flags', 'u32'], ['pt_id', 'u32'], ['pasid', 'u32']],
    vfio_device_detach_iommufd_pt: [['argsz', 'u32'], ['flags', 'u32'], ['pasid', 'u32']],
    // iommufd.h
    iommu_destroy: [['size', 'u32'], ['id', 'u32']],
    iommu_ioas_alloc: [['size', 'u32'], ['flags', 'u32'], ['out_ioas_id', 'u32']],
    iommu_iova_range: [['start', 'aligned_u64'], ['last', 'aligned_u64']],
    iommu_ioas_iova_ranges: [
        ['size', 'u32'], ['ioas_id', 'u32'], ['num_iovas', 'u32'], ['__reserved', 'u32'], ['allowed_iovas', 'aligned_u64'],
        ['out_iova_alignment', 'aligned_u64'],
    ],
    iommu_ioas_allow_iovas: [
        ['size', 'u32'], ['ioas_id', 'u32'], ['num_iovas', 'u32'], ['__reserved', 'u32'], ['allowed_iovas', 'aligned_u64'],
    ],
    iommu_ioas_map: [
        ['size', 'u32'], ['flags', 'u32'], ['ioas_id', 'u32'], ['__reserved', 'u32'], ['user_va', 'aligned_u64'],
        ['length', 'aligned_u64'], ['iova', 'aligned_u64'],
    ],
    iommu_ioas_map_file: [
        ['size', 'u32'], ['flags', 'u32'], ['ioas_id', 'u32'], ['fd', 's32'], ['start', 'aligned_u64'],
        ['length', 'aligned_u64'], ['iova', 'aligned_u64'],
    ],
    iommu_ioas_copy: [
        ['size', 'u32'], ['flags', 'u32'], ['dst_ioas_id', 'u32'], ['src_ioas_id', 'u32'], ['length', 'aligned_u64'],
        ['dst_iova', 'aligned_u64'], ['src_iova', 'aligned_u64'],
    ],
    iommu_ioas_unmap: [['size', 'u32'], ['ioas_id', 'u32'], ['iova', 'aligned_u64'], ['length', 'aligned_u64']],
    iommu_option: [
        ['size', 'u32'], ['option_id', 'u32'], ['op', 'u16'], ['__reserved', 'u16'], ['object_id', 'u32'],
        ['val64', 'aligned_u64'],
    ],
    iommu_vfio_ioas: [['size', 'u32'], ['ioas_id', 'u32'], ['op', 'u16'], ['__reserved', 'u16']],
    iommu_hwpt_vtd_s1: [['flags', 'aligned_u64'], ['pgtbl_addr', 'aligned_u64'], ['addr_width', 'u32'], ['__reserved', 'u32']],
    iommu_hwpt_arm_smmuv3: [['ste', 'aligned_u64', 2]],
    iommu_hwpt_amd_guest: [['dte', 'aligned_u64', 4]],
    iommu_hwpt_alloc: [
        ['size', 'u32'], ['flags', 'u32'], ['dev_id', 'u32'], ['pt_id', 'u32'], ['out_hwpt_id', 'u32'], ['__reserved', 'u32'],
        ['data_type', 'u32'], ['data_len', 'u32'], ['data_uptr', 'aligned_u64'], ['fault_id', 'u32'], ['__reserved2', 'u32'],
    ],
    iommu_hw_info_vtd: [['flags', 'u32'], ['__reserved', 'u32'], ['cap_reg', 'aligned_u64'], ['ecap_reg', 'aligned_u64']],
    iommu_hw_info_arm_smmuv3: [['flags', 'u32'], ['__reserved', 'u32'], ['idr', 'u32', 6], ['iidr', 'u32'], ['aidr', 'u32']],
    iommu_hw_info_tegra241_cmdqv: [
        ['flags', 'u32'], ['version', 'u8'], ['log2vcmdqs', 'u8'], ['log2vsids', 'u8'], ['__reserved', 'u8'],
    ],
    iommu_hw_info: [
        ['size', 'u32'], ['flags', 'u32'], ['dev_id', 'u32'], ['data_len', 'u32'], ['data_uptr', 'aligned_u64'],
        ['in_data_type|out_data_type', 'u32'], ['out_max_pasid_log2', 'u8'], ['__reserved', 'u8', 3],
        ['out_capabilities', 'aligned_u64'],
    ],
    iommu_hwpt_set_dirty_tracking: [['size', 'u32'], ['flags', 'u32'], ['hwpt_id', 'u32'], ['__reserved', 'u32']],
    iommu_hwpt_get_dirty_bitmap: [
        ['size', 'u32'], ['hwpt_id', 'u32'], ['flags', 'u32'], ['__reserved', 'u32'], ['iova', 'aligned_u64'],
        ['length', 'aligned_u64'], ['page_size', 'aligned_u64'], ['data', 'aligned_u64'],
    ],
    iommu_hwpt_vtd_s1_invalidate: [['addr', 'aligned_u64'], ['npages', 'aligned_u64'], ['flags', 'u32'], ['__reserved', 'u32']],
    iommu_viommu_arm_smmuv3_invalidate: [['cmd', 'aligned_u64', 2]],
    iommu_hwpt_invalidate: [
        ['size', 'u32'], ['hwpt_id', 'u32'], ['data_uptr', 'aligned_u64'], ['data_type', 'u32'], ['entry_len', 'u32'],
        ['entry_num', 'u32'], ['__reserved', 'u32'],
    ],
    iommu_hwpt_pgfault: [
        ['flags', 'u32'], ['dev_id', 'u32'], ['pasid', 'u32'], ['grpid', 'u32'], ['perm', 'u32'], ['__reserved', 'u32'],
        ['addr', 'aligned_u64'], ['length', 'u32'], ['cookie', 'u32'],
    ],
    iommu_hwpt_page_response: [['cookie', 'u32'], ['code', 'u32']],
    iommu_fault_alloc: [['size', 'u32'], ['flags', 'u32'], ['out_fault_id', 'u32'], ['out_fault_fd', 'u32']],
    iommu_viommu_tegra241_cmdqv: [['out_vintf_mmap_offset', 'aligned_u64'], ['out_vintf_mmap_length', 'aligned_u64']],
    iommu_viommu_alloc: [
        ['size', 'u32'], ['flags', 'u32'], ['type', 'u32'], ['dev_id', 'u32'], ['hwpt_id', 'u32'], ['out_viommu_id', 'u32'],
        ['data_len', 'u32'], ['__reserved', 'u32'], ['data_uptr', 'aligned_u64'],
    ],
    iommu_vdevice_alloc: [
        ['size', 'u32'], ['viommu_id', 'u32'], ['dev_id', 'u32'], ['out_vdevice_id', 'u32'], ['virt_id', 'aligned_u64'],
    ],
    iommu_ioas_change_process: [['size', 'u32'], ['__reserved', 'u32']],
    iommufd_vevent_header: [['flags', 'u32'], ['sequence', 'u32']],
    iommu_veventq_alloc: [
        ['size', 'u32'], ['flags', 'u32'], ['viommu_id', 'u32'], ['type', 'u32'], ['veventq_depth', 'u32'],
        ['out_veventq_id', 'u32'], ['out_veventq_fd', 'u32'], ['__reserved', 'u32'],
    ],
    iommu_hw_queue_alloc: [
        ['size', 'u32'], ['flags', 'u32'], ['viommu_id', 'u32'], ['type', 'u32'], ['index', 'u32'], ['out_hw_queue_id', 'u32'],
        ['nesting_parent_iova', 'aligned_u64'], ['length', 'aligned_u64'],
    ],
    // kvm.h
    kvm_create_device: [['type', 'u32'], ['fd', 'u32'], ['flags', 'u32']],
    kvm_device_attr: [['flags', 'u32'], ['group', 'u32'], ['attr', 'u64'], ['addr', 'u64']],
};

interface CLayout {
    readonly size: number;
    readonly fields: ReadonlyMap<string, { offset: number; size: number }>;
}

function layout(decls: readonly Decl[], start = 0): CLayout {
    let offset = start;
    let align = 1;
    const fields = new Map<string, { offset: number; size: number }>();
    for (const [names, type, count = 1] of decls) {
        const a = C_SIZE[type];
        offset = Math.ceil(offset / a) * a;
        align = Math.max(align, a);
        for (const name of names.split('|')) {
            fields.set(name, { offset, size: a * count });
        }
        offset += a * count;
    }
    return { size: Math.ceil(offset / align) * align, fields };
}

function structByName(name: string): StructDef {
    const s = allStructs().find((x) => x.name === name);
    if (!s) {
        throw new Error(`no struct ${name}`);
    }
    return s;
}

describe('struct layouts match the C layout of the headers', () => {
    test.each(Object.keys(C_STRUCTS))('%s', (name) => {
        const c = layout(C_STRUCTS[name] ?? []);
        const s = structByName(name);
        expect(s.size).toBe(c.size);
        const fixed = s.fields.filter((f) => !isPseudoField(f) && !f.flexible && !f.array?.flexible);
        expect(new Set(fixed.map((f) => f.name))).toEqual(new Set(c.fields.keys()));
        for (const f of fixed) {
            expect({ field: f.name, offset: f.offset, size: f.size }).toEqual({ field: f.name, ...c.fields.get(f.name) });
        }
    });

    test('every argument struct of an ioctl is checked against C', () => {
        for (const io of allIoctls()) {
            if (io.arg.kind === 'struct') {
                expect(Object.keys(C_STRUCTS)).toContain(io.arg.struct.name);
            }
        }
    });

    test('the vfio_bitmap in the data[] of VFIO_IOMMU_UNMAP_DMA starts at sizeof(struct)', () => {
        const bitmap = layout([['bitmap.pgsize', 'u64'], ['bitmap.size', 'u64'], ['bitmap.data', 'ptr']], 24);
        const unmap = structByName('vfio_iommu_type1_dma_unmap');
        for (const f of unmap.fields.filter((x) => x.flexible)) {
            expect(f.offset).toBe(bitmap.fields.get(f.name)?.offset);
        }
        expect(unmap.fields.filter((x) => x.flexible)).toHaveLength(3);
    });

    test('the vfio_iommu_type1_dirty_bitmap_get in data[] of VFIO_IOMMU_DIRTY_PAGES starts at 8', () => {
        const get = layout(
            [['iova', 'u64'], ['size', 'u64'], ['bitmap.pgsize', 'u64'], ['bitmap.size', 'u64'], ['bitmap.data', 'ptr']],
            8,
        );
        const dirty = structByName('vfio_iommu_type1_dirty_bitmap');
        const tail = dirty.fields.filter((x) => x.flexible);
        expect(tail).toHaveLength(5);
        for (const f of tail) {
            expect(f.offset).toBe(get.fields.get(f.name)?.offset);
        }
    });

    test('hand-checked sizes', () => {
        expect(structByName('iommu_ioas_map').size).toBe(40);
        expect(structByName('vfio_iommu_type1_dma_map').size).toBe(32);
        expect(structByName('vfio_device_attach_iommufd_pt').size).toBe(16);
        expect(structByName('vfio_device_bind_iommufd').size).toBe(24);
        expect(structByName('iommu_hwpt_alloc').size).toBe(48);
        expect(structByName('iommu_hw_info').size).toBe(40);
        expect(structByName('iommu_hwpt_pgfault').size).toBe(40);
        expect(structByName('vfio_pci_hot_reset_info').size).toBe(12);
        expect(structByName('kvm_device_attr').size).toBe(24);
        expect(structByName('kvm_create_device').size).toBe(12);
    });

    test('iommu_hwpt_alloc grows by an optional tail', () => {
        const s = structByName('iommu_hwpt_alloc');
        const offsets = Object.fromEntries(s.fields.map((f) => [f.name, f.offset]));
        expect(offsets).toEqual({
            size: 0, flags: 4, dev_id: 8, pt_id: 12, out_hwpt_id: 16, __reserved: 20,
            data_type: 24, data_len: 28, data_uptr: 32, fault_id: 40, __reserved2: 44,
        });
        expect(s.minSize).toBe(24);
        expect(structSizeIn(s, kv(6, 6))).toBe(24);
        expect(structSizeIn(s, kv(6, 7))).toBe(40);
        expect(structSizeIn(s, kv(6, 11))).toBe(48);
        expect(structSizeIn(structByName('iommu_hw_info'), kv(6, 6))).toBe(32);
        expect(structSizeIn(structByName('iommu_hw_info'), kv(6, 7))).toBe(40);
        expect(structSizeIn(structByName('vfio_device_attach_iommufd_pt'), kv(6, 6))).toBe(12);
        expect(structSizeIn(structByName('vfio_device_bind_iommufd'), kv(6, 16))).toBe(16);
        expect(structSizeIn(structByName('iommu_viommu_alloc'), kv(6, 13))).toBe(24);
    });

    test('fields are naturally aligned, inside the struct, and overlap only as unions', () => {
        for (const s of allStructs()) {
            const fixed = s.fields.filter((f) => !isPseudoField(f) && !f.flexible && !f.array?.flexible);
            for (const f of fixed) {
                expect(f.offset % scalarSize(f.type), `${s.name}.${f.name}`).toBe(0);
                expect(f.offset + f.size, `${s.name}.${f.name}`).toBeLessThanOrEqual(s.size);
            }
            for (const a of fixed) {
                for (const b of fixed) {
                    if (a !== b && a.offset < b.offset + b.size && b.offset < a.offset + a.size) {
                        expect([a.offset, a.size], `${s.name}: ${a.name} / ${b.name}`).toEqual([b.offset, b.size]);
                    }
                }
            }
            expect(s.minSize).toBeLessThanOrEqual(s.size);
            const ends = new Set(fixed.map((f) => f.offset + f.size));
            expect(ends.has(s.minSize), `${s.name} minSize ${s.minSize} is the end of a field`).toBe(true);
            if (s.sizeField) {
                expect(s.fields[0]?.name).toBe(s.sizeField);
            }
        }
    });

    test('array fields name an existing count field', () => {
        for (const s of allStructs()) {
            for (const f of s.fields) {
                if (f.array) {
                    expect(s.fields.map((x) => x.name), `${s.name}.${f.name}`).toContain(f.array.countField);
                }
                if (f.pointee) {
                    expect(s.fields.map((x) => x.name)).toContain(f.pointee.typeField);
                    expect(s.fields.map((x) => x.name)).toContain(f.pointee.lengthField);
                }
            }
        }
    });
});

describe('minimum sizes as the kernel checks them', () => {
    // kernel-semantics 5.2 (iommufd_ioctl_ops) and the VFIO handlers' offsetofend.
    const expected: Record<string, number> = {
        IOMMU_DESTROY: 8,
        IOMMU_IOAS_ALLOC: 12,
        IOMMU_IOAS_ALLOW_IOVAS: 24,
        IOMMU_IOAS_COPY: 40,
        IOMMU_IOAS_IOVA_RANGES: 32,
        IOMMU_IOAS_MAP: 40,
        IOMMU_IOAS_UNMAP: 24,
        IOMMU_OPTION: 24,
        IOMMU_VFIO_IOAS: 12,
        IOMMU_HWPT_ALLOC: 24,
        IOMMU_GET_HW_INFO: 32,
        IOMMU_HWPT_SET_DIRTY_TRACKING: 16,
        IOMMU_HWPT_GET_DIRTY_BITMAP: 48,
        IOMMU_HWPT_INVALIDATE: 32,
        IOMMU_FAULT_QUEUE_ALLOC: 16,
        IOMMU_IOAS_MAP_FILE: 40,
        IOMMU_VIOMMU_ALLOC: 24,
        IOMMU_VDEVICE_ALLOC: 24,
        IOMMU_IOAS_CHANGE_PROCESS: 8,
        IOMMU_VEVENTQ_ALLOC: 28,
        IOMMU_HW_QUEUE_ALLOC: 40,
        VFIO_GROUP_GET_STATUS: 8,
        VFIO_IOMMU_GET_INFO: 16,
        VFIO_IOMMU_MAP_DMA: 32,
        VFIO_IOMMU_UNMAP_DMA: 24,
        VFIO_IOMMU_DIRTY_PAGES: 8,
        VFIO_DEVICE_GET_INFO: 16,
        VFIO_DEVICE_GET_REGION_INFO: 32,
        VFIO_DEVICE_GET_IRQ_INFO: 16,
        VFIO_DEVICE_GET_PCI_HOT_RESET_INFO: 12,
        VFIO_DEVICE_PCI_HOT_RESET: 12,
        VFIO_DEVICE_FEATURE: 8,
        VFIO_DEVICE_BIND_IOMMUFD: 16,
        VFIO_DEVICE_ATTACH_IOMMUFD_PT: 12,
        VFIO_DEVICE_DETACH_IOMMUFD_PT: 8,
        KVM_CREATE_DEVICE: 12,
        KVM_SET_DEVICE_ATTR: 24,
    };

    test.each(Object.entries(expected))('%s: %i', (name, min) => {
        const io = findIoctl(name);
        expect(io?.arg.kind).toBe('struct');
        if (io?.arg.kind === 'struct') {
            expect(io.arg.struct.minSize).toBe(min);
        }
    });

    test('every struct ioctl is listed', () => {
        const structIoctls = allIoctls().filter((i) => i.arg.kind === 'struct').map((i) => i.name);
        for (const n of structIoctls) {
            if (n !== 'KVM_GET_DEVICE_ATTR' && n !== 'KVM_HAS_DEVICE_ATTR') {
                expect(Object.keys(expected)).toContain(n);
            }
        }
    });

    test('PASID attach and detach need the pasid field: 16 and 12 bytes', () => {
        const attach = findIoctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT');
        const detach = findIoctl('VFIO_DEVICE_DETACH_IOMMUFD_PT');
        const end = (io: typeof attach, field: string): number | undefined => {
            const f = io?.arg.kind === 'struct' ? io.arg.struct.fields.find((x) => x.name === field) : undefined;
            return f && f.offset + f.size;
        };
        expect(end(attach, 'pasid')).toBe(16);
        expect(end(detach, 'pasid')).toBe(12);
    });
});
