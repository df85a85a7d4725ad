/**
 * The simulated kernel's state: one plain value, normalized by ids (no object references
 * between entities), so that every step's snapshot shares all it did not change with its
 * neighbours. Steps change it through immer drafts (`engine/kernel.ts`); big structures (page
 * tables, interval trees) are immutable values of their own and are replaced, never mutated.
 *
 * Names follow Linux: `iommu_group`, `iommu_domain`, `vfio_group`, `vfio_container`,
 * `iommufd_ctx`... Each subsystem's state type lives next to its code; this file ties them.
 */

import type { Bdf, IommuKind, KernelVersion, MdevKind, PciResetMethod } from './machine/spec.js';
import type { SourceLocation } from './location.js';
import type { IoPageTable } from './iommu/pgtable/types.js';
import type { IntervalMap } from './interval-map.js';
import type { PhysMemory } from './mm/phys-memory.js';

// ---------------------------------------------------------------------------------------------
// Configuration (fixed at boot)

export interface KernelParams {
    /** `vfio_iommu_type1.allow_unsafe_interrupts` */
    readonly type1AllowUnsafeInterrupts: boolean;
    /** `iommufd.allow_unsafe_interrupts` */
    readonly iommufdAllowUnsafeInterrupts: boolean;
    /** `vfio_iommu_type1.dma_entry_limit` (default 65535) */
    readonly dmaEntryLimit: number;
    /** `vfio_iommu_type1.disable_hugepages` */
    readonly type1DisableHugepages: boolean;
    /** `vfio.enable_unsafe_noiommu_mode` */
    readonly enableUnsafeNoiommuMode: boolean;
    /** `iommu.passthrough=1` / `iommu=pt`: default domains are identity. */
    readonly passthrough: boolean;
    /** CONFIG_IOMMUFD_VFIO_CONTAINER: `/dev/vfio/vfio` is provided by iommufd (`iommufd.vfio_container=1` here). */
    readonly iommufdVfioContainer: boolean;
    /** `intel_iommu=sp_off`: no superpages on VT-d. */
    readonly intelSpOff: boolean;
    /** Every parameter as given, for hovers and unknown-parameter warnings. */
    readonly raw: Readonly<Record<string, string>>;
}

export interface KernelConfig {
    readonly machine: string;
    readonly version: KernelVersion;
    /** Physical RAM in bytes. */
    readonly memory: bigint;
    /** CPU page size (PAGE_SIZE). */
    readonly pageSize: bigint;
    readonly params: KernelParams;
}

// ---------------------------------------------------------------------------------------------
// PCI topology and devices (engine/machine/)

/** PCIe device/port type, as `pci_pcie_type()` and the header say. */
export type PciDevType =
    | 'endpoint'
    | 'legacy-endpoint'
    | 'rc-endpoint'
    | 'root-port'
    | 'upstream-port'
    | 'downstream-port'
    | 'pcie-to-pci-bridge'
    /** A conventional PCI-to-PCI bridge (no PCIe capability). */
    | 'pci-bridge'
    /** A conventional PCI function (no PCIe capability). */
    | 'conventional';

/** ACS bits of the capability register (implemented) and the control register (enabled). */
export interface AcsState {
    readonly cap: number;
    readonly ctrl: number;
}

/** `struct pci_dev`, the parts IOMMU grouping and VFIO look at. */
export interface PciDev {
    readonly bdf: Bdf;
    readonly type: PciDevType;
    readonly vendor: number;
    readonly deviceId: number;
    readonly className?: string;
    /** Header type MFD bit, or function > 0 found by the slot scan (`pci_scan_slot`). */
    readonly multifunction: boolean;
    readonly acs?: AcsState;
    /**
     * The device whose secondary bus this device sits on (`bus->self`); undefined on a root bus.
     * For VFs on a virtual bus this is still undefined for the virtual bus; see `physfn`.
     */
    readonly upstream?: string;
    /** Bridges: the secondary bus number. */
    readonly secondaryBus?: number;
    /** SR-IOV: TotalVFs of a PF, and how many are enabled now. */
    readonly sriovTotal?: number;
    readonly sriovNumVfs?: number;
    /** VFs: the PF's device name and the VF index; `virtualBus` when on a bus above the PF's. */
    readonly physfn?: string;
    readonly vfIndex?: number;
    readonly virtualBus?: boolean;
    readonly pasidWidth: number;
    readonly ats: boolean;
    readonly pri: boolean;
    /** Explicit DMA alias devfns on the same bus (`dma_alias_mask`). */
    readonly dmaAliasDevfns: readonly number[];
    readonly resets: readonly PciResetMethod[];
    readonly requireDirect: boolean;
}

export type DeviceBus = 'pci' | 'platform' | 'mdev';

/** `struct device`, with what the IOMMU core and drivers keep per device. */
export interface Device {
    /** Engine key: the user's name (`nic0`), or the BDF for unnamed ports. */
    readonly name: string;
    /** `dev_name()`: the BDF for PCI (`0000:02:00.0`), the name for platform, a UUID for mdevs. */
    readonly devName: string;
    readonly bus: DeviceBus;
    readonly pci?: PciDev;
    /** Bound driver name, or null. */
    driver: string | null;
    /** IOMMU unit translating it; undefined: no IOMMU (no group). */
    readonly iommu?: string;
    /** `iommu_group` id; undefined when not behind an IOMMU. */
    group?: number;
    /** `dev->iommu->max_pasids` (0: no PASID). */
    readonly maxPasids: number;
    readonly noSnoop: boolean;
    /** mdevs: kind and parent device. */
    readonly mdev?: { readonly kind: MdevKind; readonly parent: string };
    /** Runtime-created devices (VFs, mdevs) are removed when their creator goes away. */
    readonly loc?: SourceLocation;
    /** Device-wide PASID table (one per requester ID; per device in Linux). */
    pasids: Map<number, PasidEntry>;
}

// ---------------------------------------------------------------------------------------------
// IOMMU core (engine/iommu/)

/** The cookie of a DMA owner (`iommu_group->owner`). */
export type DmaOwner =
    | { readonly kind: 'vfio-group'; readonly group: number }
    | { readonly kind: 'iommufd'; readonly ctx: number };

/** `struct iommu_group`. */
export interface IommuGroup {
    readonly id: number;
    /** Devices in probe order. */
    devices: string[];
    readonly iommu?: string;
    /** Kernel DMA-API drivers bound, or 1 with an owner (`owner_cnt`). */
    owner_cnt: number;
    owner: DmaOwner | null;
    /** Current domain of the RID (`group->domain`); {@link NO_DOMAIN} for VFIO-made groups. */
    domain: number;
    default_domain: number;
    blocking_domain?: number;
    /** PASID attachments of the group (`group->pasid_array`): pasid → domain id. */
    pasid_array: Map<number, PasidAttachment>;
    /** A VFIO-made group (emulated mdev, noiommu) rather than one from the IOMMU driver. */
    readonly vfioMade?: 'emulated' | 'noiommu';
}

export interface PasidAttachment {
    readonly domain: number;
    /** Who attached it: a kernel SVA bond or an iommufd user. */
    readonly by: { readonly kind: 'sva'; readonly process: string } | { readonly kind: 'iommufd'; readonly ctx: number };
}

/** VFIO-made groups (emulated mdevs, noiommu) have no IOMMU domains at all. */
export const NO_DOMAIN = -1;

export type DomainType = 'blocked' | 'identity' | 'dma' | 'paging' | 'nested' | 'sva';

export type PageTableFormat = 'vtd-ss' | 'x86-64' | 'amd-v1' | 'arm-lpae-s1' | 'arm-lpae-s2';

/** `struct iommu_domain`. */
export interface IommuDomain {
    readonly id: number;
    readonly type: DomainType;
    /** The IOMMU unit (instance) whose driver allocated it. */
    readonly iommu: string;
    readonly kind: IommuKind;
    readonly format?: PageTableFormat;
    /** The page table (paging, dma domains). */
    pgtable?: IoPageTable;
    readonly pgsizeBitmap: bigint;
    /** Aperture: the IOVA range the table can translate. */
    readonly aperture: { readonly start: bigint; readonly end: bigint };
    /** Domain forces snoop (VT-d SNP / PGSNP, AMD FC). */
    enforceCacheCoherency: boolean;
    /** Allocated with dirty-tracking ops, and whether tracking is on. */
    readonly dirtyOps: boolean;
    dirtyTracking: boolean;
    readonly nestParent: boolean;
    /** Allocated with IOMMU_HWPT_ALLOC_PASID (may be attached to PASIDs). */
    readonly pasidCapable: boolean;
    /** Nested domains: the stage-2 parent and the guest's stage-1 description. */
    readonly parent?: number;
    readonly nested?: NestedStage1;
    /** SVA domains: the process whose address space it is. */
    readonly svaProcess?: string;
    /** Who allocated it, for display ("type1 container 1", "iommufd hwpt 3", "default"). */
    readonly owner: string;
}

/** A guest stage-1 table as the user handed it (VT-d S1 data, SMMUv3 STE, AMD guest DTE). */
export interface NestedStage1 {
    readonly dataType: 'vtd-s1' | 'arm-smmuv3' | 'amd-guest';
    /**
     * Where the guest's stage 1 starts, guest physical: VT-d `pgtbl_addr`, the STE's
     * S1ContextPtr (the guest's CD table), the guest DTE's GCR3 table root pointer.
     */
    readonly root: bigint;
    readonly addressWidth: number;
    readonly flags: bigint;
    /** The data words as the user gave them (`ste[0..1]`, `dte[0..3]`), for the fields beyond `flags`. */
    readonly words?: readonly bigint[];
    /**
     * The guest's stage-1 page table as the scenario wrote it (`guest-map`, engine/iommu/guest-s1.ts),
     * in its hardware format, table pages at guest-physical addresses; undefined until written.
     */
    s1?: IoPageTable;
    /**
     * IOTLB entries the IOMMU filled from earlier nested walks (engine/iommu/dma-nested.ts): used
     * until an invalidation (IOMMU_HWPT_INVALIDATE) or a stage-2 unmap drops them.
     */
    iotlb?: readonly NestedIotlbEntry[];
}

/** One cached nested translation: an IOVA range, the guest-physical range stage 1 gave it, its permissions. */
export interface NestedIotlbEntry {
    /** The PASID the request carried (VT-d tags entries with DID and PASID), or -1 without one. */
    readonly pasid: number;
    readonly iova: bigint;
    /** Bytes covered: the smaller of the stage-1 and stage-2 leaves (a combined entry). */
    readonly size: bigint;
    readonly gpa: bigint;
    readonly write: boolean;
    readonly s1PageSize: bigint;
}

/** A kernel driver's binding of a process address space to a device (`iommu_sva_bind_device`). */
export interface SvaBond {
    readonly device: string;
    readonly process: string;
    readonly pasid: number;
    readonly domain: number;
    users: number;
}

export interface PasidEntry {
    /** Domain it points at; undefined = cleared (blocked). */
    readonly domain?: number;
    /** PGTT: 1 first-stage, 2 second-stage, 3 nested, 4 pass-through. */
    readonly pgtt: 1 | 2 | 3 | 4;
    readonly ssade: boolean;
}

// ---------------------------------------------------------------------------------------------
// Memory (engine/mm/)

/** A virtual memory area of a process. */
export interface Vma {
    readonly start: bigint;
    readonly length: bigint;
    /** Folio size backing it: PAGE_SIZE, or the huge page size. */
    readonly folioSize: bigint;
    /** Physical base of the backing (folio i is at `physBase + (n-1-i) * folioSize`), or null if RAM ran out. */
    readonly physBase: number | null;
    readonly physFolios: number;
    /** Offset of this VMA's first folio in its backing (for partial munmap and files). */
    readonly folioOffset: number;
    /** Backing: anonymous memory, or a memfd (file id) at an offset. */
    readonly backing: { readonly kind: 'anon' } | { readonly kind: 'memfd'; readonly memfd: number; readonly offset: bigint };
    readonly writable: boolean;
    /**
     * Private anonymous memory a fork left shared with the parent (copy on write): the first
     * pin of it (FOLL_PIN unshares, `gup_must_unshare`) gives this mm its own pages.
     */
    readonly cow?: boolean;
}

export interface MmState {
    vmas: IntervalMap<Vma>;
    /** `mm->locked_vm`, in pages. */
    locked_vm: bigint;
    /** `mm->pinned_vm`, in pages. */
    pinned_vm: bigint;
    /** Next address `mmap` hands out. */
    mmapBase: bigint;
    /** `mm->pasid` once SVA gave the process one. */
    pasid?: number;
}

export interface Memfd {
    readonly id: number;
    readonly size: bigint;
    readonly folioSize: bigint;
    readonly physBase: number | null;
    readonly physFolios: number;
}

// ---------------------------------------------------------------------------------------------
// Files and processes

export type FileKind =
    | 'vfio-container'
    | 'vfio-group'
    | 'vfio-device'
    | 'iommufd'
    | 'kvm'
    | 'kvm-vm'
    | 'kvm-device'
    | 'memfd'
    | 'fault-queue'
    | 'veventq'
    | 'sysfs';

/** `struct file`: shared between fds (dup, fork, SCM_RIGHTS); released when its last reference goes. */
export interface OpenFile {
    readonly id: number;
    readonly kind: FileKind;
    readonly path: string;
    /** References: fds in fd tables plus kernel-held references (`get_file`). */
    refs: number;
    /** The kernel object behind it: a container, group, device, ctx, vm... id by kind. */
    readonly object: number | string;
    /** vfio-device files: opened through the group (`GET_DEVICE_FD`) or the cdev node. */
    readonly via?: 'group' | 'cdev';
}

export interface Process {
    readonly name: string;
    readonly pid: number;
    readonly uid: number;
    /** Capabilities held; `all` for a default root process. */
    readonly caps: readonly string[] | 'all';
    /** RLIMIT_MEMLOCK in bytes (undefined: unlimited). */
    readonly memlock?: bigint;
    /** fd → file id. */
    fds: Map<number, number>;
    mm: MmState;
    exited: boolean;
}

// ---------------------------------------------------------------------------------------------
// VFIO (engine/vfio/)

export interface VfioGroup {
    /** Object id (a `vfio_group` can outlive its IOMMU group's registration while its file is open). */
    readonly id: number;
    /** The IOMMU group it stands for (`/dev/vfio/<id>`); null once its last device unregistered. */
    iommuGroup: number | null;
    readonly type: 'iommu' | 'emulated' | 'noiommu';
    /** Still on `vfio.group_list`, i.e. `/dev/vfio/N` exists. */
    listed: boolean;
    /** Registered VFIO devices (`group->drivers`). */
    drivers: number;
    /** The open group file (`/dev/vfio/N` is exclusive), if any. */
    openFile?: number;
    container?: number;
    /** iommufd context used as the container (VFIO_GROUP_SET_CONTAINER with an iommufd fd). */
    iommufd?: number;
    /** 1 with a container, +1 per device opened through it (`container_users`). */
    container_users: number;
    /** Devices of the group bound through their cdev (`cdev_device_open_cnt`). */
    cdev_device_open_cnt: number;
    /** KVM handed to VFIO by the KVM-VFIO device. */
    kvm?: number;
}

export interface VfioDma {
    readonly iova: bigint;
    readonly size: bigint;
    readonly vaddr: bigint;
    readonly read: boolean;
    readonly write: boolean;
    /** Pages pinned and accounted for it. */
    readonly pinned: bigint;
    /** Process whose memory it maps (accounting goes to its mm). */
    readonly process: string;
    /** `UNMAP_FLAG_VADDR` invalidated the vaddr. */
    readonly vaddrInvalid: boolean;
}

export interface Type1Domain {
    readonly domain: number;
    groups: number[];
    readonly enforceCacheCoherency: boolean;
}

/** `struct vfio_iommu` of vfio_iommu_type1.c. */
export interface VfioIommuType1 {
    readonly v2: boolean;
    /** Opened as VFIO_TYPE1_NESTING_IOMMU (before 6.13): domains must enable nesting. */
    readonly nesting?: boolean;
    domains: Type1Domain[];
    /** Emulated (mdev) groups: recorded, no domain. */
    emulatedGroups: number[];
    /** The IOVA list: aperture ∩ ... minus reserved regions. */
    iovaList: Array<{ start: bigint; end: bigint }>;
    dmaList: IntervalMap<VfioDma>;
    pgsizeBitmap: bigint;
    dma_avail: number;
    vaddrInvalidCount: number;
    dirtyPageTracking: boolean;
}

export interface VfioContainer {
    readonly id: number;
    /** vfio_group object ids attached. */
    groups: number[];
    /** Its `/dev/vfio/vfio` file is still open (the container lives while this or a group holds it). */
    fileOpen: boolean;
    iommuDriver?: 'type1' | 'noiommu';
    type1?: VfioIommuType1;
    /** Set when this container is really an iommufd (CONFIG_IOMMUFD_VFIO_CONTAINER). */
    readonly iommufd?: number;
}

export interface VfioDevice {
    /** The device's engine name. */
    readonly device: string;
    /** The `vfio_group` object id. */
    readonly group: number;
    /** `/dev/vfio/devices/vfioN` minor. */
    readonly cdevIndex: number;
    /** `open_count`: opens through the group path and the cdev. */
    open_count: number;
    /** Open device files (the registration references `vfio_unregister_group_dev` waits for). */
    files: number;
    /** `vfio_unregister_group_dev` started: no new opens; completes when `files` reaches 0. */
    unregistering: boolean;
    /** cdev binding: the iommufd ctx and the DEVICE (or ACCESS) object id. */
    cdevBind?: { readonly ctx: number; readonly devid: number; readonly file: number };
    /** Group-path open with an iommufd "container": the iommufd DEVICE object. */
    groupIommufdBind?: { readonly ctx: number; readonly devid: number };
    /** RID attachment through the cdev (the HWPT or IOAS id attached). */
    attachedPt?: number;
    /** PASIDs attached through the cdev: pasid → pt id. */
    pasids: Map<number, number>;
    kvm?: number;
    /** SR-IOV PFs on vfio-pci: the VF token VFs must present, and how many VFs are open (`vf_token`). */
    vfToken?: { uuid: string; users: number };
}

// ---------------------------------------------------------------------------------------------
// The whole kernel

export interface KernelState {
    readonly config: KernelConfig;
    /** IOMMU units by name, as booted. */
    readonly iommus: ReadonlyMap<string, IommuUnit>;
    devices: Map<string, Device>;
    /** Device name by `dev_name` (BDF string), for sysfs-style lookups. */
    devicesByDevName: Map<string, string>;
    groups: Map<number, IommuGroup>;
    domains: Map<number, IommuDomain>;
    files: Map<number, OpenFile>;
    processes: Map<string, Process>;
    memfds: Map<number, Memfd>;
    vfio: {
        groups: Map<number, VfioGroup>;
        containers: Map<number, VfioContainer>;
        devices: Map<string, VfioDevice>;
    };
    iommufd: { ctxs: Map<number, import('./iommufd/types.js').IommufdCtx> };
    kvm: { vms: Map<number, import('./kvm/types.js').KvmVm> };
    /** Physical memory allocator: next free frame boundary, allocating downwards from the top of RAM. */
    physTop: number;
    /** What DMA writes left in physical memory: sparse, copy on write, zero elsewhere. */
    physMemory: PhysMemory;
    /** Global PASID allocator (`iommu_global_pasid_ida`): PASID → who holds it (a process's mm). */
    globalPasids: Map<number, string>;
    /** SVA bonds (`struct iommu_sva`): `device|process` → the bond. */
    svaBonds: Map<string, SvaBond>;
    /** Per-uid `user->locked_vm` in pages (iommufd USER accounting). */
    userLockedVm: Map<number, bigint>;
    /** Id counters; ids are never reused unless Linux reuses them (IDA/xarray users compute their own). */
    next: { file: number; domain: number; container: number; ctx: number; vm: number; memfd: number; pid: number; vfioGroup: number };
    /** Kernel log lines (dmesg) the scenario caused, newest last. */
    log: string[];
}

/** An IOMMU unit as the driver sees it after probe: capabilities derived from its spec. */
export interface IommuUnit {
    readonly name: string;
    readonly kind: IommuKind;
    readonly addressWidth: number;
    /** Superpage sizes the hardware supports, as a pgsize bitmap including 4K. */
    readonly pgsizeBitmap: bigint;
    /** 0: no PASID. */
    readonly maxPasids: number;
    readonly coherent: boolean;
    readonly enforceCoherency: boolean;
    readonly intrRemap: boolean;
    readonly nesting: boolean;
    readonly dirtyTracking: boolean;
    readonly sva: boolean;
    readonly firstStage: boolean;
    readonly secondStage: boolean;
    /** VT-d scalable mode (PASID tables) vs legacy (context entries only). */
    readonly scalable: boolean;
    readonly loc?: SourceLocation;
}
