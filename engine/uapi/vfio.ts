/**
 * The VFIO uAPI (`include/uapi/linux/vfio.h`): container, group, type1 IOMMU and device ioctls
 * with their argument structs and constants. Layouts are x86-64/arm64 (LP64); `__u64` members of
 * these structs are naturally 8-aligned, as `__aligned_u64` ones are. Each ioctl is `_IO(';',
 * VFIO_BASE + n)`: VFIO never encodes the argument size; the struct carries it in `argsz`.
 *
 * `minSize` is what the handler checks: `minsz = offsetofend(struct, last field it needs)` and
 * `argsz < minsz` → EINVAL.
 */

import { cst, defineConstants, defineStruct, fld, kv, pseudo } from './define.js';
import { io } from './ioc.js';
import type { ConstantSet, IoctlDef, StructDef } from './types.js';

/** `VFIO_TYPE`: the ioctl type character of VFIO (shared with iommufd). */
export const VFIO_TYPE = ';';
/** `VFIO_BASE`: nr of the first VFIO ioctl. */
export const VFIO_BASE = 100;
/** `VFIO_API_VERSION`: what VFIO_GET_API_VERSION returns. */
export const VFIO_API_VERSION = 0;

function vfioCmd(n: number): number {
    return io(VFIO_TYPE, VFIO_BASE + n);
}

// ---------------------------------------------------------------------------------------------
// Constants

/** The extension / IOMMU type numbers taken by VFIO_CHECK_EXTENSION and VFIO_SET_IOMMU. */
export const vfio_extension = defineConstants('vfio_extension', 'enum', 'VFIO_', [
    cst('VFIO_TYPE1_IOMMU', 1, 'Type1 IOMMU backend, v1 semantics (unmap may split mappings)', { since: kv(3, 6) }),
    cst('VFIO_SPAPR_TCE_IOMMU', 2, 'POWER sPAPR TCE IOMMU backend', { since: kv(3, 10) }),
    cst('VFIO_TYPE1v2_IOMMU', 3, 'Type1 IOMMU backend, v2 semantics (unmap never splits a mapping)', { since: kv(3, 14) }),
    cst('VFIO_DMA_CC_IOMMU', 4, 'every IOMMU domain of the container enforces DMA cache coherence', { since: kv(3, 14) }),
    cst('VFIO_EEH', 5, 'POWER EEH error recovery is supported', { since: kv(3, 17) }),
    cst('__VFIO_RESERVED_TYPE1_NESTING_IOMMU', 6, 'retired two-stage type1 IOMMU: no backend accepts it any more', {
        since: kv(6, 13),
    }),
    cst('VFIO_TYPE1_NESTING_IOMMU', 6, 'old name of the retired two-stage type1 IOMMU (implied v2)', {
        since: kv(3, 19),
        removedIn: kv(6, 13),
        aliasOf: '__VFIO_RESERVED_TYPE1_NESTING_IOMMU',
    }),
    cst('VFIO_SPAPR_TCE_v2_IOMMU', 7, 'POWER sPAPR TCE IOMMU backend, v2 (dynamic DMA windows)', { since: kv(4, 2) }),
    cst('VFIO_NOIOMMU_IOMMU', 8, 'no-IOMMU backend: no translation, no isolation, taints the kernel', { since: kv(4, 5) }),
    cst('VFIO_UNMAP_ALL', 9, 'VFIO_DMA_UNMAP_FLAG_ALL is supported', { since: kv(5, 12) }),
    cst('VFIO_UPDATE_VADDR', 10, 'the VADDR flags of map and unmap are supported (not with mdevs)', { since: kv(5, 12) }),
]);

/** Constants of `vfio_group_status.flags`. */
export const vfio_group_status_flags = defineConstants('vfio_group_status.flags', 'flags', 'VFIO_GROUP_FLAGS_', [
    cst('VFIO_GROUP_FLAGS_VIABLE', 1 << 0, 'every device of the group is bound to a VFIO driver or is harmless', {
        since: kv(3, 6),
    }),
    cst('VFIO_GROUP_FLAGS_CONTAINER_SET', 1 << 1, 'the group is attached to a container (or an iommufd)', {
        since: kv(3, 6),
    }),
]);

/** Constants of `vfio_iommu_type1_info.flags`. */
export const vfio_iommu_type1_info_flags = defineConstants('vfio_iommu_type1_info.flags', 'flags', 'VFIO_IOMMU_INFO_', [
    cst('VFIO_IOMMU_INFO_PGSIZES', 1 << 0, 'iova_pgsizes is valid', { since: kv(3, 6) }),
    cst('VFIO_IOMMU_INFO_CAPS', 1 << 1, 'a capability chain follows, at cap_offset', { since: kv(5, 4) }),
]);

/** Capability ids of the VFIO_IOMMU_GET_INFO capability chain. */
export const vfio_iommu_type1_info_cap = defineConstants('vfio_iommu_type1_info.cap', 'enum', 'VFIO_IOMMU_TYPE1_INFO_', [
    cst('VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE', 1, 'the usable IOVA ranges (aperture minus reserved regions)', {
        since: kv(5, 4),
    }),
    cst('VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION', 2, 'dirty page tracking: page sizes and maximum bitmap size', {
        since: kv(5, 8),
    }),
    cst('VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL', 3, 'how many more DMA mappings the container may create', { since: kv(5, 10) }),
]);

/** Constants of `vfio_iommu_type1_dma_map.flags`. */
export const vfio_iommu_type1_dma_map_flags = defineConstants('vfio_iommu_type1_dma_map.flags', 'flags', 'VFIO_DMA_MAP_FLAG_', [
    cst('VFIO_DMA_MAP_FLAG_READ', 1 << 0, 'the device may read the mapping', { since: kv(3, 6) }),
    cst('VFIO_DMA_MAP_FLAG_WRITE', 1 << 1, 'the device may write the mapping', { since: kv(3, 6) }),
    cst('VFIO_DMA_MAP_FLAG_VADDR', 1 << 2, 'only update the process address of an invalidated mapping', {
        since: kv(5, 12),
    }),
]);

/** Constants of `vfio_iommu_type1_dma_unmap.flags`. */
export const vfio_iommu_type1_dma_unmap_flags = defineConstants(
    'vfio_iommu_type1_dma_unmap.flags',
    'flags',
    'VFIO_DMA_UNMAP_FLAG_',
    [
        cst('VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP', 1 << 0, 'return the dirty bitmap of the range before unmapping', {
            since: kv(5, 8),
        }),
        cst('VFIO_DMA_UNMAP_FLAG_ALL', 1 << 1, 'unmap everything (iova and size must be 0)', { since: kv(5, 12) }),
        cst('VFIO_DMA_UNMAP_FLAG_VADDR', 1 << 2, 'keep the mappings, invalidate their process addresses', {
            since: kv(5, 12),
        }),
    ],
);

/** Constants of `vfio_iommu_type1_dirty_bitmap.flags`. */
export const vfio_iommu_type1_dirty_bitmap_flags = defineConstants(
    'vfio_iommu_type1_dirty_bitmap.flags',
    'flags',
    'VFIO_IOMMU_DIRTY_PAGES_FLAG_',
    [
        cst('VFIO_IOMMU_DIRTY_PAGES_FLAG_START', 1 << 0, 'start logging dirty pages', { since: kv(5, 8) }),
        cst('VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP', 1 << 1, 'stop logging dirty pages', { since: kv(5, 8) }),
        cst('VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP', 1 << 2, 'read (and clear) the dirty bitmap of a range', {
            since: kv(5, 8),
        }),
    ],
);

/** Constants of `vfio_device_info.flags`. */
export const vfio_device_info_flags = defineConstants('vfio_device_info.flags', 'flags', 'VFIO_DEVICE_FLAGS_', [
    cst('VFIO_DEVICE_FLAGS_RESET', 1 << 0, 'the device supports VFIO_DEVICE_RESET', { since: kv(3, 6) }),
    cst('VFIO_DEVICE_FLAGS_PCI', 1 << 1, 'a vfio-pci device', { since: kv(3, 6) }),
    cst('VFIO_DEVICE_FLAGS_PLATFORM', 1 << 2, 'a vfio-platform device', { since: kv(4, 1) }),
    cst('VFIO_DEVICE_FLAGS_AMBA', 1 << 3, 'a vfio-amba device', { since: kv(4, 1) }),
    cst('VFIO_DEVICE_FLAGS_CCW', 1 << 4, 'a vfio-ccw (s390 channel I/O) device', { since: kv(4, 12) }),
    cst('VFIO_DEVICE_FLAGS_AP', 1 << 5, 'a vfio-ap (s390 crypto adjunct processor) device', { since: kv(4, 20) }),
    cst('VFIO_DEVICE_FLAGS_FSL_MC', 1 << 6, 'a vfio-fsl-mc (NXP management complex) device'),
    cst('VFIO_DEVICE_FLAGS_CAPS', 1 << 7, 'a capability chain follows, at cap_offset'),
    cst('VFIO_DEVICE_FLAGS_CDX', 1 << 8, 'a vfio-cdx (AMD CDX bus) device'),
]);

/** Constants of `vfio_region_info.flags`. */
export const vfio_region_info_flags = defineConstants('vfio_region_info.flags', 'flags', 'VFIO_REGION_INFO_FLAG_', [
    cst('VFIO_REGION_INFO_FLAG_READ', 1 << 0, 'the region can be read', { since: kv(3, 6) }),
    cst('VFIO_REGION_INFO_FLAG_WRITE', 1 << 1, 'the region can be written', { since: kv(3, 6) }),
    cst('VFIO_REGION_INFO_FLAG_MMAP', 1 << 2, 'the region can be mmapped', { since: kv(3, 6) }),
    cst('VFIO_REGION_INFO_FLAG_CAPS', 1 << 3, 'a capability chain follows, at cap_offset', { since: kv(4, 7) }),
]);

/** vfio-pci's fixed region indexes. */
export const vfio_pci_region_index = defineConstants('vfio_pci.region_index', 'enum', 'VFIO_PCI_', [
    cst('VFIO_PCI_BAR0_REGION_INDEX', 0, 'BAR 0', { since: kv(3, 6) }),
    cst('VFIO_PCI_BAR1_REGION_INDEX', 1, 'BAR 1', { since: kv(3, 6) }),
    cst('VFIO_PCI_BAR2_REGION_INDEX', 2, 'BAR 2', { since: kv(3, 6) }),
    cst('VFIO_PCI_BAR3_REGION_INDEX', 3, 'BAR 3', { since: kv(3, 6) }),
    cst('VFIO_PCI_BAR4_REGION_INDEX', 4, 'BAR 4', { since: kv(3, 6) }),
    cst('VFIO_PCI_BAR5_REGION_INDEX', 5, 'BAR 5', { since: kv(3, 6) }),
    cst('VFIO_PCI_ROM_REGION_INDEX', 6, 'expansion ROM', { since: kv(3, 6) }),
    cst('VFIO_PCI_CONFIG_REGION_INDEX', 7, 'PCI configuration space', { since: kv(3, 6) }),
    cst('VFIO_PCI_VGA_REGION_INDEX', 8, 'legacy VGA I/O ports and memory (display class devices)'),
]);

/** vfio-pci's fixed interrupt indexes. */
export const vfio_pci_irq_index = defineConstants('vfio_pci.irq_index', 'enum', 'VFIO_PCI_', [
    cst('VFIO_PCI_INTX_IRQ_INDEX', 0, 'legacy INTx', { since: kv(3, 6) }),
    cst('VFIO_PCI_MSI_IRQ_INDEX', 1, 'MSI', { since: kv(3, 6) }),
    cst('VFIO_PCI_MSIX_IRQ_INDEX', 2, 'MSI-X', { since: kv(3, 6) }),
    cst('VFIO_PCI_ERR_IRQ_INDEX', 3, 'AER error notification'),
    cst('VFIO_PCI_REQ_IRQ_INDEX', 4, 'device release request'),
]);

/** Constants of `vfio_irq_info.flags`. */
export const vfio_irq_info_flags = defineConstants('vfio_irq_info.flags', 'flags', 'VFIO_IRQ_INFO_', [
    cst('VFIO_IRQ_INFO_EVENTFD', 1 << 0, 'can signal an eventfd', { since: kv(3, 6) }),
    cst('VFIO_IRQ_INFO_MASKABLE', 1 << 1, 'supports MASK and UNMASK actions', { since: kv(3, 6) }),
    cst('VFIO_IRQ_INFO_AUTOMASKED', 1 << 2, 'masked by VFIO after each signal (level triggered)', { since: kv(3, 6) }),
    cst('VFIO_IRQ_INFO_NORESIZE', 1 << 3, 'vectors are set up as a set and cannot be added one by one', {
        since: kv(3, 6),
    }),
]);

/** Constants of `vfio_pci_hot_reset_info.flags`. */
export const vfio_pci_hot_reset_info_flags = defineConstants(
    'vfio_pci_hot_reset_info.flags',
    'flags',
    'VFIO_PCI_HOT_RESET_FLAG_',
    [
        cst('VFIO_PCI_HOT_RESET_FLAG_DEV_ID', 1 << 0, 'entries carry devids (cdev-opened device), not group ids', {
            since: kv(6, 5),
        }),
        cst('VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED', 1 << 1, 'every affected device is owned through the iommufd', {
            since: kv(6, 5),
        }),
    ],
);

/** Special `devid` values of a hot-reset dependent device. */
export const vfio_pci_devid = defineConstants('vfio_pci_dependent_device.devid', 'enum', 'VFIO_PCI_DEVID_', [
    cst('VFIO_PCI_DEVID_OWNED', 0, 'owned implicitly (same IOMMU group as an owned device)', { since: kv(6, 5) }),
    cst('VFIO_PCI_DEVID_NOT_OWNED', 0xffff_ffff, 'not owned by this iommufd (-1)', { since: kv(6, 5) }),
]);

const FEATURE_MASK = 0xffffn;

/** Constants of `vfio_device_feature.flags`. */
export const vfio_device_feature_flags = defineConstants('vfio_device_feature.flags', 'flags', 'VFIO_DEVICE_FEATURE_', [
    cst('VFIO_DEVICE_FEATURE_MASK', FEATURE_MASK, 'the low 16 bits select the feature', {
        since: kv(5, 7),
        isMask: true,
    }),
    cst('VFIO_DEVICE_FEATURE_GET', 1 << 16, 'read the feature into data[]', { since: kv(5, 7) }),
    cst('VFIO_DEVICE_FEATURE_SET', 1 << 17, 'write the feature from data[]', { since: kv(5, 7) }),
    cst('VFIO_DEVICE_FEATURE_PROBE', 1 << 18, 'only ask whether the feature (and GET/SET) is supported', {
        since: kv(5, 7),
    }),
    cst('VFIO_DEVICE_FEATURE_PCI_VF_TOKEN', 0, 'feature 0: the SR-IOV VF token (a UUID) of a PF', {
        since: kv(5, 7),
        fieldMask: FEATURE_MASK,
    }),
    cst('VFIO_DEVICE_FEATURE_MIGRATION', 1, 'feature 1: which migration states the device supports', {
        since: kv(5, 18),
        fieldMask: FEATURE_MASK,
    }),
    cst('VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE', 2, 'feature 2: the migration state machine', {
        since: kv(5, 18),
        fieldMask: FEATURE_MASK,
    }),
    cst('VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY', 3, 'feature 3: allow runtime low power', {
        since: kv(6, 0),
        fieldMask: FEATURE_MASK,
    }),
    cst('VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP', 4, 'feature 4: low power with a wake-up eventfd', {
        since: kv(6, 0),
        fieldMask: FEATURE_MASK,
    }),
    cst('VFIO_DEVICE_FEATURE_LOW_POWER_EXIT', 5, 'feature 5: disallow low power again', {
        since: kv(6, 0),
        fieldMask: FEATURE_MASK,
    }),
    cst('VFIO_DEVICE_FEATURE_DMA_LOGGING_START', 6, 'feature 6: start device-side DMA dirty logging', {
        fieldMask: FEATURE_MASK,
    }),
    cst('VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP', 7, 'feature 7: stop device-side DMA dirty logging', {
        fieldMask: FEATURE_MASK,
    }),
    cst('VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT', 8, 'feature 8: read and clear the device DMA log', {
        fieldMask: FEATURE_MASK,
    }),
    cst('VFIO_DEVICE_FEATURE_MIG_DATA_SIZE', 9, 'feature 9: estimated stop-copy data length', {
        fieldMask: FEATURE_MASK,
    }),
    cst('VFIO_DEVICE_FEATURE_BUS_MASTER', 10, 'feature 10: bus mastering control (CDX devices)', {
        fieldMask: FEATURE_MASK,
    }),
]);

/** Constants of `vfio_device_bind_iommufd.flags`. */
export const vfio_device_bind_iommufd_flags = defineConstants(
    'vfio_device_bind_iommufd.flags',
    'flags',
    'VFIO_DEVICE_BIND_FLAG_',
    [
        cst('VFIO_DEVICE_BIND_FLAG_TOKEN', 1 << 0, 'token_uuid_ptr points to the VF token (UUID)', { since: kv(6, 17) }),
    ],
);

/** Constants of `vfio_device_attach_iommufd_pt.flags`. */
export const vfio_device_attach_iommufd_pt_flags = defineConstants(
    'vfio_device_attach_iommufd_pt.flags',
    'flags',
    'VFIO_DEVICE_ATTACH_',
    [cst('VFIO_DEVICE_ATTACH_PASID', 1 << 0, 'attach the given pasid of the device, not its RID', { since: kv(6, 15) })],
);

/** Constants of `vfio_device_detach_iommufd_pt.flags`. */
export const vfio_device_detach_iommufd_pt_flags = defineConstants(
    'vfio_device_detach_iommufd_pt.flags',
    'flags',
    'VFIO_DEVICE_DETACH_',
    [cst('VFIO_DEVICE_DETACH_PASID', 1 << 0, 'detach the given pasid of the device, not its RID', { since: kv(6, 15) })],
);

/** Every VFIO constant set. */
export const VFIO_CONSTANT_SETS: readonly ConstantSet[] = [
    vfio_extension,
    vfio_group_status_flags,
    vfio_iommu_type1_info_flags,
    vfio_iommu_type1_info_cap,
    vfio_iommu_type1_dma_map_flags,
    vfio_iommu_type1_dma_unmap_flags,
    vfio_iommu_type1_dirty_bitmap_flags,
    vfio_device_info_flags,
    vfio_region_info_flags,
    vfio_pci_region_index,
    vfio_pci_irq_index,
    vfio_irq_info_flags,
    vfio_pci_hot_reset_info_flags,
    vfio_pci_devid,
    vfio_device_feature_flags,
    vfio_device_bind_iommufd_flags,
    vfio_device_attach_iommufd_pt_flags,
    vfio_device_detach_iommufd_pt_flags,
];

// ---------------------------------------------------------------------------------------------
// Structs

const ARGSZ_DOC = 'size of the struct as the caller passes it';

/** `struct vfio_group_status`, the argument of VFIO_GROUP_GET_STATUS. */
export const vfio_group_status: StructDef = defineStruct(
    'vfio_group_status',
    8,
    8,
    [
        fld('argsz', 'u32', 0, 'in', ARGSZ_DOC),
        fld('flags', 'u32', 4, 'out', 'VIABLE and CONTAINER_SET', { constants: vfio_group_status_flags.id }),
    ],
    'argsz',
);

/** `struct vfio_iova_range`, an entry of the IOVA_RANGE capability. */
export const vfio_iova_range: StructDef = defineStruct('vfio_iova_range', 16, 16, [
    fld('start', 'u64', 0, 'out', 'first IOVA of the range'),
    fld('end', 'u64', 8, 'out', 'last IOVA of the range (inclusive)'),
]);

/** `struct vfio_iommu_type1_info`, the argument of VFIO_IOMMU_GET_INFO. */
export const vfio_iommu_type1_info: StructDef = defineStruct(
    'vfio_iommu_type1_info',
    24,
    16,
    [
        fld('argsz', 'u32', 0, 'inout', 'size of the buffer; raised to the size the capabilities need', {}),
        fld('flags', 'u32', 4, 'out', 'PGSIZES, CAPS', { constants: vfio_iommu_type1_info_flags.id }),
        fld('iova_pgsizes', 'u64', 8, 'out', 'bitmap of the IOMMU page sizes (AND of every domain)'),
        fld('cap_offset', 'u32', 16, 'out', 'offset of the first capability; 0 if argsz was too small', {
            since: kv(5, 4),
        }),
        fld('pad', 'u32', 20, 'out', 'padding', { since: kv(5, 4) }),
        pseudo('nr_iovas', 'u32', 'out', 'number of IOVA ranges (capability chain)', {
            cap: { id: 1, name: 'VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE' },
            since: kv(5, 4),
        }),
        pseudo('iova_ranges', 'u64', 'out', 'usable IOVA ranges {start, end} (capability chain)', {
            cap: { id: 1, name: 'VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE' },
            array: { elem: vfio_iova_range, countField: 'nr_iovas' },
            since: kv(5, 4),
        }),
        pseudo('dma_avail', 'u32', 'out', 'DMA mappings still allowed (capability chain)', {
            cap: { id: 3, name: 'VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL' },
            since: kv(5, 10),
        }),
    ],
    'argsz',
);

/** `struct vfio_iommu_type1_dma_map`, the argument of VFIO_IOMMU_MAP_DMA. */
export const vfio_iommu_type1_dma_map: StructDef = defineStruct(
    'vfio_iommu_type1_dma_map',
    32,
    32,
    [
        fld('argsz', 'u32', 0, 'in', ARGSZ_DOC),
        fld('flags', 'u32', 4, 'in', 'READ, WRITE, VADDR', { constants: vfio_iommu_type1_dma_map_flags.id }),
        fld('vaddr', 'u64', 8, 'in', 'process virtual address of the memory'),
        fld('iova', 'u64', 16, 'in', 'IO virtual address to map it at'),
        fld('size', 'u64', 24, 'in', 'bytes to map'),
    ],
    'argsz',
);

const VFIO_BITMAP_DOC = 'of the struct vfio_bitmap in data[] (with GET_DIRTY_BITMAP)';

/** `struct vfio_iommu_type1_dma_unmap`, the argument of VFIO_IOMMU_UNMAP_DMA. */
export const vfio_iommu_type1_dma_unmap: StructDef = defineStruct(
    'vfio_iommu_type1_dma_unmap',
    24,
    24,
    [
        fld('argsz', 'u32', 0, 'in', ARGSZ_DOC),
        fld('flags', 'u32', 4, 'in', 'GET_DIRTY_BITMAP, ALL, VADDR', { constants: vfio_iommu_type1_dma_unmap_flags.id }),
        fld('iova', 'u64', 8, 'in', 'IO virtual address to start unmapping at'),
        fld('size', 'u64', 16, 'inout', 'bytes to unmap; returns the bytes actually unmapped'),
        fld('bitmap.pgsize', 'u64', 24, 'in', `page size one bit stands for, ${VFIO_BITMAP_DOC}`, {
            flexible: true,
            since: kv(5, 8),
        }),
        fld('bitmap.size', 'u64', 32, 'in', `bitmap size in bytes, ${VFIO_BITMAP_DOC}`, {
            flexible: true,
            since: kv(5, 8),
        }),
        fld('bitmap.data', 'ptr', 40, 'in', `user pointer to the bitmap, ${VFIO_BITMAP_DOC}`, {
            flexible: true,
            since: kv(5, 8),
        }),
    ],
    'argsz',
);

const DIRTY_GET_DOC = 'of the struct vfio_iommu_type1_dirty_bitmap_get in data[] (with GET_BITMAP)';

/** `struct vfio_iommu_type1_dirty_bitmap`, the argument of VFIO_IOMMU_DIRTY_PAGES. */
export const vfio_iommu_type1_dirty_bitmap: StructDef = defineStruct(
    'vfio_iommu_type1_dirty_bitmap',
    8,
    8,
    [
        fld('argsz', 'u32', 0, 'in', ARGSZ_DOC),
        fld('flags', 'u32', 4, 'in', 'exactly one of START, STOP, GET_BITMAP', {
            constants: vfio_iommu_type1_dirty_bitmap_flags.id,
        }),
        fld('iova', 'u64', 8, 'in', `first IOVA, ${DIRTY_GET_DOC}`, { flexible: true }),
        fld('size', 'u64', 16, 'in', `length of the IOVA range, ${DIRTY_GET_DOC}`, { flexible: true }),
        fld('bitmap.pgsize', 'u64', 24, 'in', `page size one bit stands for, ${DIRTY_GET_DOC}`, { flexible: true }),
        fld('bitmap.size', 'u64', 32, 'in', `bitmap size in bytes, ${DIRTY_GET_DOC}`, { flexible: true }),
        fld('bitmap.data', 'ptr', 40, 'in', `user pointer to the bitmap, ${DIRTY_GET_DOC}`, { flexible: true }),
        pseudo('dirty_pages', 'u64', 'out', 'bits the kernel set in the bitmap (GET_BITMAP): the pages it reports dirty'),
    ],
    'argsz',
);

/** `struct vfio_device_info`, the argument of VFIO_DEVICE_GET_INFO. */
export const vfio_device_info: StructDef = defineStruct(
    'vfio_device_info',
    24,
    16,
    [
        fld('argsz', 'u32', 0, 'inout', 'size of the buffer; raised to the size the capabilities need'),
        fld('flags', 'u32', 4, 'out', 'RESET, PCI, PLATFORM, ..., CAPS', { constants: vfio_device_info_flags.id }),
        fld('num_regions', 'u32', 8, 'out', 'highest region index + 1'),
        fld('num_irqs', 'u32', 12, 'out', 'highest interrupt index + 1'),
        fld('cap_offset', 'u32', 16, 'out', 'offset of the first capability'),
        fld('pad', 'u32', 20, 'out', 'padding'),
    ],
    'argsz',
);

/** `struct vfio_region_info`, the argument of VFIO_DEVICE_GET_REGION_INFO. */
export const vfio_region_info: StructDef = defineStruct(
    'vfio_region_info',
    32,
    32,
    [
        fld('argsz', 'u32', 0, 'inout', 'size of the buffer; raised to the size the capabilities need'),
        fld('flags', 'u32', 4, 'out', 'READ, WRITE, MMAP, CAPS', { constants: vfio_region_info_flags.id }),
        fld('index', 'u32', 8, 'in', 'region index (vfio-pci: BAR0..5, ROM, CONFIG, VGA)', {
            constants: vfio_pci_region_index.id,
        }),
        fld('cap_offset', 'u32', 12, 'out', 'offset of the first capability (was resv before 4.7)'),
        fld('size', 'u64', 16, 'out', 'region size in bytes (0: not implemented)'),
        fld('offset', 'u64', 24, 'out', 'offset of the region in the device fd (for read/write/mmap)'),
    ],
    'argsz',
);

/** `struct vfio_irq_info`, the argument of VFIO_DEVICE_GET_IRQ_INFO. */
export const vfio_irq_info: StructDef = defineStruct(
    'vfio_irq_info',
    16,
    16,
    [
        fld('argsz', 'u32', 0, 'in', ARGSZ_DOC),
        fld('flags', 'u32', 4, 'out', 'EVENTFD, MASKABLE, AUTOMASKED, NORESIZE', { constants: vfio_irq_info_flags.id }),
        fld('index', 'u32', 8, 'in', 'interrupt index (vfio-pci: INTX, MSI, MSIX, ERR, REQ)', {
            constants: vfio_pci_irq_index.id,
        }),
        fld('count', 'u32', 12, 'out', 'number of interrupts of this index (0: not implemented)'),
    ],
    'argsz',
);

/** `struct vfio_pci_dependent_device`, an entry of VFIO_DEVICE_GET_PCI_HOT_RESET_INFO. */
export const vfio_pci_dependent_device: StructDef = defineStruct('vfio_pci_dependent_device', 8, 8, [
    fld('group_id', 'u32', 0, 'out', 'IOMMU group id of the affected device (group-opened caller)'),
    fld('devid', 'u32', 0, 'out', 'iommufd devid of the affected device (cdev-opened caller; union with group_id)', {
        constants: vfio_pci_devid.id,
        since: kv(6, 5),
    }),
    fld('segment', 'u16', 4, 'out', 'PCI segment'),
    fld('bus', 'u8', 6, 'out', 'PCI bus'),
    fld('devfn', 'u8', 7, 'out', 'PCI device and function'),
]);

/** `struct vfio_pci_hot_reset_info`, the argument of VFIO_DEVICE_GET_PCI_HOT_RESET_INFO. */
export const vfio_pci_hot_reset_info: StructDef = defineStruct(
    'vfio_pci_hot_reset_info',
    12,
    12,
    [
        fld('argsz', 'u32', 0, 'in', 'size of the struct plus room for devices[]'),
        fld('flags', 'u32', 4, 'out', 'DEV_ID, DEV_ID_OWNED', { constants: vfio_pci_hot_reset_info_flags.id }),
        fld('count', 'u32', 8, 'out', 'number of devices a hot reset would affect (also with ENOSPC)'),
        fld('devices', 'u32', 12, 'out', 'the affected devices', {
            array: { elem: vfio_pci_dependent_device, countField: 'count', flexible: true },
        }),
    ],
    'argsz',
);

/** A `__s32` element of `group_fds[]`. */
const vfio_group_fd: StructDef = defineStruct('__s32', 4, 4, [fld('fd', 's32', 0, 'in', 'an open VFIO group fd')]);

/** `struct vfio_pci_hot_reset`, the argument of VFIO_DEVICE_PCI_HOT_RESET. */
export const vfio_pci_hot_reset: StructDef = defineStruct(
    'vfio_pci_hot_reset',
    12,
    12,
    [
        fld('argsz', 'u32', 0, 'in', 'size of the struct plus group_fds[]'),
        fld('flags', 'u32', 4, 'in', 'must be 0'),
        fld('count', 'u32', 8, 'in', 'number of group fds (0 for a cdev-opened device)'),
        fld('group_fds', 's32', 12, 'in', 'group fds proving ownership of every affected device', {
            array: { elem: vfio_group_fd, countField: 'count', flexible: true, scalar: true },
        }),
    ],
    'argsz',
);

/** `struct vfio_device_feature`, the argument of VFIO_DEVICE_FEATURE. */
export const vfio_device_feature: StructDef = defineStruct(
    'vfio_device_feature',
    8,
    8,
    [
        fld('argsz', 'u32', 0, 'in', 'size of the struct plus the feature data[]'),
        fld('flags', 'u32', 4, 'in', 'feature index (low 16 bits) | GET, SET or PROBE', {
            constants: vfio_device_feature_flags.id,
        }),
    ],
    'argsz',
);

/** `struct vfio_device_bind_iommufd`, the argument of VFIO_DEVICE_BIND_IOMMUFD. */
export const vfio_device_bind_iommufd: StructDef = defineStruct(
    'vfio_device_bind_iommufd',
    24,
    16,
    [
        fld('argsz', 'u32', 0, 'in', ARGSZ_DOC),
        fld('flags', 'u32', 4, 'in', '0, or TOKEN', { constants: vfio_device_bind_iommufd_flags.id }),
        fld('iommufd', 's32', 8, 'in', 'the iommufd to bind to'),
        fld('out_devid', 'u32', 12, 'out', 'id of the new iommufd DEVICE object'),
        fld('token_uuid_ptr', 'ptr', 16, 'in', 'user pointer to the 16-byte VF token, with TOKEN', { since: kv(6, 17) }),
    ],
    'argsz',
);

/** `struct vfio_device_attach_iommufd_pt`, the argument of VFIO_DEVICE_ATTACH_IOMMUFD_PT. */
export const vfio_device_attach_iommufd_pt: StructDef = defineStruct(
    'vfio_device_attach_iommufd_pt',
    16,
    12,
    [
        fld('argsz', 'u32', 0, 'in', ARGSZ_DOC + ' (16 with PASID)'),
        fld('flags', 'u32', 4, 'in', '0, or PASID', { constants: vfio_device_attach_iommufd_pt_flags.id }),
        fld('pt_id', 'u32', 8, 'inout', 'IOAS or HWPT id; returns the HWPT actually attached'),
        fld('pasid', 'u32', 12, 'in', 'the pasid to attach, with PASID', { since: kv(6, 15) }),
    ],
    'argsz',
);

/** `struct vfio_device_detach_iommufd_pt`, the argument of VFIO_DEVICE_DETACH_IOMMUFD_PT. */
export const vfio_device_detach_iommufd_pt: StructDef = defineStruct(
    'vfio_device_detach_iommufd_pt',
    12,
    8,
    [
        fld('argsz', 'u32', 0, 'in', ARGSZ_DOC + ' (12 with PASID)'),
        fld('flags', 'u32', 4, 'in', '0, or PASID', { constants: vfio_device_detach_iommufd_pt_flags.id }),
        fld('pasid', 'u32', 8, 'in', 'the pasid to detach, with PASID', { since: kv(6, 15) }),
    ],
    'argsz',
);

/** Every VFIO struct, for tests and tools. */
export const VFIO_STRUCTS: readonly StructDef[] = [
    vfio_group_status,
    vfio_iova_range,
    vfio_iommu_type1_info,
    vfio_iommu_type1_dma_map,
    vfio_iommu_type1_dma_unmap,
    vfio_iommu_type1_dirty_bitmap,
    vfio_device_info,
    vfio_region_info,
    vfio_irq_info,
    vfio_pci_dependent_device,
    vfio_pci_hot_reset_info,
    vfio_pci_hot_reset,
    vfio_device_feature,
    vfio_device_bind_iommufd,
    vfio_device_attach_iommufd_pt,
    vfio_device_detach_iommufd_pt,
];

// ---------------------------------------------------------------------------------------------
// ioctls

/*
 * The legacy container ioctls are also served by an iommufd (`/dev/iommu`, or the iommufd that
 * provides `/dev/vfio/vfio`): `drivers/iommu/iommufd/vfio_compat.c:iommufd_vfio_ioctl`.
 */
const CONTAINER_OR_IOMMUFD = ['vfio-container', 'iommufd'] as const;

/** The container, group, device and type1 ioctls. */
export const VFIO_IOCTLS: readonly IoctlDef[] = [
    {
        name: 'VFIO_GET_API_VERSION',
        cmd: vfioCmd(0),
        fileKinds: CONTAINER_OR_IOMMUFD,
        since: kv(3, 6),
        arg: { kind: 'none' },
        main: 'ret',
        retName: 'value',
        doc: 'Returns the VFIO API version, always VFIO_API_VERSION (0).',
        source: 'drivers/vfio/container.c:vfio_fops_unl_ioctl',
    },
    {
        name: 'VFIO_CHECK_EXTENSION',
        cmd: vfioCmd(1),
        fileKinds: CONTAINER_OR_IOMMUFD,
        since: kv(3, 6),
        arg: { kind: 'int', constants: vfio_extension.id, doc: 'the extension or IOMMU type to ask about' },
        main: 'ret',
        retName: 'value',
        doc: 'Asks whether an extension or IOMMU type is supported: 0 no, positive yes.',
        source: 'drivers/vfio/container.c:vfio_container_ioctl_check_extension',
    },
    {
        name: 'VFIO_SET_IOMMU',
        cmd: vfioCmd(2),
        fileKinds: CONTAINER_OR_IOMMUFD,
        since: kv(3, 6),
        arg: { kind: 'int', constants: vfio_extension.id, doc: 'the IOMMU type (TYPE1v2_IOMMU, ...)' },
        doc: 'Selects the IOMMU backend of the container; needs at least one group attached.',
        source: 'drivers/vfio/container.c:vfio_ioctl_set_iommu',
    },
    {
        name: 'VFIO_GROUP_GET_STATUS',
        cmd: vfioCmd(3),
        fileKinds: ['vfio-group'],
        since: kv(3, 6),
        arg: { kind: 'struct', struct: vfio_group_status },
        main: 'flags',
        doc: 'Reports whether the group is viable and whether it has a container.',
        source: 'drivers/vfio/group.c:vfio_group_ioctl_get_status',
    },
    {
        name: 'VFIO_GROUP_SET_CONTAINER',
        cmd: vfioCmd(4),
        fileKinds: ['vfio-group'],
        since: kv(3, 6),
        arg: { kind: 'int-ptr', doc: 'the container (or iommufd) fd to attach the group to' },
        doc: 'Attaches the group to a container or an iommufd.',
        source: 'drivers/vfio/group.c:vfio_group_ioctl_set_container',
    },
    {
        name: 'VFIO_GROUP_UNSET_CONTAINER',
        cmd: vfioCmd(5),
        fileKinds: ['vfio-group'],
        since: kv(3, 6),
        arg: { kind: 'none' },
        doc: 'Detaches the group from its container; its device fds must be closed first.',
        source: 'drivers/vfio/group.c:vfio_group_ioctl_unset_container',
    },
    {
        name: 'VFIO_GROUP_GET_DEVICE_FD',
        cmd: vfioCmd(6),
        fileKinds: ['vfio-group'],
        since: kv(3, 6),
        arg: { kind: 'string', doc: 'the device name (PCI address), optionally followed by " vf_token=<uuid>"' },
        main: 'ret',
        retName: 'fd',
        doc: 'Opens a device of the group and returns a new device fd.',
        source: 'drivers/vfio/group.c:vfio_group_ioctl_get_device_fd',
    },
    {
        name: 'VFIO_DEVICE_GET_INFO',
        cmd: vfioCmd(7),
        fileKinds: ['vfio-device'],
        since: kv(3, 6),
        arg: { kind: 'struct', struct: vfio_device_info },
        main: 'flags',
        doc: 'Describes the device: its kind, number of regions and of interrupt indexes.',
        source: 'drivers/vfio/pci/vfio_pci_core.c:vfio_pci_ioctl_get_info',
    },
    {
        name: 'VFIO_DEVICE_GET_REGION_INFO',
        cmd: vfioCmd(8),
        fileKinds: ['vfio-device'],
        since: kv(3, 6),
        arg: { kind: 'struct', struct: vfio_region_info },
        main: 'size',
        positionalField: 'index',
        doc: 'Describes one region of the device (size, offset in the fd, access flags).',
        source: 'drivers/vfio/pci/vfio_pci_core.c:vfio_pci_ioctl_get_region_info',
    },
    {
        name: 'VFIO_DEVICE_GET_IRQ_INFO',
        cmd: vfioCmd(9),
        fileKinds: ['vfio-device'],
        since: kv(3, 6),
        arg: { kind: 'struct', struct: vfio_irq_info },
        main: 'count',
        positionalField: 'index',
        doc: 'Describes one interrupt index of the device (how many vectors, how they signal).',
        source: 'drivers/vfio/pci/vfio_pci_core.c:vfio_pci_ioctl_get_irq_info',
    },
    {
        name: 'VFIO_DEVICE_RESET',
        cmd: vfioCmd(11),
        fileKinds: ['vfio-device'],
        since: kv(3, 6),
        arg: { kind: 'none' },
        doc: 'Resets the device (function-level reset or what the device supports).',
        source: 'drivers/vfio/pci/vfio_pci_core.c:vfio_pci_ioctl_reset',
    },
    {
        name: 'VFIO_DEVICE_GET_PCI_HOT_RESET_INFO',
        cmd: vfioCmd(12),
        fileKinds: ['vfio-device'],
        since: kv(3, 12),
        arg: { kind: 'struct', struct: vfio_pci_hot_reset_info },
        main: 'count',
        doc: 'Lists the devices a bus or slot reset of this device would also reset.',
        source: 'drivers/vfio/pci/vfio_pci_core.c:vfio_pci_ioctl_get_pci_hot_reset_info',
    },
    {
        name: 'VFIO_DEVICE_PCI_HOT_RESET',
        cmd: vfioCmd(13),
        fileKinds: ['vfio-device'],
        since: kv(3, 12),
        arg: { kind: 'struct', struct: vfio_pci_hot_reset },
        doc: 'Resets the bus or slot, given proof of ownership of every affected device.',
        source: 'drivers/vfio/pci/vfio_pci_core.c:vfio_pci_ioctl_pci_hot_reset',
    },
    {
        name: 'VFIO_DEVICE_FEATURE',
        cmd: vfioCmd(17),
        fileKinds: ['vfio-device'],
        since: kv(5, 7),
        arg: { kind: 'struct', struct: vfio_device_feature },
        positionalField: 'flags',
        doc: 'Gets, sets or probes a device feature selected by the low 16 bits of flags.',
        source: 'drivers/vfio/vfio_main.c:vfio_ioctl_device_feature',
    },
    {
        name: 'VFIO_DEVICE_BIND_IOMMUFD',
        cmd: vfioCmd(18),
        fileKinds: ['vfio-device'],
        since: kv(6, 6),
        arg: { kind: 'struct', struct: vfio_device_bind_iommufd },
        main: 'out_devid',
        positionalField: 'iommufd',
        doc: 'Binds a cdev-opened device to an iommufd; the device then sits in a blocking domain.',
        source: 'drivers/vfio/device_cdev.c:vfio_df_ioctl_bind_iommufd',
    },
    {
        name: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT',
        cmd: vfioCmd(19),
        fileKinds: ['vfio-device'],
        since: kv(6, 6),
        arg: { kind: 'struct', struct: vfio_device_attach_iommufd_pt },
        main: 'pt_id',
        positionalField: 'pt_id',
        doc: 'Attaches (or replaces) the device or one of its pasids to an IOAS or HWPT.',
        source: 'drivers/vfio/device_cdev.c:vfio_df_ioctl_attach_pt',
    },
    {
        name: 'VFIO_DEVICE_DETACH_IOMMUFD_PT',
        cmd: vfioCmd(20),
        fileKinds: ['vfio-device'],
        since: kv(6, 6),
        arg: { kind: 'struct', struct: vfio_device_detach_iommufd_pt },
        doc: 'Detaches the device or one of its pasids; it goes back to the blocking domain.',
        source: 'drivers/vfio/device_cdev.c:vfio_df_ioctl_detach_pt',
    },
    {
        name: 'VFIO_IOMMU_GET_INFO',
        cmd: vfioCmd(12),
        fileKinds: CONTAINER_OR_IOMMUFD,
        since: kv(3, 6),
        arg: { kind: 'struct', struct: vfio_iommu_type1_info },
        main: 'iova_pgsizes',
        doc: 'Reports the IOMMU page sizes and, in the capability chain, IOVA ranges and DMA_AVAIL.',
        source: 'drivers/vfio/vfio_iommu_type1.c:vfio_iommu_type1_get_info',
    },
    {
        name: 'VFIO_IOMMU_MAP_DMA',
        cmd: vfioCmd(13),
        fileKinds: CONTAINER_OR_IOMMUFD,
        since: kv(3, 6),
        arg: { kind: 'struct', struct: vfio_iommu_type1_dma_map },
        doc: 'Maps process memory at an IOVA in every domain of the container, pinning it.',
        source: 'drivers/vfio/vfio_iommu_type1.c:vfio_iommu_type1_map_dma',
    },
    {
        name: 'VFIO_IOMMU_UNMAP_DMA',
        cmd: vfioCmd(14),
        fileKinds: CONTAINER_OR_IOMMUFD,
        since: kv(3, 6),
        arg: { kind: 'struct', struct: vfio_iommu_type1_dma_unmap },
        main: 'size',
        doc: 'Unmaps an IOVA range and returns how many bytes were unmapped.',
        source: 'drivers/vfio/vfio_iommu_type1.c:vfio_iommu_type1_unmap_dma',
    },
    {
        name: 'VFIO_IOMMU_DIRTY_PAGES',
        cmd: vfioCmd(17),
        fileKinds: ['vfio-container'],
        since: kv(5, 8),
        arg: { kind: 'struct', struct: vfio_iommu_type1_dirty_bitmap },
        positionalField: 'flags',
        doc: 'Starts or stops dirty page logging, or reads the dirty bitmap of an IOVA range (type1 v2 only).',
        source: 'drivers/vfio/vfio_iommu_type1.c:vfio_iommu_type1_dirty_pages',
    },
];
