/**
 * `MachineSpec`: the plain data a `machine { ... }` block lowers to. It says what the hardware is
 * and how firmware left it; everything Linux derives from it (IOMMU groups, domains, drivers'
 * DMA ownership) is computed by `Kernel.boot`, never written here.
 */

import type { SourceLocation } from '../location.js';

/** PCI address. `segment:bus:device.function` as in `0000:02:00.1`. */
export interface Bdf {
    readonly segment: number;
    readonly bus: number;
    readonly device: number;
    readonly fn: number;
}

export type IommuKind = 'intel-vtd' | 'amd-vi' | 'arm-smmu-v3';

/**
 * Features an IOMMU unit may have, in the spelling of the language:
 * - `coherent`: IOMMU_CAP_CACHE_COHERENCY (page walks and DMA snoop the CPU caches)
 * - `enforce-coherency`: IOMMU_CAP_ENFORCE_CACHE_COHERENCY (VT-d snoop control, AMD always, SMMU CANWBS)
 * - `intr-remap`: interrupt remapping, so MSIs are isolated (`iommu_group_has_isolated_msi`)
 * - `nesting`, `dirty-tracking`, `sva`, `first-stage`, `second-stage`, `pri`, `ats`
 */
export type IommuFeature =
    | 'coherent'
    | 'enforce-coherency'
    | 'intr-remap'
    | 'nesting'
    | 'dirty-tracking'
    | 'sva'
    | 'first-stage'
    | 'second-stage'
    | 'pri'
    | 'ats';

export const IOMMU_FEATURES: readonly IommuFeature[] = [
    'coherent', 'enforce-coherency', 'intr-remap', 'nesting', 'dirty-tracking', 'sva',
    'first-stage', 'second-stage', 'pri', 'ats',
];

export interface IommuSpec {
    readonly name: string;
    readonly kind: IommuKind;
    /** Input address bits of the second stage / stage 2 (VT-d MGAW). Default 48. */
    readonly addressWidth?: number;
    /** Supported page sizes in bytes. Default 4K 2M 1G. */
    readonly pageSizes?: readonly bigint[];
    /** PASID width in bits; 0 or absent: no PASID support. */
    readonly pasidWidth?: number;
    readonly features: readonly IommuFeature[];
    /** VT-d translation mode: scalable (default) or legacy. */
    readonly mode?: 'scalable' | 'legacy';
    readonly loc?: SourceLocation;
}

/** ACS flags a port or function can have, named as in the language (`acs(sv rr cr uf)`). */
export type AcsFlag = 'sv' | 'tb' | 'rr' | 'cr' | 'uf' | 'ec' | 'dt';

export const ACS_FLAGS: readonly AcsFlag[] = ['sv', 'tb', 'rr', 'cr', 'uf', 'ec', 'dt'];

/**
 * An ACS extended capability. `enabled` are the bits set in the ACS Control register once Linux
 * has enumerated the device. Plain `acs` means the capability implements SV, RR, CR and UF and
 * `pci_std_enable_acs` turned them all on; `acs(sv rr)` means only SV and RR ended up enabled
 * (the other required flags are implemented but left off, e.g. by `pci=config_acs=`).
 */
export interface AcsSpec {
    readonly enabled: readonly AcsFlag[];
}

export type PciResetMethod = 'flr' | 'pm' | 'bus' | 'af_flr' | 'device_specific';

interface PciFunctionCommon {
    /** The user's name for it (`nic0`); ports and bridges may be unnamed. */
    readonly name?: string;
    readonly bdf: Bdf;
    /** `id VVVV:DDDD`: vendor and device ID, which Linux's quirks key on. */
    readonly vendor?: number;
    readonly deviceId?: number;
    /** Driver bound at boot; `null` means unbound (`driver none`); undefined means the default. */
    readonly driver?: string | null;
    readonly acs?: AcsSpec;
    readonly loc?: SourceLocation;
}

export interface EndpointSpec extends PciFunctionCommon {
    readonly type: 'endpoint';
    readonly className?: string;
    /** A conventional PCI function (no PCIe capability). */
    readonly conventional?: boolean;
    readonly pasidWidth?: number;
    readonly ats?: boolean;
    readonly pri?: boolean;
    /** TotalVFs: how many virtual functions SR-IOV can create. */
    readonly sriov?: number;
    /** The device issues non-coherent (no-snoop) DMA. */
    readonly noSnoop?: boolean;
    /** `dma-alias BDF`: extra requester IDs the device uses (quirks like quirk_dma_func0_alias). */
    readonly dmaAliases?: readonly Bdf[];
    readonly resets?: readonly PciResetMethod[];
    /** An RMRR (VT-d) or unity map that requires a direct mapping: blocks user ownership. */
    readonly requireDirect?: boolean;
}

export interface RootPortSpec extends PciFunctionCommon {
    readonly type: 'root-port';
    readonly children: readonly PciNodeSpec[];
}

/** A switch: its upstream port (`bdf`) and downstream ports below it. */
export interface SwitchSpec extends PciFunctionCommon {
    readonly type: 'switch';
    readonly ports: readonly DownstreamPortSpec[];
}

export interface DownstreamPortSpec extends PciFunctionCommon {
    readonly type: 'downstream';
    readonly children: readonly PciNodeSpec[];
}

/**
 * `pci-bridge`: a PCIe-to-PCI bridge (requester IDs of devices below alias to the bridge's
 * secondary bus, devfn 00.0); with `conventional` a PCI-to-PCI bridge that aliases to its own RID.
 */
export interface PciBridgeSpec extends PciFunctionCommon {
    readonly type: 'pci-bridge';
    readonly conventional?: boolean;
    readonly children: readonly PciNodeSpec[];
}

export type PciNodeSpec = EndpointSpec | RootPortSpec | SwitchSpec | DownstreamPortSpec | PciBridgeSpec;

export interface PciSegmentSpec {
    readonly segment: number;
    /** The IOMMU unit translating this segment; absent: no IOMMU (devices get no group). */
    readonly iommu?: string;
    readonly children: readonly PciNodeSpec[];
    readonly loc?: SourceLocation;
}

/** A non-PCI device behind an IOMMU (ACPI namespace device, SMMU stream). */
export interface PlatformDeviceSpec {
    readonly name: string;
    readonly iommu?: string;
    readonly driver?: string | null;
    readonly pasidWidth?: number;
    readonly noSnoop?: boolean;
    readonly loc?: SourceLocation;
}

/**
 * Mediated device kinds. `emulated`: its own VFIO-made group, DMA through the parent driver's
 * pinning. `pasid`: a slice of its parent that DMAs with its parent's requester ID and a PASID.
 * `iommu-backed`: the mdev is a whole function (a VF) with its own group.
 */
export type MdevKind = 'emulated' | 'pasid' | 'iommu-backed';

export interface MdevSpec {
    readonly name: string;
    readonly parent: string;
    readonly kind: MdevKind;
    readonly loc?: SourceLocation;
}

export interface KernelVersion {
    readonly major: number;
    readonly minor: number;
}

export interface MachineSpec {
    readonly name: string;
    /** `kernel 6.12`: the uAPI of that version; absent: the newest supported. */
    readonly kernel?: KernelVersion;
    /** Physical RAM in bytes. Default 16 GiB. */
    readonly memory?: bigint;
    /** CPU page size in bytes. Default 4096. */
    readonly pageSize?: number;
    /** Kernel and module parameters as on a real command line. */
    readonly cmdline?: string;
    readonly iommus: readonly IommuSpec[];
    readonly segments: readonly PciSegmentSpec[];
    readonly platform: readonly PlatformDeviceSpec[];
    readonly mdevs: readonly MdevSpec[];
    readonly loc?: SourceLocation;
}

export function formatBdf(bdf: Bdf): string {
    const h = (v: number, w: number) => v.toString(16).padStart(w, '0');
    return `${h(bdf.segment, 4)}:${h(bdf.bus, 2)}:${h(bdf.device, 2)}.${bdf.fn.toString(16)}`;
}

/** Parses `0000:02:00.1` or, with a known segment, `02:00.1`. */
export function parseBdf(text: string, segment?: number): Bdf | undefined {
    const full = /^([0-9a-fA-F]{4}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$/.exec(text);
    if (full) {
        return {
            segment: parseInt(full[1]!, 16), bus: parseInt(full[2]!, 16),
            device: parseInt(full[3]!, 16), fn: parseInt(full[4]!, 16),
        };
    }
    const short = /^([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$/.exec(text);
    if (short && segment !== undefined) {
        return { segment, bus: parseInt(short[1]!, 16), device: parseInt(short[2]!, 16), fn: parseInt(short[3]!, 16) };
    }
    return undefined;
}

export function devfn(bdf: Bdf): number {
    return (bdf.device << 3) | bdf.fn;
}

export function sameBdf(a: Bdf, b: Bdf): boolean {
    return a.segment === b.segment && a.bus === b.bus && a.device === b.device && a.fn === b.fn;
}

export const NEWEST_KERNEL: KernelVersion = { major: 7, minor: 0 };

export function formatKernelVersion(v: KernelVersion): string {
    return `${v.major}.${v.minor}`;
}

export function kernelAtLeast(v: KernelVersion, major: number, minor: number): boolean {
    return v.major > major || (v.major === major && v.minor >= minor);
}
