/**
 * iommufd state (`drivers/iommu/iommufd/`): a context per open `/dev/iommu` (or iommufd-backed
 * `/dev/vfio/vfio`) with its objects in an id-indexed table, as `ictx->objects` (an xarray).
 *
 * Reference counts between objects (`iommufd_object.users`) are not stored: who holds an object
 * is derived from the objects that point at it (`engine/iommufd/object.ts:objectHolders`), so a
 * destroy can name what still uses the object.
 */

import type { IntervalMap } from '../interval-map.js';
import type { Vma } from '../state.js';

export type IommufdObjectType =
    | 'ioas'
    | 'hwpt_paging'
    | 'hwpt_nested'
    | 'device'
    | 'access'
    | 'fault'
    | 'viommu'
    | 'vdevice'
    | 'veventq'
    | 'hw_queue';

/** An area of an io_pagetable (`struct iopt_area`): one MAP/MAP_FILE/COPY (or a compat split of one). */
export interface IoptArea {
    readonly iova: bigint;
    readonly length: bigint;
    /** The `iopt_pages` (ctx-local id) it takes a slice of; shared by COPY. */
    readonly pages: number;
    /** Byte offset of the area's first byte from the pages' page-aligned start (`start_byte`). */
    readonly startByte: bigint;
    /** `iommu_prot` IOMMU_READ / IOMMU_WRITE. */
    readonly read: boolean;
    readonly write: boolean;
}

/** A run of pinned page indexes of an `iopt_pages`, and the address space it was pinned from. */
export interface PinnedRun {
    readonly first: bigint;
    readonly last: bigint;
    /**
     * The process's VMAs when the run was pinned (user pages): pinned pages stay where they
     * were even if the process later unmaps or remaps the range.
     */
    readonly vmas?: IntervalMap<Vma>;
}

/** `struct iopt_pages`: user or file memory behind areas, pinned and accounted once however many domains map it. */
export interface IoptPages {
    readonly id: number;
    /** IOPT_ADDRESS_USER (`uptr`, page aligned) or IOPT_ADDRESS_FILE (`file` + page-aligned `start`). */
    readonly source:
        | { readonly kind: 'user'; readonly uptr: bigint }
        | { readonly kind: 'file'; readonly file: number; readonly start: bigint };
    /** Bytes covered from the page-aligned start (`npages * PAGE_SIZE` rounded). */
    readonly npages: bigint;
    readonly writable: boolean;
    /** `source_mm`/`source_task` (a process name) and `source_user` (a uid). */
    process: string;
    uid: number;
    /** `account_mode`: NONE when the mapper had CAP_IPC_LOCK. */
    readonly accountMode: 'none' | 'user' | 'mm';
    /** Pinned page-index runs, ascending and disjoint; `npinned` is their total. */
    pinned: PinnedRun[];
}

/** A reserved IOVA range (`struct iopt_reserved`); ranges of different owners may overlap. */
export interface IoptReserved {
    readonly start: bigint;
    readonly last: bigint;
    /** `dev:<name>` for a device's reserved region, `domain:<id>` for an aperture complement. */
    readonly owner: string;
    /** In words, for reasons: "MSI window of nvme0", "outside domain 5's aperture". */
    readonly what: string;
}

/** `struct io_pagetable`. */
export interface IoPagetableState {
    areas: IntervalMap<IoptArea>;
    reserved: readonly IoptReserved[];
    allowed: IntervalMap<true>;
    /** IOMMU domains filled from this IOAS (`iopt->domains`). */
    domains: number[];
    /** ACCESS objects using this IOAS (`iopt->access_list`). */
    accesses: number[];
    iova_alignment: bigint;
    /** IOMMU_OPTION_HUGE_PAGES = 0 (`disable_large_pages`). */
    disableLargePages: boolean;
}

export interface IommufdObjectBase {
    readonly id: number;
    readonly type: IommufdObjectType;
}

/** `struct iommufd_ioas`. */
export interface IommufdIoas extends IommufdObjectBase {
    readonly type: 'ioas';
    iopt: IoPagetableState;
    /** HWPT_PAGING objects on it, in creation order (`ioas->hwpt_list`). */
    hwpts: number[];
}

/** `struct iommufd_hwpt_paging`. */
export interface IommufdHwptPaging extends IommufdObjectBase {
    readonly type: 'hwpt_paging';
    readonly ioas: number;
    readonly domain: number;
    /** Created by attaching a device to an IOAS: destroyed with its last device. */
    auto: boolean;
    readonly nestParent: boolean;
    /** Allocated with IOMMU_HWPT_ALLOC_PASID (`hwpt->pasid_compat`). */
    readonly pasidCompat: boolean;
    /** `hwpt_paging->enforce_cache_coherency`. */
    readonly enforceCacheCoherency: boolean;
    fault?: number;
}

/** `struct iommufd_hwpt_nested`. */
export interface IommufdHwptNested extends IommufdObjectBase {
    readonly type: 'hwpt_nested';
    /** The HWPT_PAGING giving stage 2 (the vIOMMU's parent when allocated on a vIOMMU). */
    readonly parent: number;
    readonly viommu?: number;
    readonly domain: number;
    readonly pasidCompat: boolean;
    fault?: number;
}

/** `struct iommufd_device`. */
export interface IommufdDevice extends IommufdObjectBase {
    readonly type: 'device';
    readonly device: string;
    /** The IOMMU group (`idev->igroup`); for a PASID slice, its parent's group. */
    readonly group: number;
    /** The device whose requester ID its DMA carries: itself, or a slice's parent. */
    readonly rid: string;
    /** A PASID slice: no requester ID of its own, did not claim the group's DMA ownership. */
    readonly slice: boolean;
    readonly enforceCacheCoherency: boolean;
    /** Its vDEVICE, if one was allocated (`idev->vdev`). */
    vdevice?: number;
}

/** `struct iommufd_access` (an emulated VFIO device's view of an IOAS). */
export interface IommufdAccess extends IommufdObjectBase {
    readonly type: 'access';
    readonly device: string;
    ioas?: number;
    /** PAGE_SIZE for drivers that pin pages (VFIO's `vfio_user_ops.needs_pin_pages`). */
    readonly iovaAlignment: bigint;
}

/** `struct iommufd_fault`. */
export interface IommufdFault extends IommufdObjectBase {
    readonly type: 'fault';
    readonly file: number;
    fileOpen: boolean;
}

/** `struct iommufd_viommu`. */
export interface IommufdViommu extends IommufdObjectBase {
    readonly type: 'viommu';
    readonly viommuType: number;
    readonly hwpt: number;
    readonly iommu: string;
}

/** `struct iommufd_vdevice`. */
export interface IommufdVdevice extends IommufdObjectBase {
    readonly type: 'vdevice';
    readonly viommu: number;
    readonly idev: number;
    readonly virtId: bigint;
}

/** `struct iommufd_veventq`. */
export interface IommufdVeventq extends IommufdObjectBase {
    readonly type: 'veventq';
    readonly viommu: number;
    readonly eventType: number;
    readonly depth: number;
    readonly file: number;
    fileOpen: boolean;
}

/** `struct iommufd_hw_queue` (only the Tegra241 CMDQV driver creates them). */
export interface IommufdHwQueue extends IommufdObjectBase {
    readonly type: 'hw_queue';
    readonly viommu: number;
}

export type IommufdObject =
    | IommufdIoas
    | IommufdHwptPaging
    | IommufdHwptNested
    | IommufdDevice
    | IommufdAccess
    | IommufdFault
    | IommufdViommu
    | IommufdVdevice
    | IommufdVeventq
    | IommufdHwQueue;

/** `struct iommufd_attach`: what one group (in one ctx) has attached on one PASID. */
export interface IommufdAttach {
    hwpt: number;
    /** DEVICE ids attached, in attach order (`device_array`). */
    devices: number[];
}

/** `struct iommufd_group`: the ctx's view of one IOMMU group. */
export interface IommufdGroup {
    readonly group: number;
    /** pasid → attachment (`igroup->pasid_attach`); IOMMU_NO_PASID (0) is the RID. */
    attach: Map<number, IommufdAttach>;
}

/** `struct iommufd_ctx`. */
export interface IommufdCtx {
    readonly id: number;
    /** The file of `/dev/iommu` (or the compat `/dev/vfio/vfio`). */
    readonly file: number;
    objects: Map<number, IommufdObject>;
    /** Ids of force-destroyed vDEVICEs: not reusable, and DESTROY says ENOENT, until the ctx goes. */
    tombstones: Set<number>;
    pages: Map<number, IoptPages>;
    nextPages: number;
    groups: Map<number, IommufdGroup>;
    /** The VFIO compat IOAS (`ictx->vfio_ioas`). */
    vfioIoas?: number;
    /** A NO_IOMMU VFIO group was set on it (`ictx->no_iommu_mode`). */
    noIommuMode: boolean;
    /** Pinning accounting mode (IOMMU_OPTION_RLIMIT_MODE). */
    accountMode: 'user' | 'mm';
    /** Opened as the iommufd-provided `/dev/vfio/vfio`. */
    readonly vfioContainer: boolean;
    /** The process that opened it. */
    readonly process: string;
}
