/**
 * Builders for nested-translation tests: a VMM that maps guest RAM into an IOAS (stage 2 through a
 * NEST_PARENT HWPT), a nested HWPT for the guest's stage 1, and `guest-map` / `guest-unmap` steps.
 */

import type { IommuSpec, MachineSpec } from '../../../engine/machine/spec.js';
import type { Expr } from '../../../engine/step.js';
import { SZ_2M } from '../../../engine/u64.js';
import { NEST_PARENT, RW, FIXED_IOVA, arr, bindAll, machineWith } from '../iommufd/helpers.js';
import { M, add, n, type ScenarioBuilder, scenario, v } from '../scenario.js';

export { NEST_PARENT, RW, FIXED_IOVA, arr };

/** `guest-map HWPT iova IOVA to GPA len N [read] [write]`. */
export function guestMap(s: ScenarioBuilder, process: string, hwpt: Expr, iova: bigint, gpa: bigint, length: bigint, prot: { read?: boolean; write?: boolean } = { read: true, write: true }): number {
    s.steps.push({ op: 'guest-map', hwpt, iova: n(iova), gpa: n(gpa), length: n(length), read: !!prot.read, write: !!prot.write, process });
    return s.steps.length - 1;
}

/** `guest-unmap HWPT iova IOVA len N`. */
export function guestUnmap(s: ScenarioBuilder, process: string, hwpt: Expr, iova: bigint, length: bigint): number {
    s.steps.push({ op: 'guest-unmap', hwpt, iova: n(iova), length: n(length), process });
    return s.steps.length - 1;
}

/** A VT-d unit that nests (48-bit, 4K/2M/1G, 20-bit PASIDs). */
export const vtdNesting: IommuSpec = {
    name: 'dmar0', kind: 'intel-vtd', addressWidth: 48, pageSizes: [4096n, SZ_2M, 1n << 30n], pasidWidth: 20,
    features: ['coherent', 'enforce-coherency', 'intr-remap', 'nesting', 'dirty-tracking'],
};

/** An SMMUv3 that nests. */
export const smmuNesting: IommuSpec = {
    name: 'smmu0', kind: 'arm-smmu-v3', addressWidth: 48, pageSizes: [4096n, SZ_2M, 1n << 30n],
    features: ['coherent', 'enforce-coherency', 'intr-remap', 'nesting'],
};

export const vtdMachine: MachineSpec = machineWith(vtdNesting);
export const smmuMachine: MachineSpec = machineWith(smmuNesting);

/**
 * The VMM's side: nvme0 bound to an iommufd, `ram` (guest RAM, `ramSize` bytes, 2M huge pages
 * with `huge`) mapped at IOVA = GPA 0 in `ioas` (as two areas split at `split`, if given), and
 * `s2`, the NEST_PARENT HWPT over it.
 */
export function vmm(machine: MachineSpec, opts: { ramSize?: bigint; huge?: boolean; devices?: readonly string[]; split?: bigint } = {}): ScenarioBuilder {
    const s = scenario(machine);
    const devs = opts.devices ?? ['nvme0'];
    bindAll(s, 'vmm', devs);
    const p = s.process('vmm');
    const size = opts.ramSize ?? 8n * M;
    p.mmap(size, 'ram', opts.huge ? { hugepage: SZ_2M } : {});
    p.ioctl('IOMMU_IOAS_ALLOC', v('iommufd'), {}, { bind: 'ioas' });
    const areas = opts.split === undefined ? [[0n, size]] : [[0n, opts.split], [opts.split, size - opts.split]];
    for (const [gpa, length] of areas) {
        p.ioctl('IOMMU_IOAS_MAP', v('iommufd'), { ioas_id: v('ioas'), user_va: add(v('ram'), n(gpa!)), length: length!, iova: gpa!, flags: FIXED_IOVA | RW });
    }
    p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v(`${devs[0]}_id`), pt_id: v('ioas'), flags: NEST_PARENT }, { bind: 's2' });
    return s;
}

/** A VT-d nested HWPT `name` over `s2`, its stage-1 root at `pgtbl`. */
export function vtdNested(s: ScenarioBuilder, name: string, pgtbl: bigint, opts: { addrWidth?: number; flags?: bigint; dev?: string } = {}): number {
    const p = s.process('vmm');
    const data = arr([{ pgtbl_addr: pgtbl, addr_width: opts.addrWidth ?? 48 }]);
    return p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v(`${opts.dev ?? 'nvme0'}_id`), pt_id: v('s2'), data_type: 1, data_uptr: data, flags: opts.flags ?? 0n }, { bind: name });
}

/**
 * SMMUv3: a vIOMMU `viommu` over `s2` and nvme0's vDEVICE (unless `setup` is false: they exist),
 * and a vSTE nested HWPT `name` with STE words `ste0`, `ste1`.
 */
export function smmuNested(s: ScenarioBuilder, name: string, ste0: bigint, ste1 = 0n, setup = true): number {
    const p = s.process('vmm');
    if (setup) {
        p.ioctl('IOMMU_VIOMMU_ALLOC', v('iommufd'), { type: 1, dev_id: v('nvme0_id'), hwpt_id: v('s2') }, { bind: 'viommu' });
        p.ioctl('IOMMU_VDEVICE_ALLOC', v('iommufd'), { viommu_id: v('viommu'), dev_id: v('nvme0_id'), virt_id: 0x10 }, { bind: 'vdev' });
    }
    return p.ioctl('IOMMU_HWPT_ALLOC', v('iommufd'), { dev_id: v('nvme0_id'), pt_id: v('viommu'), data_type: 2, data_uptr: arr([{ 'ste[0]': ste0, 'ste[1]': ste1 }]) }, { bind: name });
}

/** A guest STE: V, Config 5 (stage-1 translate), S1ContextPtr = `cdTable`. */
export function steS1(cdTable: bigint): bigint {
    return 1n | (5n << 1n) | cdTable;
}

/** `VFIO_DEVICE_ATTACH_IOMMUFD_PT(dev_fd, pt_id: hwpt)`. */
export function attach(s: ScenarioBuilder, dev: string, hwpt: string, pasid?: bigint): number {
    const p = s.process('vmm');
    return pasid === undefined
        ? p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v(`${dev}_fd`), { pt_id: v(hwpt) })
        : p.ioctl('VFIO_DEVICE_ATTACH_IOMMUFD_PT', v(`${dev}_fd`), { pt_id: v(hwpt), flags: 1n, pasid });
}
