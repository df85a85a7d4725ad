/**
 * What each IOMMU driver answers iommufd (the `iommu_ops` / `iommufd_viommu_ops` callbacks):
 * `hw_info` (`intel/iommu.c:intel_iommu_hw_info`, `arm-smmu-v3-iommufd.c:arm_smmu_hw_info`,
 * `amd/iommufd.c:amd_iommufd_hw_info`), nested domain allocation from user data
 * (`intel/nested.c:intel_iommu_domain_alloc_nested`, `arm_vsmmu_alloc_domain_nested`), user
 * cache invalidation, and vIOMMU support. Hardware registers the driver reports are built from
 * the unit's declared features.
 */

import { fail } from '../errno.js';
import { kernelAtLeast } from '../machine/spec.js';
import type { Device, IommuUnit, KernelState, NestedStage1 } from '../state.js';
import { SZ_1G, SZ_2M, U64_MAX, hex } from '../u64.js';
import type { IommufdCtx, IommufdDevice, IommufdViommu } from './types.js';
import { gcr3Root } from '../iommu/guest-s1.js';

/** `enum iommu_hw_info_type`. */
export const HW_INFO_TYPE = { NONE: 0n, INTEL_VTD: 1n, ARM_SMMUV3: 2n, TEGRA241_CMDQV: 3n, AMD: 4n } as const;
/** `enum iommu_hwpt_data_type`. */
export const HWPT_DATA = { NONE: 0n, VTD_S1: 1n, ARM_SMMUV3: 2n, AMD_GUEST: 3n } as const;
/** `enum iommu_hwpt_invalidate_data_type`. */
export const INVALIDATE_DATA = { VTD_S1: 0n, ARM_SMMUV3: 1n } as const;
/** `enum iommu_viommu_type`. */
export const VIOMMU_TYPE = { DEFAULT: 0n, ARM_SMMUV3: 1n, TEGRA241_CMDQV: 2n } as const;

/** A user struct as a step gave it: field name → value (`ste[1]` for the second word of `ste`). */
export type UserStruct = Readonly<Record<string, bigint>>;

function word(s: UserStruct, name: string, i: number): bigint {
    return s[`${name}[${i}]`] ?? (i === 0 ? s[name] ?? 0n : 0n);
}

/** The driver-specific data GET_HW_INFO copies out: its type, kernel length and fields. */
export interface HwInfo {
    readonly type: bigint;
    readonly length: number;
    readonly fields: ReadonlyArray<{ readonly name: string; readonly offset: number; readonly size: number; readonly value: bigint }>;
}

function bit(n: number, on: boolean): bigint {
    return on ? 1n << BigInt(n) : 0n;
}

/**
 * VT-d capability and extended capability registers as the unit's features imply
 * (`include/linux/intel-iommu.h` layouts: SAGAW, MGAW, SLLPS, FL1GP, FL5LP; C, QI, IR, SC, NEST,
 * PRS, PASID/PSS, SMTS, SLADS, SLTS, FLTS).
 */
export function vtdRegisters(unit: IommuUnit): { cap: bigint; ecap: bigint } {
    const aw = unit.addressWidth;
    const sagaw = 2n | (aw >= 48 ? 4n : 0n) | (aw > 48 ? 8n : 0n);
    const sp2m = (unit.pgsizeBitmap & SZ_2M) !== 0n;
    const sp1g = (unit.pgsizeBitmap & SZ_1G) !== 0n;
    const cap = 6n /* ND: 64K domains */
        | (sagaw << 8n)
        | (BigInt(aw - 1) << 16n)
        | bit(34, sp2m) | bit(35, sp1g)
        | bit(39, true) /* PSI */
        | bit(54, true) | bit(55, true) /* drain */
        | bit(56, sp1g) /* FL1GP */
        | bit(60, aw > 48); /* FL5LP */
    const pss = unit.maxPasids > 0 ? BigInt(Math.log2(unit.maxPasids) - 1) : 0n;
    const ecap = bit(0, unit.coherent)
        | bit(1, true) /* QI */
        | bit(2, true) /* DT */
        | bit(3, unit.intrRemap) | bit(4, unit.intrRemap) /* IR, EIM */
        | bit(6, true) /* PT */
        | bit(7, unit.enforceCoherency) /* SC */
        | bit(26, unit.nesting)
        | bit(29, unit.sva) /* PRS */
        | bit(40, unit.maxPasids > 0) | (pss << 35n)
        | bit(43, unit.scalable)
        | bit(45, unit.dirtyTracking) /* SLADS */
        | bit(46, unit.secondStage) /* SLTS */
        | bit(47, unit.firstStage); /* FLTS */
    return { cap, ecap };
}

/** SMMU_IDR0 as the unit's features imply (S2P, S1P, TTF AArch64, COHACC, HTTU, ATS). */
function smmuIdr0(unit: IommuUnit): bigint {
    return bit(0, unit.nesting || unit.secondStage) | bit(1, true) | (2n << 2n) | bit(4, unit.coherent)
        | (unit.dirtyTracking ? 2n << 6n : 0n) | bit(10, true);
}

/**
 * The driver's `hw_info(dev, &length, &type)`: EOPNOTSUPP when the requested type is neither
 * DEFAULT nor the driver's own; drivers without the op report NONE and no data.
 */
export function driverHwInfo(k: KernelState, unit: IommuUnit, inType: bigint): HwInfo {
    switch (unit.kind) {
        case 'intel-vtd': {
            if (inType !== 0n && inType !== HW_INFO_TYPE.INTEL_VTD) {
                fail('EOPNOTSUPP', `the VT-d driver reports only IOMMU_HW_INFO_TYPE_INTEL_VTD, not type ${inType}`, 'drivers/iommu/intel/iommu.c:intel_iommu_hw_info');
            }
            const { cap, ecap } = vtdRegisters(unit);
            return {
                type: HW_INFO_TYPE.INTEL_VTD, length: 24,
                fields: [
                    // ERRATA_772415_SPR17 is always reported: read-only maps are refused in nest parents.
                    { name: 'flags', offset: 0, size: 4, value: 1n },
                    { name: '__reserved', offset: 4, size: 4, value: 0n },
                    { name: 'cap_reg', offset: 8, size: 8, value: cap },
                    { name: 'ecap_reg', offset: 16, size: 8, value: ecap },
                ],
            };
        }
        case 'arm-smmu-v3': {
            if (!kernelAtLeast(k.config.version, 6, 13)) {
                return { type: HW_INFO_TYPE.NONE, length: 0, fields: [] };
            }
            if (inType !== 0n && inType !== HW_INFO_TYPE.ARM_SMMUV3) {
                fail('EOPNOTSUPP', `the SMMUv3 driver reports only IOMMU_HW_INFO_TYPE_ARM_SMMUV3, not type ${inType}`, 'drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-iommufd.c:arm_smmu_hw_info');
            }
            const fields = [
                { name: 'flags', offset: 0, size: 4, value: 0n },
                { name: '__reserved', offset: 4, size: 4, value: 0n },
                { name: 'idr[0]', offset: 8, size: 4, value: smmuIdr0(unit) },
            ];
            for (let i = 1; i < 6; i++) {
                fields.push({ name: `idr[${i}]`, offset: 8 + 4 * i, size: 4, value: 0n });
            }
            fields.push({ name: 'iidr', offset: 32, size: 4, value: 0n }, { name: 'aidr', offset: 36, size: 4, value: 0n });
            return { type: HW_INFO_TYPE.ARM_SMMUV3, length: 40, fields };
        }
        case 'amd-vi': {
            if (!kernelAtLeast(k.config.version, 7, 0)) {
                return { type: HW_INFO_TYPE.NONE, length: 0, fields: [] };
            }
            if (inType !== 0n && inType !== HW_INFO_TYPE.AMD) {
                fail('EOPNOTSUPP', `the AMD IOMMU driver reports only IOMMU_HW_INFO_TYPE_AMD, not type ${inType}`, 'drivers/iommu/amd/iommufd.c:amd_iommufd_hw_info');
            }
            // Extended Feature Register: GTSup bit 2, PPRSup bit 1, HDSup bit 52, PASmax 36:32 (width-1).
            const efr = bit(1, unit.sva) | bit(2, unit.nesting) | bit(52, unit.dirtyTracking)
                | (unit.maxPasids > 0 ? BigInt(Math.log2(unit.maxPasids) - 1) << 32n : 0n);
            return { type: HW_INFO_TYPE.AMD, length: 16, fields: [{ name: 'efr', offset: 0, size: 8, value: efr }, { name: 'efr2', offset: 8, size: 8, value: 0n }] };
        }
    }
}

/** `device_iommu_capable(dev, IOMMU_CAP_DIRTY_TRACKING)`. */
export function dirtyTrackingCapable(unit: IommuUnit): boolean {
    return unit.kind === 'intel-vtd' ? unit.scalable && unit.dirtyTracking : unit.dirtyTracking;
}

/** Whether the driver has `domain_alloc_nested` (nesting on a HWPT_PAGING parent, not through a vIOMMU). */
export function hasDomainAllocNested(unit: IommuUnit): boolean {
    return unit.kind === 'intel-vtd';
}

/** Reads the user's data struct through `data_uptr`: EFAULT for a NULL pointer. */
function userData(data: { ptr: bigint; struct: UserStruct }, src: string): UserStruct {
    if (data.ptr === 0n) {
        fail('EFAULT', 'data_uptr is NULL: the driver data cannot be copied in', src);
    }
    return data.struct;
}

/**
 * `intel_iommu_domain_alloc_nested` → `iommu_copy_struct_from_user`: the stage-1 description of
 * a nested domain on a VT-d NEST_PARENT domain.
 */
export function intelAllocNested(
    unit: IommuUnit, flags: bigint, dataType: bigint, dataLen: bigint, data: { ptr: bigint; struct: UserStruct },
): NestedStage1 {
    const src = 'drivers/iommu/intel/nested.c:intel_iommu_domain_alloc_nested';
    const PASID = 8n;
    if (!unit.nesting || !unit.scalable || (flags & ~PASID)) {
        fail('EOPNOTSUPP', !unit.nesting || !unit.scalable ? `${unit.name} does not support nesting (scalable mode with ecap.NEST)` : `flags ${hex(flags & ~PASID)} are not supported for a nested domain`, src);
    }
    if (dataType !== HWPT_DATA.VTD_S1) {
        fail('EOPNOTSUPP', `data_type ${dataType} is not IOMMU_HWPT_DATA_VTD_S1, the only nested format VT-d takes`, src);
    }
    const csrc = 'include/linux/iommu.h:__iommu_copy_struct_from_user';
    if (dataLen < 24n || dataLen > 24n) {
        fail('EINVAL', `data_len ${dataLen} does not fit struct iommu_hwpt_vtd_s1 (24 bytes, offsetofend(__reserved))`, csrc);
    }
    const s = userData(data, csrc);
    return { dataType: 'vtd-s1', root: s.pgtbl_addr ?? 0n, addressWidth: Number(s.addr_width ?? 0n), flags: s.flags ?? 0n };
}

const STE0_ALLOWED = (((1n << 5n) - 1n) << 59n) | (((1n << 46n) - 1n) << 6n) | (3n << 4n) | (7n << 1n) | 1n;
const STE1_ALLOWED = 0xffn | (1n << 27n) | (3n << 28n);

/**
 * The vIOMMU's `alloc_domain_nested`: SMMUv3 takes a guest STE (`arm_vsmmu_alloc_domain_nested`,
 * invalid STE data is EIO), AMD a guest DTE (7.0).
 */
export function viommuAllocNested(
    k: KernelState, unit: IommuUnit, flags: bigint, dataType: bigint, dataLen: bigint, data: { ptr: bigint; struct: UserStruct },
): NestedStage1 {
    const csrc = 'include/linux/iommu.h:__iommu_copy_struct_from_user';
    if (unit.kind === 'arm-smmu-v3') {
        const src = 'drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-iommufd.c:arm_vsmmu_alloc_domain_nested';
        if (flags & ~8n) {
            fail('EOPNOTSUPP', `flags ${hex(flags)} are not supported for a vSTE`, src);
        }
        if (dataType !== HWPT_DATA.ARM_SMMUV3 || dataLen < 16n || dataLen > 16n) {
            fail('EINVAL', dataType !== HWPT_DATA.ARM_SMMUV3 ? `data_type ${dataType} is not IOMMU_HWPT_DATA_ARM_SMMUV3` : `data_len ${dataLen} does not fit struct iommu_hwpt_arm_smmuv3 (16 bytes)`, csrc);
        }
        const s = userData(data, csrc);
        const ste0 = word(s, 'ste', 0);
        const ste1 = word(s, 'ste', 1);
        if (ste0 & 1n) {
            // arm_smmu_validate_vste: only the stage-1 fields a guest may own; CFG abort, bypass or S1.
            const vsrc = 'drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-iommufd.c:arm_smmu_validate_vste';
            if (ste0 & ~STE0_ALLOWED || ste1 & ~STE1_ALLOWED) {
                fail('EIO', `the guest STE sets bits a guest may not control (ste[0] ${hex(ste0 & ~STE0_ALLOWED)}, ste[1] ${hex(ste1 & ~STE1_ALLOWED)})`, vsrc);
            }
            const cfg = (ste0 >> 1n) & 7n;
            if (cfg !== 0n && cfg !== 4n && cfg !== 5n) {
                fail('EIO', `the guest STE's Config ${cfg} is not abort (0), bypass (4) or stage-1 translate (5)`, vsrc);
            }
        }
        // The guest's stage 1 starts at S1ContextPtr (STE[0] bits 51:6), its CD table
        // (engine/iommu/guest-s1.ts reads Config, S1CDMax and S1DSS from the words).
        return { dataType: 'arm-smmuv3', root: ste0 & (((1n << 46n) - 1n) << 6n), addressWidth: 0, flags: ste0, words: [ste0, ste1] };
    }
    const src = 'drivers/iommu/amd/nested.c:amd_iommu_alloc_domain_nested';
    if (dataType !== HWPT_DATA.AMD_GUEST || dataLen < 32n || dataLen > 32n) {
        fail('EINVAL', dataType !== HWPT_DATA.AMD_GUEST ? `data_type ${dataType} is not IOMMU_HWPT_DATA_AMD_GUEST` : `data_len ${dataLen} does not fit struct iommu_hwpt_amd_guest (32 bytes)`, csrc);
    }
    void k;
    const s = userData(data, src);
    // The GCR3 table root pointer is split over DTE[0] 60:58 and DTE[1] 31:16, 63:43
    // (amd_iommu_types.h DTE_GCR3_14_12, DTE_GCR3_30_15, DTE_GCR3_51_31).
    const words = [0, 1, 2, 3].map((i) => word(s, 'dte', i));
    return { dataType: 'amd-guest', root: gcr3Root({ words, flags: words[0]! }), addressWidth: 0, flags: words[0]!, words };
}

/** Whether the driver offers vIOMMUs of this type (`get_viommu_size` non-zero). */
export function viommuTypeSupported(k: KernelState, unit: IommuUnit, type: bigint): string | undefined {
    switch (unit.kind) {
        case 'intel-vtd':
            return 'the VT-d driver has no vIOMMU support';
        case 'arm-smmu-v3':
            if (type !== VIOMMU_TYPE.ARM_SMMUV3) {
                return type === VIOMMU_TYPE.TEGRA241_CMDQV ? `${unit.name} is not an NVIDIA Tegra241 CMDQV` : `the SMMUv3 driver has no vIOMMU type ${type}`;
            }
            return unit.nesting ? undefined : `${unit.name} cannot nest (no stage 2): no vIOMMU`;
        case 'amd-vi':
            if (!kernelAtLeast(k.config.version, 7, 0)) {
                return 'the AMD IOMMU driver has no vIOMMU support before Linux 7.0';
            }
            return unit.nesting ? undefined : `${unit.name} has no guest translation (GTSup): no vIOMMU`;
    }
}

/**
 * `intel_nested_cache_invalidate_user`: entries of `struct iommu_hwpt_vtd_s1_invalidate`;
 * returns how many were handled before the first bad one, and its error.
 */
export function intelNestedInvalidate(dataType: bigint, entries: readonly UserStruct[], entryLen: bigint, entryNum: bigint): { done: bigint; error?: { errno: 'EINVAL' | 'EOPNOTSUPP'; reason: string } } {
    if (dataType !== INVALIDATE_DATA.VTD_S1) {
        return { done: 0n, error: { errno: 'EINVAL', reason: `data_type ${dataType} is not IOMMU_HWPT_INVALIDATE_DATA_VTD_S1` } };
    }
    let done = 0n;
    for (let i = 0n; i < entryNum; i++) {
        if (entryLen < 24n) {
            return { done, error: { errno: 'EINVAL', reason: `entry_len ${entryLen} is smaller than struct iommu_hwpt_vtd_s1_invalidate (24 bytes)` } };
        }
        const e = entries[Number(i)] ?? {};
        const flags = e.flags ?? 0n;
        if (flags & ~1n || (e.__reserved ?? 0n) !== 0n) {
            return { done, error: { errno: 'EOPNOTSUPP', reason: `entry ${i}: flags ${hex(flags)} or __reserved are not supported (only IOMMU_VTD_INV_FLAGS_LEAF)` } };
        }
        const addr = e.addr ?? 0n;
        const npages = e.npages ?? 0n;
        if (addr % 4096n !== 0n || (npages === U64_MAX && addr !== 0n)) {
            return { done, error: { errno: 'EINVAL', reason: addr % 4096n !== 0n ? `entry ${i}: addr ${hex(addr)} is not 4 KiB aligned` : `entry ${i}: npages U64_MAX (everything) needs addr 0` } };
        }
        done++;
    }
    return { done };
}

/** SMMU command opcodes a guest may issue through the vIOMMU (`arm_vsmmu_convert_user_cmd`). */
const VSMMU_TLBI = new Set([0x10n, 0x11n, 0x12n, 0x13n, 0x30n]);
const VSMMU_SID_CMDS = new Set([0x05n, 0x06n, 0x40n]);

/** `arm_vsmmu_cache_invalidate`: EIO for a command a guest may not issue or an unknown vSID. */
export function vsmmuInvalidate(ctx: IommufdCtx, viommu: IommufdViommu, dataType: bigint, entries: readonly UserStruct[], entryLen: bigint, entryNum: bigint): { done: bigint; error?: { errno: 'EINVAL' | 'EIO'; reason: string } } {
    if (dataType !== INVALIDATE_DATA.ARM_SMMUV3) {
        return { done: 0n, error: { errno: 'EINVAL', reason: `data_type ${dataType} is not IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3` } };
    }
    let done = 0n;
    for (let i = 0n; i < entryNum; i++) {
        if (entryLen < 16n) {
            return { done, error: { errno: 'EINVAL', reason: `entry_len ${entryLen} is smaller than struct iommu_viommu_arm_smmuv3_invalidate (16 bytes)` } };
        }
        const cmd0 = word(entries[Number(i)] ?? {}, 'cmd', 0);
        const op = cmd0 & 0xffn;
        if (VSMMU_SID_CMDS.has(op)) {
            const vsid = cmd0 >> 32n;
            const known = [...ctx.objects.values()].some((o) => o.type === 'vdevice' && o.viommu === viommu.id && o.virtId === vsid);
            if (!known) {
                return { done, error: { errno: 'EIO', reason: `entry ${i}: no vDEVICE of vIOMMU ${viommu.id} has virtual SID ${hex(vsid)}` } };
            }
        } else if (!VSMMU_TLBI.has(op)) {
            return { done, error: { errno: 'EIO', reason: `entry ${i}: opcode ${hex(op)} is not a TLB or CD/ATC invalidation a guest may issue` } };
        }
        done++;
    }
    return { done };
}

/**
 * What a guest's SMMU command invalidates in the IOTLB of the vIOMMU's nested domains
 * (`arm-smmu-v3.h` CMDQ_TLBI_*): TLBI_NH_ALL, TLBI_NSNH_ALL (everything of the VMID) and
 * TLBI_NH_ASID drop all (the engine does not model the guest's ASIDs, and invalidating more is
 * always allowed); TLBI_NH_VA / VAA drop the entries holding VA (cmd[1] bits 63:12), or with a
 * granule (TG, cmd[1] bits 11:10) the range of (NUM+1) << SCALE granules (cmd[0] bits 16:12 and
 * 24:20). CFGI and ATC commands leave the IOTLB alone (undefined).
 */
export function vsmmuTlbiRange(cmd: UserStruct): { start: bigint; end: bigint } | 'all' | undefined {
    const cmd0 = word(cmd, 'cmd', 0);
    const cmd1 = word(cmd, 'cmd', 1);
    switch (cmd0 & 0xffn) {
        case 0x10n:
        case 0x11n:
        case 0x30n:
            return 'all';
        case 0x12n:
        case 0x13n: {
            const va = cmd1 & 0xffff_ffff_ffff_f000n;
            const tg = (cmd1 >> 10n) & 3n;
            if (tg === 0n) {
                return { start: va, end: va + 1n };
            }
            const granule = tg === 1n ? 0x1000n : tg === 2n ? 0x4000n : 0x1_0000n;
            const num = (cmd0 >> 12n) & 0x1fn;
            const scale = (cmd0 >> 20n) & 0x1fn;
            return { start: va, end: va + ((num + 1n) << scale) * granule };
        }
        default:
            return undefined;
    }
}

/** The vDEVICE an SMMUv3 nested (vSTE) attach needs: the device's vDEVICE on that vIOMMU. */
export function vsmmuNeedsVdevice(ctx: IommufdCtx, idev: IommufdDevice, viommu: number): boolean {
    const vdev = idev.vdevice !== undefined ? ctx.objects.get(idev.vdevice) : undefined;
    return vdev?.type === 'vdevice' && vdev.viommu === viommu;
}

export function unitOfDevice(k: KernelState, dev: Device): IommuUnit | undefined {
    return dev.iommu ? k.iommus.get(dev.iommu) : undefined;
}
