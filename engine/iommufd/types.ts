/**
 * iommufd state (`drivers/iommu/iommufd/`): a context per open `/dev/iommu` (or iommufd-backed
 * `/dev/vfio/vfio`) with its objects in an id-indexed table, as `ictx->objects` (an xarray).
 */

import type { IntervalMap } from '../interval-map.js';

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

/** An area of an io_pagetable: one MAP/MAP_FILE/COPY, pointing at shared pinned pages. */
export interface IoptArea {
    readonly iova: bigint;
    readonly length: bigint;
    /** The `iopt_pages` it uses (shared by COPY). */
    readonly pages: number;
    /** Offset of the area's first byte into its pages. */
    readonly pageOffset: bigint;
    readonly read: boolean;
    readonly write: boolean;
    /** ACCESS objects that pinned part of it. */
    readonly accessPins: number;
}

/** `struct iopt_pages`: user or file memory behind areas, pinned once and accounted once. */
export interface IoptPages {
    readonly id: number;
    readonly source: { readonly kind: 'user'; readonly process: string; readonly uva: bigint } | { readonly kind: 'memfd'; readonly memfd: number; readonly start: bigint };
    readonly length: bigint;
    readonly writable: boolean;
    /** Pages pinned (0 while no domain or access needs them: lazy pinning). */
    readonly pinned: bigint;
    /** Who is charged: the process (MM mode) or the uid (USER mode). */
    readonly accountedTo?: { readonly process: string; readonly uid: number; readonly mode: 'user' | 'mm' };
    users: number;
}

export interface ReservedRange {
    /** What reserved it: a device's reserved region, a domain's aperture, an access. */
    readonly owner: string;
    readonly kind: 'resv-region' | 'aperture' | 'other';
}

export interface IoPagetableState {
    areas: IntervalMap<IoptArea>;
    reserved: IntervalMap<ReservedRange>;
    allowed: IntervalMap<true>;
    /** HWPT_PAGING objects whose domains are filled from this IOAS. */
    hwpts: number[];
    /** ACCESS objects using this IOAS. */
    accesses: number[];
    iova_alignment: bigint;
    /** IOMMU_OPTION_HUGE_PAGES. */
    hugePages: boolean;
}

export interface IommufdObjectBase {
    readonly id: number;
    readonly type: IommufdObjectType;
    /** `users` refcount beyond the xarray's own. */
    users: number;
}

export interface IommufdIoas extends IommufdObjectBase {
    readonly type: 'ioas';
    iopt: IoPagetableState;
}

export interface IommufdHwptPaging extends IommufdObjectBase {
    readonly type: 'hwpt_paging';
    readonly ioas: number;
    readonly domain: number;
    /** Created by attaching to an IOAS (destroyed with its last device). */
    readonly auto: boolean;
    readonly nestParent: boolean;
    readonly pasidCapable: boolean;
    readonly fault?: number;
}

export interface IommufdHwptNested extends IommufdObjectBase {
    readonly type: 'hwpt_nested';
    /** Parent HWPT_PAGING or VIOMMU id. */
    readonly parent: number;
    readonly domain: number;
    readonly pasidCapable: boolean;
    readonly fault?: number;
}

export interface IommufdDevice extends IommufdObjectBase {
    readonly type: 'device';
    readonly device: string;
    readonly group: number;
    readonly enforceCacheCoherency: boolean;
}

export interface IommufdAccess extends IommufdObjectBase {
    readonly type: 'access';
    readonly device: string;
    ioas?: number;
}

export interface IommufdFault extends IommufdObjectBase {
    readonly type: 'fault';
    readonly file: number;
    fileOpen: boolean;
}

export interface IommufdViommu extends IommufdObjectBase {
    readonly type: 'viommu';
    readonly viommuType: number;
    readonly hwpt: number;
    readonly iommu: string;
}

export interface IommufdVdevice extends IommufdObjectBase {
    readonly type: 'vdevice';
    readonly viommu: number;
    readonly idev: number;
    readonly virtId: bigint;
}

export interface IommufdVeventq extends IommufdObjectBase {
    readonly type: 'veventq';
    readonly viommu: number;
    readonly file: number;
}

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

/** `struct iommufd_ctx`. */
export interface IommufdCtx {
    readonly id: number;
    /** The file of `/dev/iommu` (or the compat `/dev/vfio/vfio`). */
    readonly file: number;
    objects: Map<number, IommufdObject>;
    /** Ids destroyed under a vDEVICE tombstone: never reused while the ctx lives. */
    tombstones: Set<number>;
    pages: Map<number, IoptPages>;
    nextPages: number;
    /** `vfio_compat` IOAS. */
    compatIoas?: number;
    /** Opened as `/dev/vfio/vfio`, or a legacy group was set on it with no compat IOAS yet. */
    readonly vfioCompat: boolean;
    /** Pinning accounting mode (IOMMU_OPTION_RLIMIT_MODE). */
    accountMode: 'user' | 'mm';
    /** TYPE1 (v1) semantics selected by VFIO_SET_IOMMU on the compat path. */
    compatType1v1?: boolean;
    /** The process that opened it (accounting target in MM mode). */
    readonly process: string;
}
