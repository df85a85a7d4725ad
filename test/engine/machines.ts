/**
 * Machines the engine tests share, written like the language's `machine` blocks: the
 * `workstation` of the language contract (/work/shared/design/language.md) and small machines
 * with one Intel VT-d unit whose features each test picks.
 */

import type { IommuFeature, IommuSpec, MachineSpec, PciSegmentSpec } from '../../engine/machine/spec.js';
import { bridge, ds, ep, pci, rp, sw } from './machine/builders.js';
import type { NodeBuilder } from './machine/builders.js';
import { SZ_1G, SZ_2M, SZ_4K } from '../../engine/u64.js';

/** Features of a modern VT-d unit: snoop control and interrupt remapping. */
export const MODERN: readonly IommuFeature[] = ['coherent', 'enforce-coherency', 'intr-remap'];

/** `iommu NAME intel-vtd { address-width W page-sizes ... pasid-width P features ... }`. */
export function vtdUnit(name = 'dmar0', opts: {
    readonly features?: readonly IommuFeature[];
    readonly addressWidth?: number;
    readonly pageSizes?: readonly bigint[];
    readonly pasidWidth?: number;
} = {}): IommuSpec {
    return {
        name, kind: 'intel-vtd', addressWidth: opts.addressWidth ?? 48,
        pageSizes: opts.pageSizes ?? [SZ_4K, SZ_2M, SZ_1G], pasidWidth: opts.pasidWidth,
        features: opts.features ?? MODERN,
    };
}

/** A machine from units, `pci` blocks and options (cmdline, memory). */
export function machineOf(
    iommus: readonly IommuSpec[],
    segments: readonly PciSegmentSpec[],
    opts: { readonly cmdline?: string; readonly name?: string; readonly mdevs?: MachineSpec['mdevs'] } = {},
): MachineSpec {
    return { name: opts.name ?? 'test', cmdline: opts.cmdline, iommus, segments, platform: [], mdevs: opts.mdevs ?? [] };
}

/**
 * One VT-d unit, and each given endpoint behind its own ACS root port (00:0N.0, bus N), so each
 * endpoint is alone in its group: group ids follow probe order (root ports 0..n-1 first, then
 * the endpoints n..2n-1).
 */
export function isolated(endpoints: readonly NodeBuilder[], opts: {
    readonly unit?: IommuSpec;
    readonly cmdline?: string;
    readonly mdevs?: MachineSpec['mdevs'];
} = {}): MachineSpec {
    const unit = opts.unit ?? vtdUnit();
    const ports = endpoints.map((e, i) => rp(`00:0${i + 1}.0`, `rp${i}`, { acs: true }, e));
    return machineOf([unit], [pci(0, unit.name, ...ports)], opts);
}

/**
 * The `workstation` of language.md. Groups (probe order: bus 0, then each bus below it):
 * 0 igpu, 1 rp0, 2 {rp1, nic0, nic1}, 3 {legacy, sound0}, 4 rp2, 5 nvme0, 6 sw0, 7 05:01.0,
 * 8 05:02.0 ... as pci_device_group derives them.
 */
export function workstation(cmdline?: string): MachineSpec {
    const unit = vtdUnit('dmar0', {
        pasidWidth: 20,
        features: ['coherent', 'enforce-coherency', 'intr-remap', 'nesting', 'dirty-tracking', 'sva'],
    });
    return {
        name: 'workstation', cmdline, iommus: [unit], platform: [],
        segments: [pci(0, 'dmar0',
            ep('00:02.0', 'igpu', { id: '8086:9a49', className: 'display', driver: 'i915' }),
            rp('00:1c.0', 'rp0', { acs: true }, ep('01:00.0', 'nvme0', { driver: 'nvme' })),
            rp('00:1d.0', 'rp1', {},
                ep('02:00.0', 'nic0', { driver: 'ixgbe' }),
                ep('02:00.1', 'nic1', { driver: 'ixgbe' })),
            bridge('00:1e.0', 'legacy', {}, ep('03:00.0', 'sound0', { driver: 'snd_hda_intel' })),
            rp('00:1f.0', 'rp2', { acs: true },
                sw('04:00.0', 'sw0', {},
                    ds('05:01.0', undefined, { acs: true },
                        ep('06:00.0', 'gpu0', { driver: 'nvidia', pasid: 20, ats: true, pri: true, sriov: 4 })),
                    ds('05:02.0', undefined, {}, ep('07:00.0', 'fpga0', { driver: null, noSnoop: true })))),
        )],
        mdevs: [{ name: 'vgpu0', parent: 'gpu0', kind: 'emulated' }, { name: 'vgpu1', parent: 'gpu0', kind: 'pasid' }],
    };
}
