/**
 * Shared pieces of the iommufd tests: the machines of the shared examples, and builder
 * helpers the generic scenario builder lacks (array arguments, memfd steps, final state).
 */

import type { IommuSpec, MachineSpec, MdevSpec } from '../../../engine/machine/spec.js';
import type { ScenarioRun } from '../../../engine/runner.js';
import type { KernelState } from '../../../engine/state.js';
import type { ArgValue, Expr } from '../../../engine/step.js';
import type { IommufdCtx } from '../../../engine/iommufd/types.js';
import { ep, pci, rp } from '../machine/builders.js';
import { G, K, M, n, type ScenarioBuilder, v } from '../scenario.js';

export { G, K, M };

/** IOMMU_IOAS_MAP flags. */
export const FIXED_IOVA = 1n;
export const WRITEABLE = 2n;
export const READABLE = 4n;
export const RW = READABLE | WRITEABLE;

/** IOMMU_HWPT_ALLOC flags. */
export const NEST_PARENT = 1n;
export const DIRTY_TRACKING = 2n;
export const FAULT_ID_VALID = 4n;
export const ALLOC_PASID = 8n;

/** VFIO_DEVICE_ATTACH_PASID / DETACH_PASID. */
export const ATTACH_PASID = 1n;

export function vtdUnit(features: IommuSpec['features'], extra: Partial<IommuSpec> = {}): IommuSpec {
    return { name: 'dmar0', kind: 'intel-vtd', addressWidth: 48, pageSizes: [4n * K, 2n * M, 1n * G], pasidWidth: 20, features, ...extra };
}

/** /work/shared/examples/02-ioas-is-the-container.iommu, machine `server`. */
export const server: MachineSpec = {
    name: 'server',
    iommus: [vtdUnit(['coherent', 'enforce-coherency', 'intr-remap', 'nesting', 'dirty-tracking'])],
    segments: [pci(0, 'dmar0',
        rp('00:01.0', 'rp0', { acs: true }, ep('01:00.0', 'nvme0', { driver: 'nvme' })),
        rp('00:02.0', 'rp1', { acs: true }, ep('02:00.0', 'nic0', { driver: 'ice' })),
        rp('00:03.0', 'rp2', {}, ep('03:00.0', 'nicA', { driver: 'ixgbe' }), ep('03:00.1', 'nicB', { driver: 'ixgbe' })),
    )],
    platform: [],
    mdevs: [],
};

/** /work/shared/examples/03-pasids-sva-and-slices.iommu, machine `accel_host`. */
export const accelHost: MachineSpec = {
    name: 'accel_host',
    iommus: [vtdUnit(['coherent', 'enforce-coherency', 'intr-remap', 'nesting', 'sva'])],
    segments: [pci(0, 'dmar0',
        rp('00:01.0', 'rp0', { acs: true }, ep('01:00.0', 'dsa0', { driver: 'idxd', pasid: 20, ats: true, pri: true })),
        rp('00:02.0', 'rp1', { acs: true }, ep('02:00.0', 'dsa1', { driver: 'idxd', pasid: 20, ats: true, pri: true })),
    )],
    platform: [],
    mdevs: [{ name: 'wq_a', parent: 'dsa0', kind: 'pasid' }, { name: 'wq_b', parent: 'dsa0', kind: 'pasid' }] satisfies MdevSpec[],
};

/** A machine with one Intel unit and `nvme0` alone in its group, plus `nicA`/`nicB` sharing one. */
export function machineWith(unit: IommuSpec, opts: { cmdline?: string; kernel?: { major: number; minor: number }; mdevs?: MdevSpec[] } = {}): MachineSpec {
    return {
        name: 'm',
        kernel: opts.kernel,
        cmdline: opts.cmdline,
        iommus: [unit],
        segments: [pci(0, unit.name,
            rp('00:01.0', 'rp0', { acs: true }, ep('01:00.0', 'nvme0', { driver: 'nvme', pasid: 20, ats: true, pri: true })),
            rp('00:02.0', 'rp1', { acs: true }, ep('02:00.0', 'nic0', { driver: 'ice' })),
            rp('00:03.0', 'rp2', {}, ep('03:00.0', 'nicA', { driver: 'ixgbe' }), ep('03:00.1', 'nicB', { driver: 'ixgbe' })),
            rp('00:04.0', 'rp3', { acs: true }, ep('04:00.0', 'gpu0', { driver: 'i915' })),
        )],
        platform: [],
        mdevs: opts.mdevs ?? [],
    };
}

/** The default test machine: every VT-d feature, 48-bit, 4K/2M/1G, 20-bit PASIDs. */
export const full = machineWith(vtdUnit(['coherent', 'enforce-coherency', 'intr-remap', 'nesting', 'dirty-tracking', 'sva']));

/** An array argument: `[ { start: 0, last: 0xfff } ]`. */
export function arr(items: ReadonlyArray<Readonly<Record<string, bigint | number | Expr>>>): ArgValue {
    return {
        kind: 'array',
        items: items.map((it) => Object.fromEntries(Object.entries(it).map(([key, x]) => [key, { kind: 'expr', expr: typeof x === 'object' ? x : n(x) } as ArgValue]))),
    };
}

/** `let NAME = memfd SIZE [hugepage H]`. */
export function memfd(s: ScenarioBuilder, process: string, size: bigint, bind: string, hugepage?: bigint): number {
    s.steps.push({ op: 'memfd', size: n(size), hugepage: hugepage === undefined ? undefined : n(hugepage), process, bind });
    return s.steps.length - 1;
}

/** The kernel state after the last step. */
export function finalKernel(run: ScenarioRun): KernelState {
    const last = run.ticks[run.ticks.length - 1];
    return (last ? last.state : run.initial).kernel;
}

/** The only (or the numbered) iommufd context at the end. */
export function ctxOf(run: ScenarioRun, id?: number): IommufdCtx {
    const k = finalKernel(run);
    const ctx = id !== undefined ? k.iommufd.ctxs.get(id) : [...k.iommufd.ctxs.values()][0];
    if (!ctx) {
        throw new Error('no iommufd ctx');
    }
    return ctx;
}

/** The usual preamble: vfio-pci for `devs`, `/dev/iommu` as `iommufd`, each cdev bound (`<dev>_fd`, `<dev>_id`). */
export function bindAll(s: ScenarioBuilder, process: string, devs: readonly string[], opts: { rebind?: boolean } = {}): void {
    const p = s.process(process);
    if (opts.rebind !== false) {
        for (const d of devs) {
            p.unbind(d);
            p.bind(d, 'vfio-pci');
        }
    }
    p.open({ kind: 'literal', path: '/dev/iommu' }, 'iommufd');
    for (const d of devs) {
        p.open({ kind: 'vfio-device', device: d }, `${d}_fd`);
        p.ioctl('VFIO_DEVICE_BIND_IOMMUFD', v(`${d}_fd`), { iommufd: v('iommufd') }, { bind: `${d}_id` });
    }
}
