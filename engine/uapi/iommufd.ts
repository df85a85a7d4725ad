/**
 * The iommufd uAPI (`include/uapi/linux/iommufd.h`), every ioctl of `/dev/iommu` with its struct
 * and constants. Every command is `_IO(';', 0x80 + n)` and every struct starts with `__u32 size`.
 *
 * `minSize` is the `IOCTL_OP(..., last)` of `drivers/iommu/iommufd/main.c:iommufd_ioctl_ops`:
 * `size < offsetofend(struct, last)` → EINVAL; bigger than the kernel's struct with non-zero tail
 * bytes → E2BIG; shorter but valid sizes are zero-extended (`copy_struct_from_user`).
 */

import { cst, defineConstants, defineStruct, fld, kv, pseudo } from './define.js';
import { io } from './ioc.js';
import type { ConstantSet, IoctlDef, StructDef } from './types.js';

/** `IOMMUFD_TYPE`. */
export const IOMMUFD_TYPE = ';';
/** `IOMMUFD_CMD_BASE`: nr of IOMMU_DESTROY; lower nrs go to the VFIO compat handler. */
export const IOMMUFD_CMD_BASE = 0x80;

/** `enum` of iommufd command numbers (`IOMMUFD_CMD_*`). */
export const IOMMUFD_CMD = {
    DESTROY: 0x80,
    IOAS_ALLOC: 0x81,
    IOAS_ALLOW_IOVAS: 0x82,
    IOAS_COPY: 0x83,
    IOAS_IOVA_RANGES: 0x84,
    IOAS_MAP: 0x85,
    IOAS_UNMAP: 0x86,
    OPTION: 0x87,
    VFIO_IOAS: 0x88,
    HWPT_ALLOC: 0x89,
    GET_HW_INFO: 0x8a,
    HWPT_SET_DIRTY_TRACKING: 0x8b,
    HWPT_GET_DIRTY_BITMAP: 0x8c,
    HWPT_INVALIDATE: 0x8d,
    FAULT_QUEUE_ALLOC: 0x8e,
    IOAS_MAP_FILE: 0x8f,
    VIOMMU_ALLOC: 0x90,
    VDEVICE_ALLOC: 0x91,
    IOAS_CHANGE_PROCESS: 0x92,
    VEVENTQ_ALLOC: 0x93,
    HW_QUEUE_ALLOC: 0x94,
} as const;

function iommufdCmd(nr: number): number {
    return io(IOMMUFD_TYPE, nr);
}

// ---------------------------------------------------------------------------------------------
// Constants

/** Constants of `iommufd_ioas_map_flags`. */
export const iommufd_ioas_map_flags = defineConstants('iommufd_ioas_map_flags', 'flags', 'IOMMU_IOAS_MAP_', [
    cst('IOMMU_IOAS_MAP_FIXED_IOVA', 1 << 0, 'map at the given iova; otherwise the kernel picks one', {
        since: kv(6, 2),
    }),
    cst('IOMMU_IOAS_MAP_WRITEABLE', 1 << 1, 'DMA may write the mapping', { since: kv(6, 2) }),
    cst('IOMMU_IOAS_MAP_READABLE', 1 << 2, 'DMA may read the mapping', { since: kv(6, 2) }),
]);

/** Constants of `iommufd_option`. */
export const iommufd_option = defineConstants('iommufd_option', 'enum', 'IOMMU_OPTION_', [
    cst('IOMMU_OPTION_RLIMIT_MODE', 0, 'pinned-memory accounting: 0 per user (default), 1 per process; global', {
        since: kv(6, 2),
    }),
    cst('IOMMU_OPTION_HUGE_PAGES', 1, 'per IOAS: 1 (default) combine contiguous pages, 0 map PAGE_SIZE only', {
        since: kv(6, 2),
    }),
]);

/** Constants of `iommufd_option_ops`. */
export const iommufd_option_ops = defineConstants('iommufd_option_ops', 'enum', 'IOMMU_OPTION_OP_', [
    cst('IOMMU_OPTION_OP_SET', 0, 'set the option to val64', { since: kv(6, 2) }),
    cst('IOMMU_OPTION_OP_GET', 1, 'read the option into val64', { since: kv(6, 2) }),
]);

/** Constants of `iommufd_vfio_ioas_op`. */
export const iommufd_vfio_ioas_op = defineConstants('iommufd_vfio_ioas_op', 'enum', 'IOMMU_VFIO_IOAS_', [
    cst('IOMMU_VFIO_IOAS_GET', 0, 'return the compat IOAS id', { since: kv(6, 2) }),
    cst('IOMMU_VFIO_IOAS_SET', 1, 'make ioas_id the compat IOAS', { since: kv(6, 2) }),
    cst('IOMMU_VFIO_IOAS_CLEAR', 2, 'forget the compat IOAS (it is not destroyed)', { since: kv(6, 2) }),
]);

/** Constants of `iommufd_hwpt_alloc_flags`. */
export const iommufd_hwpt_alloc_flags = defineConstants('iommufd_hwpt_alloc_flags', 'flags', 'IOMMU_HWPT_ALLOC_', [
    cst('IOMMU_HWPT_ALLOC_NEST_PARENT', 1 << 0, 'the HWPT may be the parent (stage 2) of nested HWPTs', {
        since: kv(6, 7),
    }),
    cst('IOMMU_HWPT_ALLOC_DIRTY_TRACKING', 1 << 1, 'the HWPT supports dirty tracking (enforced at attach)', {
        since: kv(6, 7),
    }),
    cst('IOMMU_HWPT_FAULT_ID_VALID', 1 << 2, 'fault_id names the FAULT object receiving its page faults', {
        since: kv(6, 11),
        short: 'FAULT_ID_VALID',
    }),
    cst('IOMMU_HWPT_ALLOC_PASID', 1 << 3, 'the HWPT may be attached to PASIDs of the device', { since: kv(6, 15) }),
]);

/** Constants of `iommu_hwpt_vtd_s1_flags`. */
export const iommu_hwpt_vtd_s1_flags = defineConstants('iommu_hwpt_vtd_s1_flags', 'flags', 'IOMMU_VTD_S1_', [
    cst('IOMMU_VTD_S1_SRE', 1 << 0, 'supervisor requests', { since: kv(6, 7) }),
    cst('IOMMU_VTD_S1_EAFE', 1 << 1, 'extended access flag', { since: kv(6, 7) }),
    cst('IOMMU_VTD_S1_WPE', 1 << 2, 'write protect', { since: kv(6, 7) }),
]);

/** Constants of `iommu_hwpt_data_type`. */
export const iommu_hwpt_data_type = defineConstants('iommu_hwpt_data_type', 'enum', 'IOMMU_HWPT_DATA_', [
    cst('IOMMU_HWPT_DATA_NONE', 0, 'no driver data: a kernel-managed paging HWPT', { since: kv(6, 7) }),
    cst('IOMMU_HWPT_DATA_VTD_S1', 1, 'Intel VT-d stage-1 page table (struct iommu_hwpt_vtd_s1)', { since: kv(6, 7) }),
    cst('IOMMU_HWPT_DATA_ARM_SMMUV3', 2, 'ARM SMMUv3 nested STE (struct iommu_hwpt_arm_smmuv3)', { since: kv(6, 13) }),
    cst('IOMMU_HWPT_DATA_AMD_GUEST', 3, 'AMD guest device table entry (struct iommu_hwpt_amd_guest)', {
        since: kv(7, 0),
    }),
]);

/** Constants of `iommu_hw_info_vtd_flags`. */
export const iommu_hw_info_vtd_flags = defineConstants('iommu_hw_info_vtd_flags', 'flags', 'IOMMU_HW_INFO_VTD_', [
    cst('IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17', 1 << 0, 'read-only mappings refused in a nest parent (erratum)', {
        since: kv(6, 7),
    }),
]);

/** Constants of `iommu_hw_info_type`. */
export const iommu_hw_info_type = defineConstants('iommu_hw_info_type', 'enum', 'IOMMU_HW_INFO_TYPE_', [
    cst('IOMMU_HW_INFO_TYPE_NONE', 0, 'output: the driver reports no hardware info', { since: kv(6, 6) }),
    cst('IOMMU_HW_INFO_TYPE_DEFAULT', 0, 'input: the driver\'s default info type', {
        since: kv(6, 17),
        aliasOf: 'IOMMU_HW_INFO_TYPE_NONE',
    }),
    cst('IOMMU_HW_INFO_TYPE_INTEL_VTD', 1, 'Intel VT-d (struct iommu_hw_info_vtd)', { since: kv(6, 6) }),
    cst('IOMMU_HW_INFO_TYPE_ARM_SMMUV3', 2, 'ARM SMMUv3 (struct iommu_hw_info_arm_smmuv3)', { since: kv(6, 13) }),
    cst('IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV', 3, 'NVIDIA Tegra241 CMDQV (struct iommu_hw_info_tegra241_cmdqv)', {
        since: kv(6, 17),
    }),
    cst('IOMMU_HW_INFO_TYPE_AMD', 4, 'AMD IOMMU (extended feature registers)', { since: kv(7, 0) }),
]);

/** Constants of `iommufd_hw_capabilities`. */
export const iommufd_hw_capabilities = defineConstants('iommufd_hw_capabilities', 'flags', 'IOMMU_HW_CAP_', [
    cst('IOMMU_HW_CAP_DIRTY_TRACKING', 1 << 0, 'the IOMMU can track dirty pages', { since: kv(6, 7) }),
    cst('IOMMU_HW_CAP_PCI_PASID_EXEC', 1 << 1, 'PASID execute permission supported', { since: kv(6, 15) }),
    cst('IOMMU_HW_CAP_PCI_PASID_PRIV', 1 << 2, 'PASID privileged mode supported', { since: kv(6, 15) }),
    cst('IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED', 1 << 3, 'ATS cannot be used for this device', { since: kv(7, 0) }),
]);

/** Constants of `iommufd_hw_info_flags`. */
export const iommufd_hw_info_flags = defineConstants('iommufd_hw_info_flags', 'flags', 'IOMMU_HW_INFO_FLAG_', [
    cst('IOMMU_HW_INFO_FLAG_INPUT_TYPE', 1 << 0, 'in_data_type selects the info type wanted', { since: kv(6, 17) }),
]);

/** Constants of `iommufd_hwpt_set_dirty_tracking_flags`. */
export const iommufd_hwpt_set_dirty_tracking_flags = defineConstants(
    'iommufd_hwpt_set_dirty_tracking_flags',
    'flags',
    'IOMMU_HWPT_DIRTY_TRACKING_',
    [cst('IOMMU_HWPT_DIRTY_TRACKING_ENABLE', 1, 'enable dirty tracking (clear: disable)', { since: kv(6, 7) })],
);

/** Constants of `iommufd_hwpt_get_dirty_bitmap_flags`. */
export const iommufd_hwpt_get_dirty_bitmap_flags = defineConstants(
    'iommufd_hwpt_get_dirty_bitmap_flags',
    'flags',
    'IOMMU_HWPT_GET_DIRTY_BITMAP_',
    [cst('IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR', 1, 'read the dirty bits without clearing them', { since: kv(6, 7) })],
);

/** Constants of `iommu_hwpt_invalidate_data_type`. */
export const iommu_hwpt_invalidate_data_type = defineConstants(
    'iommu_hwpt_invalidate_data_type',
    'enum',
    'IOMMU_HWPT_INVALIDATE_DATA_',
    [
        cst('IOMMU_HWPT_INVALIDATE_DATA_VTD_S1', 0, 'entries are struct iommu_hwpt_vtd_s1_invalidate', {
            since: kv(6, 8),
        }),
        cst('IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3', 1, 'entries are struct iommu_viommu_arm_smmuv3_invalidate', {
            since: kv(6, 13),
            short: 'ARM_SMMUV3',
        }),
    ],
);

/** Constants of `iommu_hwpt_vtd_s1_invalidate_flags`. */
export const iommu_hwpt_vtd_s1_invalidate_flags = defineConstants(
    'iommu_hwpt_vtd_s1_invalidate_flags',
    'flags',
    'IOMMU_VTD_INV_FLAGS_',
    [cst('IOMMU_VTD_INV_FLAGS_LEAF', 1 << 0, 'invalidate leaf entries only, not paging-structure caches', { since: kv(6, 8) })],
);

/** Constants of `iommu_hwpt_pgfault_flags`. */
export const iommu_hwpt_pgfault_flags = defineConstants('iommu_hwpt_pgfault_flags', 'flags', 'IOMMU_PGFAULT_FLAGS_', [
    cst('IOMMU_PGFAULT_FLAGS_PASID_VALID', 1 << 0, 'pasid is valid', { since: kv(6, 11) }),
    cst('IOMMU_PGFAULT_FLAGS_LAST_PAGE', 1 << 1, 'last fault of its group: answer with its cookie', { since: kv(6, 11) }),
]);

/** Constants of `iommu_hwpt_pgfault_perm`. */
export const iommu_hwpt_pgfault_perm = defineConstants('iommu_hwpt_pgfault_perm', 'flags', 'IOMMU_PGFAULT_PERM_', [
    cst('IOMMU_PGFAULT_PERM_READ', 1 << 0, 'read access requested', { since: kv(6, 11) }),
    cst('IOMMU_PGFAULT_PERM_WRITE', 1 << 1, 'write access requested', { since: kv(6, 11) }),
    cst('IOMMU_PGFAULT_PERM_EXEC', 1 << 2, 'execute requested (PASID prefix)', { since: kv(6, 11) }),
    cst('IOMMU_PGFAULT_PERM_PRIV', 1 << 3, 'privileged mode requested (PASID prefix)', { since: kv(6, 11) }),
]);

/** Constants of `iommufd_page_response_code`. */
export const iommufd_page_response_code = defineConstants(
    'iommufd_page_response_code',
    'enum',
    'IOMMUFD_PAGE_RESP_',
    [
        cst('IOMMUFD_PAGE_RESP_SUCCESS', 0, 'fault handled, the device retries', { since: kv(6, 11) }),
        cst('IOMMUFD_PAGE_RESP_INVALID', 1, 'fault not handled, the device does not retry', { since: kv(6, 11) }),
    ],
);

/** Constants of `iommu_viommu_type`. */
export const iommu_viommu_type = defineConstants('iommu_viommu_type', 'enum', 'IOMMU_VIOMMU_TYPE_', [
    cst('IOMMU_VIOMMU_TYPE_DEFAULT', 0, 'reserved: refused', { since: kv(6, 13) }),
    cst('IOMMU_VIOMMU_TYPE_ARM_SMMUV3', 1, 'ARM SMMUv3 vIOMMU', { since: kv(6, 13) }),
    cst('IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV', 2, 'ARM SMMUv3 with NVIDIA Tegra241 CMDQV', { since: kv(6, 17) }),
]);

/** Constants of `iommu_veventq_flag`. */
export const iommu_veventq_flag = defineConstants('iommu_veventq_flag', 'flags', 'IOMMU_VEVENTQ_FLAG_', [
    cst('IOMMU_VEVENTQ_FLAG_LOST_EVENTS', 1 << 0, 'events were lost after this header', { since: kv(6, 15) }),
]);

/** Constants of `iommu_veventq_type`. */
export const iommu_veventq_type = defineConstants('iommu_veventq_type', 'enum', 'IOMMU_VEVENTQ_TYPE_', [
    cst('IOMMU_VEVENTQ_TYPE_DEFAULT', 0, 'reserved: refused', { since: kv(6, 15) }),
    cst('IOMMU_VEVENTQ_TYPE_ARM_SMMUV3', 1, 'ARM SMMUv3 event records', { since: kv(6, 15) }),
    cst('IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV', 2, 'Tegra241 CMDQV error interrupts', { since: kv(6, 17) }),
]);

/** Constants of `iommu_hw_queue_type`. */
export const iommu_hw_queue_type = defineConstants('iommu_hw_queue_type', 'enum', 'IOMMU_HW_QUEUE_TYPE_', [
    cst('IOMMU_HW_QUEUE_TYPE_DEFAULT', 0, 'reserved: refused', { since: kv(6, 17) }),
    cst('IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV', 1, 'Tegra241 virtual command queue', { since: kv(6, 17) }),
]);

/** Every iommufd constant set. */
export const IOMMUFD_CONSTANT_SETS: readonly ConstantSet[] = [
    iommufd_ioas_map_flags,
    iommufd_option,
    iommufd_option_ops,
    iommufd_vfio_ioas_op,
    iommufd_hwpt_alloc_flags,
    iommu_hwpt_vtd_s1_flags,
    iommu_hwpt_data_type,
    iommu_hw_info_vtd_flags,
    iommu_hw_info_type,
    iommufd_hw_capabilities,
    iommufd_hw_info_flags,
    iommufd_hwpt_set_dirty_tracking_flags,
    iommufd_hwpt_get_dirty_bitmap_flags,
    iommu_hwpt_invalidate_data_type,
    iommu_hwpt_vtd_s1_invalidate_flags,
    iommu_hwpt_pgfault_flags,
    iommu_hwpt_pgfault_perm,
    iommufd_page_response_code,
    iommu_viommu_type,
    iommu_veventq_flag,
    iommu_veventq_type,
    iommu_hw_queue_type,
];

// ---------------------------------------------------------------------------------------------
// Structs

const SIZE_DOC = 'sizeof the struct as the caller passes it';
const MBZ = 'must be 0';

function sizeField(): ReturnType<typeof fld> {
    return fld('size', 'u32', 0, 'in', SIZE_DOC);
}

/** `struct iommu_destroy`, the argument of IOMMU_DESTROY. */
export const iommu_destroy: StructDef = defineStruct(
    'iommu_destroy',
    8,
    8,
    [sizeField(), fld('id', 'u32', 4, 'in', 'object id to destroy (any destroyable type)')],
    'size',
);

/** `struct iommu_ioas_alloc`, the argument of IOMMU_IOAS_ALLOC. */
export const iommu_ioas_alloc: StructDef = defineStruct(
    'iommu_ioas_alloc',
    12,
    12,
    [
        sizeField(),
        fld('flags', 'u32', 4, 'in', MBZ),
        fld('out_ioas_id', 'u32', 8, 'out', 'id of the new IOAS'),
    ],
    'size',
);

/** `struct iommu_iova_range`: an interval of IOVA, last inclusive. */
export const iommu_iova_range: StructDef = defineStruct('iommu_iova_range', 16, 16, [
    fld('start', 'u64', 0, 'inout', 'first IOVA'),
    fld('last', 'u64', 8, 'inout', 'last IOVA (inclusive)'),
]);

/** `struct iommu_ioas_iova_ranges`, the argument of IOMMU_IOAS_IOVA_RANGES. */
export const iommu_ioas_iova_ranges: StructDef = defineStruct(
    'iommu_ioas_iova_ranges',
    32,
    32,
    [
        sizeField(),
        fld('ioas_id', 'u32', 4, 'in', 'IOAS to read the ranges of'),
        fld('num_iovas', 'u32', 8, 'inout', 'in: room in allowed_iovas; out: total number of ranges'),
        fld('__reserved', 'u32', 12, 'in', MBZ),
        fld('allowed_iovas', 'ptr', 16, 'in', 'user pointer to the output array of ranges', {
            array: { elem: iommu_iova_range, countField: 'num_iovas' },
        }),
        fld('out_iova_alignment', 'u64', 24, 'out', 'alignment IOVAs and lengths must have (1: any)'),
    ],
    'size',
);

/** `struct iommu_ioas_allow_iovas`, the argument of IOMMU_IOAS_ALLOW_IOVAS. */
export const iommu_ioas_allow_iovas: StructDef = defineStruct(
    'iommu_ioas_allow_iovas',
    24,
    24,
    [
        sizeField(),
        fld('ioas_id', 'u32', 4, 'in', 'IOAS to set the allowed ranges of'),
        fld('num_iovas', 'u32', 8, 'in', 'number of ranges (0 clears the list)'),
        fld('__reserved', 'u32', 12, 'in', MBZ),
        fld('allowed_iovas', 'ptr', 16, 'in', 'user pointer to the array of ranges', {
            array: { elem: iommu_iova_range, countField: 'num_iovas' },
        }),
    ],
    'size',
);

/** `struct iommu_ioas_map`, the argument of IOMMU_IOAS_MAP. */
export const iommu_ioas_map: StructDef = defineStruct(
    'iommu_ioas_map',
    40,
    40,
    [
        sizeField(),
        fld('flags', 'u32', 4, 'in', 'FIXED_IOVA, WRITEABLE, READABLE', { constants: iommufd_ioas_map_flags.id }),
        fld('ioas_id', 'u32', 8, 'in', 'IOAS to map into'),
        fld('__reserved', 'u32', 12, 'in', MBZ),
        fld('user_va', 'u64', 16, 'in', 'process address of the memory'),
        fld('length', 'u64', 24, 'in', 'bytes to map'),
        fld('iova', 'u64', 32, 'inout', 'IOVA (input with FIXED_IOVA); returns where it was mapped'),
    ],
    'size',
);

/** `struct iommu_ioas_map_file`, the argument of IOMMU_IOAS_MAP_FILE. */
export const iommu_ioas_map_file: StructDef = defineStruct(
    'iommu_ioas_map_file',
    40,
    40,
    [
        sizeField(),
        fld('flags', 'u32', 4, 'in', 'FIXED_IOVA, WRITEABLE, READABLE', { constants: iommufd_ioas_map_flags.id }),
        fld('ioas_id', 'u32', 8, 'in', 'IOAS to map into'),
        fld('fd', 's32', 12, 'in', 'the memfd (or dma-buf) to map'),
        fld('start', 'u64', 16, 'in', 'byte offset in the file'),
        fld('length', 'u64', 24, 'in', 'bytes to map'),
        fld('iova', 'u64', 32, 'inout', 'IOVA (input with FIXED_IOVA); returns where it was mapped'),
    ],
    'size',
);

/** `struct iommu_ioas_copy`, the argument of IOMMU_IOAS_COPY. */
export const iommu_ioas_copy: StructDef = defineStruct(
    'iommu_ioas_copy',
    40,
    40,
    [
        sizeField(),
        fld('flags', 'u32', 4, 'in', 'FIXED_IOVA, WRITEABLE, READABLE', { constants: iommufd_ioas_map_flags.id }),
        fld('dst_ioas_id', 'u32', 8, 'in', 'IOAS to map into'),
        fld('src_ioas_id', 'u32', 12, 'in', 'IOAS to copy from'),
        fld('length', 'u64', 16, 'in', 'bytes to copy'),
        fld('dst_iova', 'u64', 24, 'inout', 'destination IOVA (input with FIXED_IOVA); returns where it was mapped'),
        fld('src_iova', 'u64', 32, 'in', 'source IOVA'),
    ],
    'size',
);

/** `struct iommu_ioas_unmap`, the argument of IOMMU_IOAS_UNMAP. */
export const iommu_ioas_unmap: StructDef = defineStruct(
    'iommu_ioas_unmap',
    24,
    24,
    [
        sizeField(),
        fld('ioas_id', 'u32', 4, 'in', 'IOAS to unmap from'),
        fld('iova', 'u64', 8, 'in', 'first IOVA (0 with length U64_MAX: everything)'),
        fld('length', 'u64', 16, 'inout', 'bytes to unmap; returns the bytes unmapped'),
    ],
    'size',
);

/** `struct iommu_option`, the argument of IOMMU_OPTION. */
export const iommu_option: StructDef = defineStruct(
    'iommu_option',
    24,
    24,
    [
        sizeField(),
        fld('option_id', 'u32', 4, 'in', 'RLIMIT_MODE or HUGE_PAGES', { constants: iommufd_option.id }),
        fld('op', 'u16', 8, 'in', 'SET or GET', { constants: iommufd_option_ops.id }),
        fld('__reserved', 'u16', 10, 'in', MBZ),
        fld('object_id', 'u32', 12, 'in', 'the object the option applies to (0 for global options)'),
        fld('val64', 'u64', 16, 'inout', 'value to set, or value read'),
    ],
    'size',
);

/** `struct iommu_vfio_ioas`, the argument of IOMMU_VFIO_IOAS. */
export const iommu_vfio_ioas: StructDef = defineStruct(
    'iommu_vfio_ioas',
    12,
    12,
    [
        sizeField(),
        fld('ioas_id', 'u32', 4, 'inout', 'IOAS to set (SET); the compat IOAS (GET)'),
        fld('op', 'u16', 8, 'in', 'GET, SET or CLEAR', { constants: iommufd_vfio_ioas_op.id }),
        fld('__reserved', 'u16', 10, 'in', MBZ),
    ],
    'size',
);

/** `struct iommu_hwpt_vtd_s1`: the data of IOMMU_HWPT_DATA_VTD_S1. */
export const iommu_hwpt_vtd_s1: StructDef = defineStruct('iommu_hwpt_vtd_s1', 24, 24, [
    fld('flags', 'u64', 0, 'in', 'SRE, EAFE, WPE', { constants: iommu_hwpt_vtd_s1_flags.id }),
    fld('pgtbl_addr', 'u64', 8, 'in', 'guest physical address of the stage-1 page table'),
    fld('addr_width', 'u32', 16, 'in', 'address width of the stage-1 table'),
    fld('__reserved', 'u32', 20, 'in', MBZ),
]);

/** `struct iommu_hwpt_arm_smmuv3`: the data of IOMMU_HWPT_DATA_ARM_SMMUV3. */
export const iommu_hwpt_arm_smmuv3: StructDef = defineStruct('iommu_hwpt_arm_smmuv3', 16, 16, [
    fld('ste', 'u64', 0, 'in', 'first two double words of the guest STE (little endian)', { count: 2 }),
]);

/** `struct iommu_hwpt_amd_guest`: the data of IOMMU_HWPT_DATA_AMD_GUEST. */
export const iommu_hwpt_amd_guest: StructDef = defineStruct('iommu_hwpt_amd_guest', 32, 32, [
    fld('dte', 'u64', 0, 'in', 'guest device table entry', { count: 4, since: kv(7, 0) }),
]);

/** `struct iommu_hwpt_alloc`, the argument of IOMMU_HWPT_ALLOC. */
export const iommu_hwpt_alloc: StructDef = defineStruct(
    'iommu_hwpt_alloc',
    48,
    24,
    [
        sizeField(),
        fld('flags', 'u32', 4, 'in', 'NEST_PARENT, DIRTY_TRACKING, FAULT_ID_VALID, PASID', {
            constants: iommufd_hwpt_alloc_flags.id,
        }),
        fld('dev_id', 'u32', 8, 'in', 'device whose IOMMU the HWPT is for'),
        fld('pt_id', 'u32', 12, 'in', 'IOAS, parent HWPT or vIOMMU to build the HWPT on'),
        fld('out_hwpt_id', 'u32', 16, 'out', 'id of the new HWPT'),
        fld('__reserved', 'u32', 20, 'in', MBZ),
        fld('data_type', 'u32', 24, 'in', 'type of the driver data (NONE for a paging HWPT)', {
            constants: iommu_hwpt_data_type.id,
            since: kv(6, 7),
        }),
        fld('data_len', 'u32', 28, 'in', 'length of the driver data', { since: kv(6, 7) }),
        fld('data_uptr', 'ptr', 32, 'in', 'user pointer to the driver data', {
            since: kv(6, 7),
            pointee: {
                typeField: 'data_type',
                lengthField: 'data_len',
                structs: {
                    IOMMU_HWPT_DATA_VTD_S1: iommu_hwpt_vtd_s1,
                    IOMMU_HWPT_DATA_ARM_SMMUV3: iommu_hwpt_arm_smmuv3,
                    IOMMU_HWPT_DATA_AMD_GUEST: iommu_hwpt_amd_guest,
                },
            },
        }),
        fld('fault_id', 'u32', 40, 'in', 'FAULT object for the HWPT, with FAULT_ID_VALID', { since: kv(6, 11) }),
        fld('__reserved2', 'u32', 44, 'in', MBZ, { since: kv(6, 11) }),
    ],
    'size',
);

/** `struct iommu_hw_info_vtd`: the data of IOMMU_HW_INFO_TYPE_INTEL_VTD. */
export const iommu_hw_info_vtd: StructDef = defineStruct('iommu_hw_info_vtd', 24, 24, [
    fld('flags', 'u32', 0, 'out', 'ERRATA_772415_SPR17', { constants: iommu_hw_info_vtd_flags.id }),
    fld('__reserved', 'u32', 4, 'out', MBZ),
    fld('cap_reg', 'u64', 8, 'out', 'VT-d capability register'),
    fld('ecap_reg', 'u64', 16, 'out', 'VT-d extended capability register'),
]);

/** `struct iommu_hw_info_arm_smmuv3`: the data of IOMMU_HW_INFO_TYPE_ARM_SMMUV3. */
export const iommu_hw_info_arm_smmuv3: StructDef = defineStruct('iommu_hw_info_arm_smmuv3', 40, 40, [
    fld('flags', 'u32', 0, 'out', MBZ),
    fld('__reserved', 'u32', 4, 'out', MBZ),
    fld('idr', 'u32', 8, 'out', 'SMMU_IDR0..5', { count: 6 }),
    fld('iidr', 'u32', 32, 'out', 'SMMU_IIDR'),
    fld('aidr', 'u32', 36, 'out', 'SMMU_AIDR'),
]);

/** `struct iommu_hw_info_tegra241_cmdqv`: the data of IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV. */
export const iommu_hw_info_tegra241_cmdqv: StructDef = defineStruct('iommu_hw_info_tegra241_cmdqv', 8, 8, [
    fld('flags', 'u32', 0, 'out', MBZ),
    fld('version', 'u8', 4, 'out', 'CMDQ-V version'),
    fld('log2vcmdqs', 'u8', 5, 'out', 'log2 of the number of VCMDQs'),
    fld('log2vsids', 'u8', 6, 'out', 'log2 of the number of SID replacements'),
    fld('__reserved', 'u8', 7, 'out', MBZ),
]);

/** `struct iommu_hw_info`, the argument of IOMMU_GET_HW_INFO. */
export const iommu_hw_info: StructDef = defineStruct(
    'iommu_hw_info',
    40,
    32,
    [
        sizeField(),
        fld('flags', 'u32', 4, 'in', '0, or INPUT_TYPE', { constants: iommufd_hw_info_flags.id }),
        fld('dev_id', 'u32', 8, 'in', 'device bound to the iommufd'),
        fld('data_len', 'u32', 12, 'inout', 'in: user buffer length; out: length of the kernel data'),
        fld('data_uptr', 'ptr', 16, 'in', 'user buffer for the driver-specific info', {
            pointee: {
                typeField: 'out_data_type',
                lengthField: 'data_len',
                structs: {
                    IOMMU_HW_INFO_TYPE_INTEL_VTD: iommu_hw_info_vtd,
                    IOMMU_HW_INFO_TYPE_ARM_SMMUV3: iommu_hw_info_arm_smmuv3,
                    IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV: iommu_hw_info_tegra241_cmdqv,
                },
            },
        }),
        fld('in_data_type', 'u32', 24, 'in', 'info type wanted, with INPUT_TYPE (union with out_data_type)', {
            constants: iommu_hw_info_type.id,
            since: kv(6, 17),
        }),
        fld('out_data_type', 'u32', 24, 'out', 'type of the info written to data_uptr', {
            constants: iommu_hw_info_type.id,
        }),
        fld('out_max_pasid_log2', 'u8', 28, 'out', 'PASID width; 0: no PASID', { since: kv(6, 15) }),
        fld('__reserved', 'u8', 29, 'in', MBZ + ' (a __u32 at offset 28 before 6.15)', { count: 3, since: kv(6, 15) }),
        fld('out_capabilities', 'u64', 32, 'out', 'DIRTY_TRACKING, PCI_PASID_EXEC, ...', {
            constants: iommufd_hw_capabilities.id,
            since: kv(6, 7),
        }),
    ],
    'size',
);

/** `struct iommu_hwpt_set_dirty_tracking`, the argument of IOMMU_HWPT_SET_DIRTY_TRACKING. */
export const iommu_hwpt_set_dirty_tracking: StructDef = defineStruct(
    'iommu_hwpt_set_dirty_tracking',
    16,
    16,
    [
        sizeField(),
        fld('flags', 'u32', 4, 'in', 'ENABLE, or 0 to disable', { constants: iommufd_hwpt_set_dirty_tracking_flags.id }),
        fld('hwpt_id', 'u32', 8, 'in', 'paging HWPT'),
        fld('__reserved', 'u32', 12, 'in', MBZ + ' (not checked)'),
    ],
    'size',
);

/** One `__u64` word of a dirty bitmap. */
const dirty_bitmap_word: StructDef = defineStruct('__u64', 8, 8, [fld('word', 'u64', 0, 'out', '64 dirty bits')]);

/** `struct iommu_hwpt_get_dirty_bitmap`, the argument of IOMMU_HWPT_GET_DIRTY_BITMAP. */
export const iommu_hwpt_get_dirty_bitmap: StructDef = defineStruct(
    'iommu_hwpt_get_dirty_bitmap',
    48,
    48,
    [
        sizeField(),
        fld('hwpt_id', 'u32', 4, 'in', 'paging HWPT'),
        fld('flags', 'u32', 8, 'in', '0, or NO_CLEAR', { constants: iommufd_hwpt_get_dirty_bitmap_flags.id }),
        fld('__reserved', 'u32', 12, 'in', MBZ),
        fld('iova', 'u64', 16, 'in', 'IOVA of the first bit'),
        fld('length', 'u64', 24, 'in', 'length of the IOVA range'),
        fld('page_size', 'u64', 32, 'in', 'bytes one bit stands for'),
        fld('data', 'ptr', 40, 'in', 'user pointer to the bitmap (u64 words, LSB first)', {
            array: {
                elem: dirty_bitmap_word,
                countField: 'length',
                countKind: 'dirty-bitmap',
                pageSizeField: 'page_size',
                scalar: true,
            },
        }),
        pseudo('dirty_pages', 'u64', 'out', 'bits the kernel set in the bitmap: the pages it reports dirty'),
    ],
    'size',
);

/** `struct iommu_hwpt_vtd_s1_invalidate`: an entry of IOMMU_HWPT_INVALIDATE_DATA_VTD_S1. */
export const iommu_hwpt_vtd_s1_invalidate: StructDef = defineStruct('iommu_hwpt_vtd_s1_invalidate', 24, 24, [
    fld('addr', 'u64', 0, 'in', 'first address (4 KiB aligned; 0 with npages U64_MAX: all)'),
    fld('npages', 'u64', 8, 'in', 'number of 4 KiB pages'),
    fld('flags', 'u32', 16, 'in', '0, or LEAF', { constants: iommu_hwpt_vtd_s1_invalidate_flags.id }),
    fld('__reserved', 'u32', 20, 'in', MBZ),
]);

/** `struct iommu_viommu_arm_smmuv3_invalidate`: an entry of IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3. */
export const iommu_viommu_arm_smmuv3_invalidate: StructDef = defineStruct('iommu_viommu_arm_smmuv3_invalidate', 16, 16, [
    fld('cmd', 'u64', 0, 'in', '128-bit SMMU command queue entry (little endian)', { count: 2 }),
]);

/** `struct iommu_hwpt_invalidate`, the argument of IOMMU_HWPT_INVALIDATE. */
export const iommu_hwpt_invalidate: StructDef = defineStruct(
    'iommu_hwpt_invalidate',
    32,
    32,
    [
        sizeField(),
        fld('hwpt_id', 'u32', 4, 'in', 'nested HWPT or vIOMMU whose caches to invalidate'),
        fld('data_uptr', 'ptr', 8, 'in', 'user pointer to the array of requests', {
            array: {
                elem: iommu_hwpt_vtd_s1_invalidate,
                countField: 'entry_num',
                elemSizeField: 'entry_len',
                byType: {
                    field: 'data_type',
                    elems: {
                        IOMMU_HWPT_INVALIDATE_DATA_VTD_S1: iommu_hwpt_vtd_s1_invalidate,
                        IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3: iommu_viommu_arm_smmuv3_invalidate,
                    },
                },
            },
        }),
        fld('data_type', 'u32', 16, 'in', 'type of every entry', { constants: iommu_hwpt_invalidate_data_type.id }),
        fld('entry_len', 'u32', 20, 'in', 'bytes per entry'),
        fld('entry_num', 'u32', 24, 'inout', 'in: number of entries; out: entries handled (also on error)'),
        fld('__reserved', 'u32', 28, 'in', MBZ),
    ],
    'size',
);

/** `struct iommu_hwpt_pgfault`: a record read from a fault queue fd. */
export const iommu_hwpt_pgfault: StructDef = defineStruct('iommu_hwpt_pgfault', 40, 40, [
    fld('flags', 'u32', 0, 'out', 'PASID_VALID, LAST_PAGE', { constants: iommu_hwpt_pgfault_flags.id }),
    fld('dev_id', 'u32', 4, 'out', 'device that faulted'),
    fld('pasid', 'u32', 8, 'out', 'PASID of the request'),
    fld('grpid', 'u32', 12, 'out', 'page request group index'),
    fld('perm', 'u32', 16, 'out', 'READ, WRITE, EXEC, PRIV', { constants: iommu_hwpt_pgfault_perm.id }),
    fld('__reserved', 'u32', 20, 'out', MBZ),
    fld('addr', 'u64', 24, 'out', 'faulting address'),
    fld('length', 'u32', 32, 'out', 'hint of how much the device will access (0: none)'),
    fld('cookie', 'u32', 36, 'out', 'cookie to echo in the response to the group\'s last fault'),
]);

/** `struct iommu_hwpt_page_response`: a record written to a fault queue fd. */
export const iommu_hwpt_page_response: StructDef = defineStruct('iommu_hwpt_page_response', 8, 8, [
    fld('cookie', 'u32', 0, 'in', 'cookie of the fault group answered'),
    fld('code', 'u32', 4, 'in', 'SUCCESS or INVALID', { constants: iommufd_page_response_code.id }),
]);

/** `struct iommu_fault_alloc`, the argument of IOMMU_FAULT_QUEUE_ALLOC. */
export const iommu_fault_alloc: StructDef = defineStruct(
    'iommu_fault_alloc',
    16,
    16,
    [
        sizeField(),
        fld('flags', 'u32', 4, 'in', MBZ),
        fld('out_fault_id', 'u32', 8, 'out', 'id of the new FAULT object'),
        fld('out_fault_fd', 'u32', 12, 'out', 'fd to read faults from and write responses to'),
    ],
    'size',
);

/** `struct iommu_viommu_tegra241_cmdqv`: the data of IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV. */
export const iommu_viommu_tegra241_cmdqv: StructDef = defineStruct('iommu_viommu_tegra241_cmdqv', 16, 16, [
    fld('out_vintf_mmap_offset', 'u64', 0, 'out', 'mmap offset of the VINTF page0'),
    fld('out_vintf_mmap_length', 'u64', 8, 'out', 'mmap length of the VINTF page0'),
]);

/** `struct iommu_viommu_alloc`, the argument of IOMMU_VIOMMU_ALLOC. */
export const iommu_viommu_alloc: StructDef = defineStruct(
    'iommu_viommu_alloc',
    40,
    24,
    [
        sizeField(),
        fld('flags', 'u32', 4, 'in', MBZ),
        fld('type', 'u32', 8, 'in', 'vIOMMU type', { constants: iommu_viommu_type.id }),
        fld('dev_id', 'u32', 12, 'in', 'device whose physical IOMMU backs the vIOMMU'),
        fld('hwpt_id', 'u32', 16, 'in', 'nesting parent HWPT'),
        fld('out_viommu_id', 'u32', 20, 'out', 'id of the new vIOMMU'),
        fld('data_len', 'u32', 24, 'in', 'length of the driver data', { since: kv(6, 17) }),
        fld('__reserved', 'u32', 28, 'in', MBZ, { since: kv(6, 17) }),
        fld('data_uptr', 'ptr', 32, 'in', 'user pointer to the driver data', {
            since: kv(6, 17),
            pointee: {
                typeField: 'type',
                lengthField: 'data_len',
                structs: { IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV: iommu_viommu_tegra241_cmdqv },
            },
        }),
    ],
    'size',
);

/** `struct iommu_vdevice_alloc`, the argument of IOMMU_VDEVICE_ALLOC. */
export const iommu_vdevice_alloc: StructDef = defineStruct(
    'iommu_vdevice_alloc',
    24,
    24,
    [
        sizeField(),
        fld('viommu_id', 'u32', 4, 'in', 'vIOMMU to create the virtual device on'),
        fld('dev_id', 'u32', 8, 'in', 'the physical device'),
        fld('out_vdevice_id', 'u32', 12, 'out', 'id of the new vDEVICE'),
        fld('virt_id', 'u64', 16, 'in', 'the device\'s id in the VM (vSID, vDeviceID, vRID)'),
    ],
    'size',
);

/** `struct iommu_ioas_change_process`, the argument of IOMMU_IOAS_CHANGE_PROCESS. */
export const iommu_ioas_change_process: StructDef = defineStruct(
    'iommu_ioas_change_process',
    8,
    8,
    [sizeField(), fld('__reserved', 'u32', 4, 'in', MBZ)],
    'size',
);

/** `struct iommufd_vevent_header`: the header of each record read from a vEVENTQ fd. */
export const iommufd_vevent_header: StructDef = defineStruct('iommufd_vevent_header', 8, 8, [
    fld('flags', 'u32', 0, 'out', 'LOST_EVENTS', { constants: iommu_veventq_flag.id }),
    fld('sequence', 'u32', 4, 'out', 'sequence number, wrapping at INT_MAX'),
]);

/** `struct iommu_veventq_alloc`, the argument of IOMMU_VEVENTQ_ALLOC. */
export const iommu_veventq_alloc: StructDef = defineStruct(
    'iommu_veventq_alloc',
    32,
    28,
    [
        sizeField(),
        fld('flags', 'u32', 4, 'in', MBZ),
        fld('viommu_id', 'u32', 8, 'in', 'vIOMMU the queue reports for'),
        fld('type', 'u32', 12, 'in', 'event type (one queue per type)', { constants: iommu_veventq_type.id }),
        fld('veventq_depth', 'u32', 16, 'in', 'maximum number of queued events'),
        fld('out_veventq_id', 'u32', 20, 'out', 'id of the new vEVENTQ'),
        fld('out_veventq_fd', 'u32', 24, 'out', 'fd to read events from'),
        fld('__reserved', 'u32', 28, 'in', MBZ),
    ],
    'size',
);

/** `struct iommu_hw_queue_alloc`, the argument of IOMMU_HW_QUEUE_ALLOC. */
export const iommu_hw_queue_alloc: StructDef = defineStruct(
    'iommu_hw_queue_alloc',
    40,
    40,
    [
        sizeField(),
        fld('flags', 'u32', 4, 'in', MBZ),
        fld('viommu_id', 'u32', 8, 'in', 'vIOMMU the queue belongs to'),
        fld('type', 'u32', 12, 'in', 'queue type', { constants: iommu_hw_queue_type.id }),
        fld('index', 'u32', 16, 'in', 'index of the queue among those of its type'),
        fld('out_hw_queue_id', 'u32', 20, 'out', 'id of the new HW queue'),
        fld('nesting_parent_iova', 'u64', 24, 'in', 'guest physical address of the queue memory'),
        fld('length', 'u64', 32, 'in', 'length of the queue memory'),
    ],
    'size',
);

/** Every iommufd struct, for tests and tools. */
export const IOMMUFD_STRUCTS: readonly StructDef[] = [
    iommu_destroy,
    iommu_ioas_alloc,
    iommu_iova_range,
    iommu_ioas_iova_ranges,
    iommu_ioas_allow_iovas,
    iommu_ioas_map,
    iommu_ioas_map_file,
    iommu_ioas_copy,
    iommu_ioas_unmap,
    iommu_option,
    iommu_vfio_ioas,
    iommu_hwpt_vtd_s1,
    iommu_hwpt_arm_smmuv3,
    iommu_hwpt_amd_guest,
    iommu_hwpt_alloc,
    iommu_hw_info_vtd,
    iommu_hw_info_arm_smmuv3,
    iommu_hw_info_tegra241_cmdqv,
    iommu_hw_info,
    iommu_hwpt_set_dirty_tracking,
    iommu_hwpt_get_dirty_bitmap,
    iommu_hwpt_vtd_s1_invalidate,
    iommu_viommu_arm_smmuv3_invalidate,
    iommu_hwpt_invalidate,
    iommu_hwpt_pgfault,
    iommu_hwpt_page_response,
    iommu_fault_alloc,
    iommu_viommu_tegra241_cmdqv,
    iommu_viommu_alloc,
    iommu_vdevice_alloc,
    iommu_ioas_change_process,
    iommufd_vevent_header,
    iommu_veventq_alloc,
    iommu_hw_queue_alloc,
];

// ---------------------------------------------------------------------------------------------
// ioctls

const IOMMUFD_DIR = 'drivers/iommu/iommufd';

function iommufdIoctl(
    name: string,
    nr: number,
    struct: StructDef,
    since: IoctlDef['since'],
    handler: string,
    doc: string,
    extra: Pick<IoctlDef, 'main' | 'positionalField'> = {},
): IoctlDef {
    return {
        name,
        cmd: iommufdCmd(nr),
        fileKinds: ['iommufd'],
        since,
        arg: { kind: 'struct', struct },
        ...extra,
        doc,
        source: `${IOMMUFD_DIR}/${handler}`,
    };
}

/** Every ioctl of `/dev/iommu` (the VFIO compat ones it also takes are in `vfio.ts`). */
export const IOMMUFD_IOCTLS: readonly IoctlDef[] = [
    iommufdIoctl('IOMMU_DESTROY', IOMMUFD_CMD.DESTROY, iommu_destroy, kv(6, 2), 'main.c:iommufd_destroy',
        'Destroys an object by id, if nothing else holds it.', { positionalField: 'id' }),
    iommufdIoctl('IOMMU_IOAS_ALLOC', IOMMUFD_CMD.IOAS_ALLOC, iommu_ioas_alloc, kv(6, 2), 'ioas.c:iommufd_ioas_alloc_ioctl',
        'Allocates an empty IO address space.', { main: 'out_ioas_id' }),
    iommufdIoctl('IOMMU_IOAS_ALLOW_IOVAS', IOMMUFD_CMD.IOAS_ALLOW_IOVAS, iommu_ioas_allow_iovas, kv(6, 2),
        'ioas.c:iommufd_ioas_allow_iovas',
        'Replaces the IOAS\'s allowed ranges: later reservations may not narrow them.'),
    iommufdIoctl('IOMMU_IOAS_COPY', IOMMUFD_CMD.IOAS_COPY, iommu_ioas_copy, kv(6, 2), 'ioas.c:iommufd_ioas_copy',
        'Maps into one IOAS the pages already mapped at a range of another, sharing the pins.',
        { main: 'dst_iova' }),
    iommufdIoctl('IOMMU_IOAS_IOVA_RANGES', IOMMUFD_CMD.IOAS_IOVA_RANGES, iommu_ioas_iova_ranges, kv(6, 2),
        'ioas.c:iommufd_ioas_iova_ranges',
        'Lists the IOVA ranges that may be mapped now, and the alignment required.',
        { main: 'num_iovas', positionalField: 'ioas_id' }),
    iommufdIoctl('IOMMU_IOAS_MAP', IOMMUFD_CMD.IOAS_MAP, iommu_ioas_map, kv(6, 2), 'ioas.c:iommufd_ioas_map',
        'Maps process memory into an IOAS, at a given IOVA or one the kernel picks.', { main: 'iova' }),
    iommufdIoctl('IOMMU_IOAS_UNMAP', IOMMUFD_CMD.IOAS_UNMAP, iommu_ioas_unmap, kv(6, 2), 'ioas.c:iommufd_ioas_unmap',
        'Unmaps whole mappings inside an IOVA range (never splits one).', { main: 'length' }),
    iommufdIoctl('IOMMU_OPTION', IOMMUFD_CMD.OPTION, iommu_option, kv(6, 2), 'main.c:iommufd_option',
        'Sets or reads an option of the iommufd or of one of its objects.', { main: 'val64' }),
    iommufdIoctl('IOMMU_VFIO_IOAS', IOMMUFD_CMD.VFIO_IOAS, iommu_vfio_ioas, kv(6, 2), 'vfio_compat.c:iommufd_vfio_ioas',
        'Gets, sets or clears the IOAS used by the legacy VFIO container interface.', { main: 'ioas_id' }),
    iommufdIoctl('IOMMU_HWPT_ALLOC', IOMMUFD_CMD.HWPT_ALLOC, iommu_hwpt_alloc, kv(6, 6),
        'hw_pagetable.c:iommufd_hwpt_alloc',
        'Allocates a hardware page table (IOMMU domain): paging on an IOAS, or nested on a parent.',
        { main: 'out_hwpt_id' }),
    iommufdIoctl('IOMMU_GET_HW_INFO', IOMMUFD_CMD.GET_HW_INFO, iommu_hw_info, kv(6, 6), 'device.c:iommufd_get_hw_info',
        'Reports the capabilities of the IOMMU behind a bound device.',
        { main: 'out_capabilities', positionalField: 'dev_id' }),
    iommufdIoctl('IOMMU_HWPT_SET_DIRTY_TRACKING', IOMMUFD_CMD.HWPT_SET_DIRTY_TRACKING, iommu_hwpt_set_dirty_tracking,
        kv(6, 7), 'hw_pagetable.c:iommufd_hwpt_set_dirty_tracking',
        'Turns dirty tracking of a paging HWPT on or off.', { positionalField: 'hwpt_id' }),
    iommufdIoctl('IOMMU_HWPT_GET_DIRTY_BITMAP', IOMMUFD_CMD.HWPT_GET_DIRTY_BITMAP, iommu_hwpt_get_dirty_bitmap,
        kv(6, 7), 'hw_pagetable.c:iommufd_hwpt_get_dirty_bitmap',
        'Reads (and by default clears) the dirty bits of an IOVA range into a user bitmap.'),
    iommufdIoctl('IOMMU_HWPT_INVALIDATE', IOMMUFD_CMD.HWPT_INVALIDATE, iommu_hwpt_invalidate, kv(6, 8),
        'hw_pagetable.c:iommufd_hwpt_invalidate',
        'Flushes IOMMU caches for a user-managed page table or a vIOMMU, entry by entry.',
        { main: 'entry_num' }),
    iommufdIoctl('IOMMU_FAULT_QUEUE_ALLOC', IOMMUFD_CMD.FAULT_QUEUE_ALLOC, iommu_fault_alloc, kv(6, 11),
        'eventq.c:iommufd_fault_alloc',
        'Allocates a fault queue object and an fd to read page faults from and answer them.',
        { main: 'out_fault_id' }),
    iommufdIoctl('IOMMU_IOAS_MAP_FILE', IOMMUFD_CMD.IOAS_MAP_FILE, iommu_ioas_map_file, kv(6, 13),
        'ioas.c:iommufd_ioas_map_file', 'Maps a range of a memfd into an IOAS.', { main: 'iova' }),
    iommufdIoctl('IOMMU_VIOMMU_ALLOC', IOMMUFD_CMD.VIOMMU_ALLOC, iommu_viommu_alloc, kv(6, 13),
        'viommu.c:iommufd_viommu_alloc_ioctl',
        'Allocates a virtual IOMMU: a VM\'s slice of a physical IOMMU, on a nesting parent HWPT.',
        { main: 'out_viommu_id' }),
    iommufdIoctl('IOMMU_VDEVICE_ALLOC', IOMMUFD_CMD.VDEVICE_ALLOC, iommu_vdevice_alloc, kv(6, 13),
        'viommu.c:iommufd_vdevice_alloc_ioctl',
        'Gives a bound device its virtual id on a vIOMMU.', { main: 'out_vdevice_id' }),
    iommufdIoctl('IOMMU_IOAS_CHANGE_PROCESS', IOMMUFD_CMD.IOAS_CHANGE_PROCESS, iommu_ioas_change_process, kv(6, 13),
        'ioas.c:iommufd_ioas_change_process',
        'Moves the pinned-memory accounting of every (MAP_FILE) mapping to the calling process.'),
    iommufdIoctl('IOMMU_VEVENTQ_ALLOC', IOMMUFD_CMD.VEVENTQ_ALLOC, iommu_veventq_alloc, kv(6, 15),
        'eventq.c:iommufd_veventq_alloc',
        'Allocates a virtual event queue of a vIOMMU and an fd to read its events.',
        { main: 'out_veventq_id' }),
    iommufdIoctl('IOMMU_HW_QUEUE_ALLOC', IOMMUFD_CMD.HW_QUEUE_ALLOC, iommu_hw_queue_alloc, kv(6, 17),
        'viommu.c:iommufd_hw_queue_alloc_ioctl',
        'Gives a vIOMMU a hardware-accelerated queue backed by guest memory mapped in the parent IOAS.',
        { main: 'out_hw_queue_id' }),
];
