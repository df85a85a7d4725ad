/**
 * A device's DMA as the IOMMU sees it: the requester ID picks the group's current domain (or, with
 * a PASID, the PASID table entry), and each page of the access walks that domain's page table.
 * The result is where each piece landed in physical memory, or the fault the IOMMU reports.
 */

import { fail } from '../errno.js';
import type { Device, IommuDomain, KernelState } from '../state.js';
import type { DmaFaultReason } from '../step.js';
import type { DmaFault, DmaSegment } from '../step.js';
import { NO_DOMAIN } from '../state.js';
import { hex } from '../u64.js';
import { describeDomain, getDomain } from './domain.js';
import { X86_MSI_LAST, X86_MSI_START } from './unit.js';
import { vaToPa } from '../mm/memory.js';
import { emulatedDmaTranslate } from './dma-emulated.js';
import { nestedDma } from './dma-nested.js';

export interface DmaResult {
    readonly segments: readonly DmaSegment[];
    readonly fault?: DmaFault;
    /** Something the DMA did that a user should know although it succeeded (a stale IOTLB entry used). */
    readonly warning?: string;
}

/** What a DMA from `dev` is translated by: a domain, or a reason there is none. */
function targetDomain(k: KernelState, dev: Device, pasid: number | undefined): { domain?: IommuDomain; rid: Device; fault?: { reason: DmaFaultReason; message: string } } {
    // A PASID slice DMAs with its parent's requester ID.
    const rid = dev.mdev?.kind === 'pasid' ? k.devices.get(dev.mdev.parent)! : dev;
    if (rid.group === undefined) {
        return { rid };
    }
    const group = k.groups.get(rid.group)!;
    if (group.vfioMade === 'noiommu') {
        // vfio_noiommu_group_alloc only gives VFIO a group to hang the device on: no IOMMU
        // stands in front of it, so its bus addresses are physical addresses.
        return { rid };
    }
    if (pasid === undefined) {
        if (group.domain === NO_DOMAIN) {
            return { rid, fault: { reason: 'no-domain', message: `group ${group.id} has no IOMMU domain` } };
        }
        return { rid, domain: getDomain(k, group.domain) };
    }
    const unit = rid.iommu ? k.iommus.get(rid.iommu) : undefined;
    if (!unit || rid.maxPasids === 0 || pasid >= rid.maxPasids) {
        return {
            rid,
            fault: {
                reason: 'pasid-beyond-width',
                message: rid.maxPasids === 0
                    ? `${rid.devName} (${rid.name}) has no PASID support: a PASID-tagged request is refused`
                    : `PASID ${pasid} is beyond ${rid.devName}'s ${rid.maxPasids} PASIDs`,
            },
        };
    }
    const att = group.pasid_array.get(pasid);
    if (!att) {
        return { rid, fault: { reason: 'pasid-not-present', message: `PASID ${pasid} of ${rid.devName} (${rid.name}) has no domain: its PASID table entry is not present` } };
    }
    return { rid, domain: getDomain(k, att.domain) };
}

/**
 * `dma DEV read|write IOVA len N [pasid P]`. Sets accessed/dirty bits where the hardware would,
 * so it changes the kernel state like any step.
 */
export function deviceDma(k: KernelState, name: string, dir: 'read' | 'write', iova: bigint, length: bigint, pasid?: bigint): DmaResult {
    const dev = k.devices.get(name);
    if (!dev) {
        fail('ENODEV', `no device ${name} exists (yet)`, 'drivers/iommu/iommu.c');
    }
    if (length <= 0n) {
        fail('EINVAL', `a DMA of ${length} bytes`, 'drivers/iommu/iommu.c');
    }
    if (pasid !== undefined && (pasid < 0n || pasid > 0xf_ffffn)) {
        fail('EINVAL', `PASID ${pasid} does not fit the 20-bit PASID field of a TLP prefix`, 'drivers/pci/ats.c');
    }
    const p = pasid === undefined ? undefined : Number(pasid);
    if (dev.mdev?.kind === 'emulated') {
        return emulatedDmaTranslate(k, dev, dir, iova, length);
    }
    const { domain, rid, fault } = targetDomain(k, dev, p);
    const who = `${dev.devName} (${dev.name})`;
    if (fault) {
        return { segments: [], fault: { ...fault, iova, pasid: p } };
    }
    const unit = rid.iommu ? k.iommus.get(rid.iommu) : undefined;
    if (!domain) {
        // No IOMMU in front of the device: bus addresses are physical addresses.
        return { segments: [{ iova, length, pa: iova, pageSize: length }] };
    }
    if (dir === 'write' && unit && unit.kind !== 'arm-smmu-v3' && iova <= X86_MSI_LAST && iova + length - 1n >= X86_MSI_START && p === undefined) {
        return {
            segments: [],
            fault: {
                reason: 'msi-window', iova, domain: domain.id,
                message: `${who} wrote to ${hex(iova)} in the x86 MSI window 0xfee00000-0xfeefffff: that is an interrupt request, not memory`,
            },
        };
    }
    switch (domain.type) {
        case 'blocked':
            return { segments: [], fault: { reason: 'blocked', iova, pasid: p, domain: domain.id, message: `${who} is in the ${describeDomain(domain)}: all its DMA is blocked (owned by a user, nothing attached)` } };
        case 'identity':
            return { segments: [{ iova, length, pa: iova, pageSize: length, domain: domain.id, pasid: p }] };
        case 'sva':
            return svaDma(k, domain, who, dir, iova, length, p);
        case 'nested':
            // The guest's stage 1, then the parent's stage 2 for every guest-physical address.
            return nestedDma(k, domain, who, dir, iova, length, p);
        default:
            return walkDomain(k, domain, who, dir, iova, length, p);
    }
}

function walkDomain(k: KernelState, domain: IommuDomain, who: string, dir: 'read' | 'write', iova: bigint, length: bigint, pasid: number | undefined): DmaResult {
    const segments: DmaSegment[] = [];
    let cursor = iova;
    const end = iova + length;
    while (cursor < end) {
        if (cursor < domain.aperture.start || cursor > domain.aperture.end) {
            return {
                segments,
                fault: { reason: 'beyond-address-width', iova: cursor, pasid, domain: domain.id, message: `${who}: IOVA ${hex(cursor)} is beyond ${describeDomain(domain)}'s input range [${hex(domain.aperture.start)}, ${hex(domain.aperture.end)}]` },
            };
        }
        const pt = domain.pgtable;
        const w = pt ? pt.walk(cursor, dir) : ({ ok: false, fault: 'not-present' } as const);
        if (!w.ok) {
            const what = w.fault === 'not-present'
                ? `IOVA ${hex(cursor)} is not mapped in ${describeDomain(domain)}${domain.type === 'dma' ? ' (the default domain: only a kernel driver\'s DMA-API calls map into it)' : ''}`
                : w.fault === 'write-to-read-only'
                    ? `IOVA ${hex(cursor)} is mapped read-only in ${describeDomain(domain)}: the write is refused`
                    : w.fault === 'read-from-write-only'
                        ? `IOVA ${hex(cursor)} is mapped write-only in ${describeDomain(domain)}: the read is refused`
                        : `IOVA ${hex(cursor)} is beyond the width of ${describeDomain(domain)}`;
            return { segments, fault: { reason: w.fault, iova: cursor, pasid, domain: domain.id, level: w.level, message: `${who}: ${what}` } };
        }
        const within = cursor % w.pageSize;
        const take = w.pageSize - within < end - cursor ? w.pageSize - within : end - cursor;
        segments.push({ iova: cursor, length: take, pa: BigInt(w.pa), pageSize: w.pageSize, domain: domain.id, pasid });
        if (domain.dirtyTracking && domain.pgtable) {
            domain.pgtable = domain.pgtable.recordAccess(cursor, dir);
        }
        cursor += take;
    }
    return { segments: mergeSegments(segments) };
}

/** SVA: the IOMMU walks the process's own CPU page table. */
function svaDma(k: KernelState, domain: IommuDomain, who: string, dir: 'read' | 'write', iova: bigint, length: bigint, pasid: number | undefined): DmaResult {
    const proc = domain.svaProcess ? k.processes.get(domain.svaProcess) : undefined;
    const segments: DmaSegment[] = [];
    let cursor = iova;
    const end = iova + length;
    while (cursor < end) {
        const r = proc && !proc.exited ? vaToPa(proc.mm, cursor) : undefined;
        if (!r) {
            return { segments, fault: { reason: 'not-present', iova: cursor, pasid, domain: domain.id, message: `${who}: address ${hex(cursor)} is not mapped in ${domain.svaProcess}'s page table (SVA)` } };
        }
        if (dir === 'write' && !r.vma.writable) {
            return { segments, fault: { reason: 'write-to-read-only', iova: cursor, pasid, domain: domain.id, message: `${who}: ${hex(cursor)} is read-only in ${domain.svaProcess}` } };
        }
        const take = r.runLength < end - cursor ? r.runLength : end - cursor;
        segments.push({ iova: cursor, length: take, pa: BigInt(r.pa), pageSize: r.vma.folioSize, domain: domain.id, pasid });
        cursor += take;
    }
    return { segments: mergeSegments(segments) };
}

/** Joins pieces that are contiguous in both IOVA and PA (for readable results). */
export function mergeSegments(segs: DmaSegment[]): DmaSegment[] {
    const out: DmaSegment[] = [];
    for (const s of segs) {
        const last = out[out.length - 1];
        if (last && last.iova + last.length === s.iova && last.pa + last.length === s.pa && last.pageSize === s.pageSize && last.domain === s.domain) {
            out[out.length - 1] = { ...last, length: last.length + s.length };
        } else {
            out.push(s);
        }
    }
    return out;
}
