/**
 * IOMMU units as their drivers see them after probe: what `iommu_ops->capable`, the page-size
 * bitmaps and `get_resv_regions` say. Derived once from the machine's `iommu` blocks.
 */

import type { IommuSpec } from '../machine/spec.js';
import type { IommuUnit, KernelParams } from '../state.js';
import { SZ_1G, SZ_2M, SZ_4K, sizesBitmap } from '../u64.js';

/** AMD v1 supports every power of two from 4K to 2^51 except 512G (`AMD_IOMMU_PGSIZES`). */
export const AMD_V1_PGSIZES = ((1n << 52n) - 1n) & ~(SZ_4K - 1n) & ~(1n << 39n);

export function buildIommuUnit(spec: IommuSpec, params: KernelParams): IommuUnit {
    const has = (f: string) => (spec.features as readonly string[]).includes(f);
    const kind = spec.kind;
    const scalable = kind !== 'intel-vtd' || spec.mode !== 'legacy';
    const sizes = spec.pageSizes && spec.pageSizes.length > 0 ? spec.pageSizes : defaultPageSizes(kind);
    let pgsizeBitmap = sizesBitmap(sizes) | SZ_4K;
    if (kind === 'intel-vtd' && params.intelSpOff) {
        // intel_iommu=sp_off: no superpages at all.
        pgsizeBitmap = SZ_4K;
    }
    // VT-d: both stages exist on scalable-mode hardware unless the spec names only one; legacy
    // mode has no first stage (no PASID table to point at it).
    const namesStage = has('first-stage') || has('second-stage');
    const firstStage = kind === 'intel-vtd' ? scalable && (namesStage ? has('first-stage') : true) : true;
    const secondStage = kind === 'intel-vtd' ? (namesStage ? has('second-stage') : true) : true;
    const pasidWidth = scalable ? spec.pasidWidth ?? 0 : 0;
    return {
        name: spec.name,
        kind,
        addressWidth: spec.addressWidth ?? 48,
        pgsizeBitmap,
        maxPasids: pasidWidth > 0 ? 2 ** Math.min(pasidWidth, 20) : 0,
        // intel_iommu_capable / amd_iommu_capable answer IOMMU_CAP_CACHE_COHERENCY unconditionally;
        // the SMMUv3 answers it from its coherent page-walk feature.
        coherent: kind === 'arm-smmu-v3' ? has('coherent') : true,
        // VT-d: ecap.SC (snoop control); AMD: always; SMMUv3: CANWBS.
        enforceCoherency: kind === 'amd-vi' ? true : has('enforce-coherency'),
        intrRemap: has('intr-remap'),
        nesting: has('nesting'),
        dirtyTracking: has('dirty-tracking'),
        sva: has('sva'),
        firstStage,
        secondStage,
        scalable,
        loc: spec.loc,
    };
}

function defaultPageSizes(kind: IommuSpec['kind']): bigint[] {
    if (kind === 'amd-vi') {
        const out: bigint[] = [];
        for (let b = 12n; b <= 51n; b++) {
            if (b !== 39n) {
                out.push(1n << b);
            }
        }
        return out;
    }
    return [SZ_4K, SZ_2M, SZ_1G];
}

/** `enum iommu_resv_type`. */
export type ResvType = 'direct' | 'direct-relaxable' | 'reserved' | 'msi' | 'sw-msi';

export interface ResvRegion {
    readonly start: bigint;
    readonly last: bigint;
    readonly type: ResvType;
    readonly what: string;
}

/** The x86 interrupt window: DMA writes here are interrupt requests (`IOAPIC_RANGE_START`). */
export const X86_MSI_START = 0xfee0_0000n;
export const X86_MSI_LAST = 0xfeef_ffffn;
/** AMD HyperTransport reserved range (`HT_RANGE_START`..`HT_RANGE_END`). */
export const AMD_HT_START = 0xfd_0000_0000n;
export const AMD_HT_LAST = 0xff_ffff_ffffn;
/** ARM's software-managed MSI window (`MSI_IOVA_BASE`, `MSI_IOVA_LENGTH`). */
export const ARM_SW_MSI_START = 0x0800_0000n;
export const ARM_SW_MSI_LAST = 0x080f_ffffn;
/**
 * Where the engine places an RMRR for a device that declares one (`requireDirect`): real RMRRs
 * sit in e820-reserved memory below 4 GiB; this fixed range stands for it.
 */
export const RMRR_START = 0x7d00_0000n;
export const RMRR_LAST = 0x7dff_ffffn;

/** `iommu_get_resv_regions` for a device behind `unit` (intel_iommu_get_resv_regions, amd_iommu_get_resv_regions, arm_smmu_get_resv_regions). */
export function deviceResvRegions(unit: IommuUnit, requireDirect: boolean): ResvRegion[] {
    const out: ResvRegion[] = [];
    if (requireDirect) {
        out.push({ start: RMRR_START, last: RMRR_LAST, type: 'direct', what: 'RMRR' });
    }
    switch (unit.kind) {
        case 'intel-vtd':
            out.push({ start: X86_MSI_START, last: X86_MSI_LAST, type: 'msi', what: 'MSI window' });
            break;
        case 'amd-vi':
            out.push({ start: X86_MSI_START, last: X86_MSI_LAST, type: 'msi', what: 'MSI window' });
            out.push({ start: AMD_HT_START, last: AMD_HT_LAST, type: 'reserved', what: 'HyperTransport range' });
            break;
        case 'arm-smmu-v3':
            out.push({ start: ARM_SW_MSI_START, last: ARM_SW_MSI_LAST, type: 'sw-msi', what: 'software MSI window' });
            break;
    }
    return out.sort((a, b) => (a.start < b.start ? -1 : 1));
}
