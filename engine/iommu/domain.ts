/**
 * `struct iommu_domain` allocation as each IOMMU driver does it: which page-table format a
 * request gets, its page sizes and aperture, whether it can enforce cache coherency, and the
 * driver's "is this domain compatible with that device" check used when a second device joins.
 */

import { fail } from '../errno.js';
import type { Device, DomainType, IommuDomain, IommuUnit, KernelState, NestedStage1, PageTableFormat } from '../state.js';
import { SZ_1G, SZ_2M, SZ_4K, hex } from '../u64.js';
import { createIoPageTable, pageTableGeometry } from './pgtable/index.js';
import type { PhysSource, Prot } from './pgtable/types.js';
import { MapError } from './pgtable/types.js';

/** Flags of a paging-domain request (`IOMMU_HWPT_ALLOC_*` as the core passes them to drivers). */
export interface PagingFlags {
    readonly nestParent?: boolean;
    readonly dirtyTracking?: boolean;
    readonly pasid?: boolean;
}

/**
 * Page-table pages live in a physical window the engine sets apart for each domain, above RAM:
 * `0x4000_0000_0000 + id * 64 GiB`. Entries that point at tables hold these addresses.
 */
const TABLE_WINDOW_BASE = 0x4000_0000_0000;
const TABLE_WINDOW_SIZE = 2 ** 36;

export function unitOf(k: KernelState, dev: Device): IommuUnit {
    const unit = dev.iommu ? k.iommus.get(dev.iommu) : undefined;
    if (!unit) {
        fail('ENODEV', `${dev.devName} (${dev.name}) is not behind an IOMMU`, 'drivers/iommu/iommu.c:iommu_paging_domain_alloc_flags');
    }
    return unit;
}

/** The format and page sizes the driver picks (`intel_iommu_domain_alloc_paging_flags`, `amd_iommu_domain_alloc_paging_flags`, `arm_smmu_domain_alloc_paging_flags`). */
function chooseFormat(unit: IommuUnit, flags: PagingFlags): { format: PageTableFormat; pgsizeBitmap: bigint } {
    const src = 'drivers/iommu/intel/iommu.c:intel_iommu_domain_alloc_paging_flags';
    switch (unit.kind) {
        case 'intel-vtd': {
            if (flags.nestParent && !unit.nesting) {
                fail('EOPNOTSUPP', `${unit.name} does not support nesting (ecap.NEST): no NEST_PARENT domain`, src);
            }
            if (flags.dirtyTracking && !unit.dirtyTracking) {
                fail('EOPNOTSUPP', `${unit.name} has no second-stage dirty tracking (ecap.SSADS)`, src);
            }
            // Always the guest-compatible (first-stage) table unless NEST_PARENT or DIRTY_TRACKING
            // asks for second stage (first_level_by_default: scalable mode with FLTS).
            const firstStage = !flags.nestParent && !flags.dirtyTracking && unit.scalable && unit.firstStage;
            if (!firstStage && (flags.nestParent || flags.dirtyTracking) && !(unit.scalable && unit.secondStage)) {
                fail('EOPNOTSUPP', `${unit.name} has no second-stage translation (ecap.SLTS) in scalable mode`, src);
            }
            if (!firstStage && !unit.secondStage) {
                fail('EOPNOTSUPP', `${unit.name} supports neither first-stage nor second-stage paging here`, src);
            }
            // iommu_superpage_capability: first stage has 2M always and 1G with cap.FL1GP; second
            // stage what cap.SLLPS says. The unit's page sizes stand for both registers.
            const sp = unit.pgsizeBitmap & (SZ_2M | SZ_1G);
            return { format: firstStage ? 'x86-64' : 'vtd-ss', pgsizeBitmap: SZ_4K | (unit.pgsizeBitmap === SZ_4K ? 0n : sp) };
        }
        case 'amd-vi':
            // amd_iommu_domain_alloc_paging_flags: PASID (v2) does not combine with DIRTY_TRACKING
            // or NEST_PARENT (v1); any other mix is EOPNOTSUPP.
            if (flags.pasid && (flags.dirtyTracking || flags.nestParent)) {
                fail('EOPNOTSUPP', `${unit.name}: IOMMU_HWPT_ALLOC_PASID (a v2 table) cannot be combined with DIRTY_TRACKING or NEST_PARENT (v1 tables)`, 'drivers/iommu/amd/iommu.c:amd_iommu_domain_alloc_paging_flags');
            }
            if (flags.pasid && unit.maxPasids === 0) {
                fail('EOPNOTSUPP', `${unit.name} has no PASID support: no v2 table for IOMMU_HWPT_ALLOC_PASID`, 'drivers/iommu/amd/iommu.c:amd_iommu_domain_alloc_paging_flags');
            }
            if (flags.dirtyTracking && !unit.dirtyTracking) {
                fail('EOPNOTSUPP', `${unit.name} has no hardware dirty tracking (HD)`, 'drivers/iommu/amd/iommu.c:amd_iommu_domain_alloc_paging_flags');
            }
            if (flags.nestParent && !unit.nesting) {
                fail('EOPNOTSUPP', `${unit.name} does not support nesting`, 'drivers/iommu/amd/iommu.c:amd_iommu_domain_alloc_paging_flags');
            }
            // ALLOC_PASID gets a v2 (x86-64 format) table; dirty tracking and nest parents need v1.
            if (flags.pasid && !flags.dirtyTracking && !flags.nestParent) {
                return { format: 'x86-64', pgsizeBitmap: SZ_4K | SZ_2M | SZ_1G };
            }
            return { format: 'amd-v1', pgsizeBitmap: unit.pgsizeBitmap };
        case 'arm-smmu-v3':
            if (flags.dirtyTracking && !unit.dirtyTracking) {
                fail('EOPNOTSUPP', `${unit.name} has no HTTU dirty tracking (DBM)`, 'drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c:arm_smmu_domain_alloc_paging_flags');
            }
            if (flags.nestParent && !unit.nesting) {
                fail('EOPNOTSUPP', `${unit.name} does not support nesting (no stage 2)`, 'drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c:arm_smmu_domain_alloc_paging_flags');
            }
            return { format: flags.nestParent ? 'arm-lpae-s2' : 'arm-lpae-s1', pgsizeBitmap: unit.pgsizeBitmap & (SZ_4K | SZ_2M | SZ_1G) };
    }
}

function nextDomainId(k: KernelState): number {
    return k.next.domain++;
}

/** Allocates a paging (translating) domain for `dev`'s IOMMU, as `iommu_paging_domain_alloc_flags`. */
export function domainAllocPaging(k: KernelState, dev: Device, flags: PagingFlags, owner: string, type: 'paging' | 'dma' = 'paging'): IommuDomain {
    const unit = unitOf(k, dev);
    const { format, pgsizeBitmap } = chooseFormat(unit, flags);
    const geometry = pageTableGeometry(format, unit.addressWidth);
    const id = nextDomainId(k);
    const domain: IommuDomain = {
        id,
        type,
        iommu: unit.name,
        kind: unit.kind,
        format,
        pgtable: createIoPageTable({
            format,
            ias: geometry.ias,
            pgsizeBitmap,
            tablePaBase: TABLE_WINDOW_BASE + id * TABLE_WINDOW_SIZE,
            forceSnoop: false,
            dirtyCapable: !!flags.dirtyTracking,
        }),
        pgsizeBitmap,
        aperture: geometry.aperture,
        enforceCacheCoherency: false,
        dirtyOps: !!flags.dirtyTracking,
        dirtyTracking: false,
        nestParent: !!flags.nestParent,
        pasidCapable: !!flags.pasid,
        owner,
    };
    k.domains.set(id, domain);
    return domain;
}

/**
 * A nested domain (`domain_alloc_nested`): the user's stage-1 description on a stage-2 parent.
 * It has no page table of its own: the guest's stage 1 is walked, then the parent's.
 */
export function domainAllocNested(k: KernelState, parentId: number, stage1: NestedStage1, owner: string, pasidCapable: boolean): IommuDomain {
    const parent = getDomain(k, parentId);
    const id = nextDomainId(k);
    const domain: IommuDomain = {
        id, type: 'nested', iommu: parent.iommu, kind: parent.kind, pgsizeBitmap: parent.pgsizeBitmap,
        aperture: parent.aperture, enforceCacheCoherency: parent.enforceCacheCoherency, dirtyOps: false, dirtyTracking: false,
        nestParent: false, pasidCapable, parent: parentId, nested: stage1, owner,
    };
    k.domains.set(id, domain);
    return domain;
}

/** Identity, blocked and SVA domains have no page table of their own. */
export function domainAllocSpecial(k: KernelState, unit: IommuUnit, type: Extract<DomainType, 'identity' | 'blocked' | 'sva'>, owner: string, svaProcess?: string): IommuDomain {
    const id = nextDomainId(k);
    const domain: IommuDomain = {
        id, type, iommu: unit.name, kind: unit.kind, pgsizeBitmap: 0n,
        aperture: { start: 0n, end: -1n },
        enforceCacheCoherency: false, dirtyOps: false, dirtyTracking: false, nestParent: false,
        pasidCapable: type !== 'identity', owner, svaProcess,
    };
    k.domains.set(id, domain);
    return domain;
}

export function getDomain(k: KernelState, id: number): IommuDomain {
    const d = k.domains.get(id);
    if (!d) {
        throw new Error(`engine invariant: domain ${id} does not exist`);
    }
    return d;
}

/**
 * `iommu_domain_ops->enforce_cache_coherency`: turns on forced snooping if every IOMMU using the
 * domain supports it. A VT-d second-stage domain that already has mappings cannot switch (its
 * existing leaves lack SNP), as `intel_iommu_enforce_cache_coherency` refuses.
 */
export function domainEnforceCacheCoherency(k: KernelState, domainId: number): boolean {
    const d = getDomain(k, domainId);
    if (d.enforceCacheCoherency) {
        return true;
    }
    const unit = k.iommus.get(d.iommu);
    if (!unit || !unit.enforceCoherency) {
        return false;
    }
    if (d.format === 'vtd-ss' && d.pgtable && d.pgtable.mappedBytes > 0n) {
        return false;
    }
    d.enforceCacheCoherency = true;
    if (d.pgtable && (d.format === 'vtd-ss' || d.format === 'amd-v1')) {
        // Second-stage leaves carry SNP, AMD v1 leaves FC: future maps set the bit.
        d.pgtable = createIoPageTable({ ...d.pgtable.config, forceSnoop: true });
    }
    return true;
}

/**
 * The driver's check that `domain` can serve `dev` too (`paging_domain_compatible` for VT-d):
 * the reason it cannot, or undefined. The core turns a reason into EINVAL ("incompatible").
 */
export function domainIncompatibility(k: KernelState, domain: IommuDomain, dev: Device): string | undefined {
    const unit = dev.iommu ? k.iommus.get(dev.iommu) : undefined;
    if (!unit) {
        return `${dev.devName} is not behind an IOMMU`;
    }
    const from = k.iommus.get(domain.iommu);
    if (!from || from.kind !== unit.kind) {
        return `domain ${domain.id} belongs to another IOMMU driver (${domain.kind}) than ${dev.devName}'s ${unit.kind}`;
    }
    if (domain.enforceCacheCoherency && !unit.enforceCoherency) {
        return `domain ${domain.id} forces snooping but ${unit.name} has no snoop control`;
    }
    if (domain.dirtyOps && !unit.dirtyTracking) {
        return `domain ${domain.id} tracks dirty pages but ${unit.name} cannot`;
    }
    if (domain.format === 'x86-64' && unit.kind === 'intel-vtd' && !(unit.scalable && unit.firstStage)) {
        return `domain ${domain.id} is first-stage but ${unit.name} has no first-stage translation`;
    }
    const unitSp = unit.pgsizeBitmap & (SZ_2M | SZ_1G);
    if (unit.kind === 'intel-vtd' && (domain.pgsizeBitmap & (SZ_2M | SZ_1G)) !== unitSp) {
        return `domain ${domain.id}'s superpage sizes differ from what ${unit.name} supports`;
    }
    if (domain.pgtable && pageTableGeometry(domain.format!, unit.addressWidth).ias < domain.pgtable.config.ias) {
        return `domain ${domain.id} is ${domain.pgtable.config.ias}-bit but ${unit.name} walks only ${unit.addressWidth} bits`;
    }
    return undefined;
}

/** `iommu_map`: maps into a paging domain, or fails with the errno the driver returns. */
export function domainMap(k: KernelState, domainId: number, iova: bigint, size: bigint, phys: PhysSource, prot: Prot): void {
    const d = getDomain(k, domainId);
    if (!d.pgtable) {
        throw new Error(`engine invariant: domain ${domainId} has no page table`);
    }
    if (iova < d.aperture.start || iova + size - 1n > d.aperture.end) {
        fail('EINVAL', `IOVA [${hex(iova)}, ${hex(iova + size - 1n)}] is outside domain ${domainId}'s aperture [${hex(d.aperture.start)}, ${hex(d.aperture.end)}]`, 'drivers/iommu/iommu.c:iommu_map');
    }
    if (d.nestParent && d.format === 'vtd-ss' && !prot.write) {
        // Errata 772415: second-stage tables of nest parents must not hold read-only leaves.
        fail('EINVAL', `domain ${domainId} is a VT-d nest parent: read-only mappings are refused (errata 772415)`, 'drivers/iommu/intel/iommu.c:intel_iommu_map');
    }
    try {
        d.pgtable = d.pgtable.map(iova, size, phys, { ...prot, cache: true });
    } catch (e) {
        if (e instanceof MapError) {
            fail(e.errno === 'ERANGE' ? 'EINVAL' : e.errno, `domain ${domainId}: ${e.message}`, 'drivers/iommu/iommu.c:iommu_map');
        }
        throw e;
    }
}

/** `iommu_unmap`: returns the bytes unmapped. */
export function domainUnmap(k: KernelState, domainId: number, iova: bigint, size: bigint): bigint {
    const d = getDomain(k, domainId);
    if (!d.pgtable) {
        return 0n;
    }
    const { table, unmapped } = d.pgtable.unmap(iova, size);
    d.pgtable = table;
    if (unmapped > 0n && d.nestParent) {
        // Nested translations cached through this stage 2 go with it: VT-d parent_domain_flush
        // flushes the nested domains' tags, SMMUv3 issues CMDQ_OP_TLBI_S12_VMALL for the VMID.
        for (const n of k.domains.values()) {
            if (n.type === 'nested' && n.parent === domainId && n.nested?.iotlb?.length) {
                n.nested.iotlb = [];
            }
        }
    }
    return unmapped;
}

export function describeDomain(d: IommuDomain): string {
    switch (d.type) {
        case 'blocked':
            return `blocking domain ${d.id}`;
        case 'identity':
            return `identity domain ${d.id}`;
        case 'sva':
            return `SVA domain ${d.id} (${d.svaProcess ?? '?'})`;
        case 'nested':
            return `nested domain ${d.id} (${d.nested?.dataType ?? 'user'} stage 1 over domain ${d.parent})`;
        default:
            return `${d.type === 'dma' ? 'DMA-API' : 'paging'} domain ${d.id} (${d.format})`;
    }
}
