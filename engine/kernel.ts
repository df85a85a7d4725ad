/**
 * Booting the simulated kernel from a `MachineSpec`: kernel parameters, IOMMU units, PCI
 * enumeration, IOMMU groups and their default domains, the drivers bound at boot, and the
 * machine's mdevs. The result is a plain `KernelState` value; steps change it through
 * `applyOp`, which returns a new value sharing everything unchanged (immer).
 */

import { Immer, enableMapSet } from 'immer';
import { KernelError } from './errno.js';
import type { SourceLocation } from './location.js';
import { setupDefaultDomain } from './iommu/core.js';
import { buildIommuUnit } from './iommu/unit.js';
import { deriveGroups } from './machine/groups.js';
import type { MachineSpec } from './machine/spec.js';
import { NEWEST_KERNEL, formatKernelVersion, kernelAtLeast } from './machine/spec.js';
import { createMdev, driverProbe } from './machine/sysfs.js';
import { PhysMemory } from './mm/phys-memory.js';
import { parseCmdline } from './params.js';
import type { Device, IommuGroup, IommuUnit, KernelState } from './state.js';
import type { EvaluatedOp, OpOutcome } from './syscalls/execute.js';
import { executeOp, failureOutcome } from './syscalls/execute.js';

enableMapSet();
/** Our own immer instance: no auto-freeze (snapshots are never mutated; freezing costs time). */
const immer = new Immer({ autoFreeze: false });

/** The oldest kernel whose uAPI the engine models (VFIO's legacy interfaces). */
export const OLDEST_KERNEL = { major: 3, minor: 6 } as const;

export interface BootDiagnostic {
    readonly severity: 'error' | 'warning' | 'info';
    readonly code: string;
    readonly message: string;
    readonly loc?: SourceLocation;
}

export interface BootResult {
    readonly kernel: KernelState;
    readonly diagnostics: readonly BootDiagnostic[];
}

function emptyState(spec: MachineSpec, diagnostics: BootDiagnostic[]): KernelState {
    const parsed = parseCmdline(spec.cmdline);
    for (const name of parsed.unknown) {
        diagnostics.push({ severity: 'warning', code: 'unknown-parameter', message: `kernel parameter '${name}' is not modeled by the engine; it has no effect here`, loc: spec.loc });
    }
    for (const bad of parsed.invalid) {
        diagnostics.push({ severity: 'error', code: 'invalid-parameter', message: `kernel parameter '${bad}' has an invalid value`, loc: spec.loc });
    }
    const version = spec.kernel ?? NEWEST_KERNEL;
    if (!kernelAtLeast(version, OLDEST_KERNEL.major, OLDEST_KERNEL.minor) || kernelAtLeast(version, NEWEST_KERNEL.major, NEWEST_KERNEL.minor + 1)) {
        diagnostics.push({
            severity: 'warning', code: 'kernel-version',
            message: `kernel ${formatKernelVersion(version)} is outside what the engine models (${OLDEST_KERNEL.major}.${OLDEST_KERNEL.minor} to ${formatKernelVersion(NEWEST_KERNEL)}); the nearest modeled uAPI is used`,
            loc: spec.loc,
        });
    }
    const memory = spec.memory ?? 16n * 1024n * 1024n * 1024n;
    const iommus = new Map<string, IommuUnit>();
    for (const u of spec.iommus) {
        if (iommus.has(u.name)) {
            diagnostics.push({ severity: 'error', code: 'duplicate-iommu', message: `IOMMU unit '${u.name}' is declared twice`, loc: u.loc });
            continue;
        }
        iommus.set(u.name, buildIommuUnit(u, parsed.params));
    }
    return {
        config: { machine: spec.name, version, memory, pageSize: BigInt(spec.pageSize ?? 4096), params: parsed.params },
        iommus,
        devices: new Map(),
        devicesByDevName: new Map(),
        groups: new Map(),
        domains: new Map(),
        files: new Map(),
        processes: new Map(),
        memfds: new Map(),
        vfio: { groups: new Map(), containers: new Map(), devices: new Map() },
        iommufd: { ctxs: new Map() },
        kvm: { vms: new Map() },
        physTop: Number(memory),
        physMemory: PhysMemory.empty(),
        globalPasids: new Map(),
        svaBonds: new Map(),
        userLockedVm: new Map(),
        next: { file: 1, domain: 1, container: 1, ctx: 1, vm: 1, memfd: 1, pid: 1000, vfioGroup: 1 },
        log: [],
    };
}

/** `dev_iommu_get_max_pasids`: the smaller of the device's PASID width and the IOMMU's. */
function maxPasidsOf(unit: IommuUnit | undefined, pasidWidth: number): number {
    if (!unit || unit.maxPasids === 0 || pasidWidth <= 0) {
        return 0;
    }
    return Math.min(2 ** Math.min(pasidWidth, 20), unit.maxPasids);
}

/** Boots a machine: the kernel state right after boot, and what the spec got wrong. */
export function bootKernel(spec: MachineSpec): BootResult {
    const diagnostics: BootDiagnostic[] = [];
    const k = emptyState(spec, diagnostics);
    const derived = deriveGroups(spec);
    for (const d of derived.diagnostics) {
        diagnostics.push({ severity: d.severity, code: d.code, message: d.message, loc: d.loc });
    }
    const initialDrivers: Array<[string, string, SourceLocation | undefined]> = [];
    for (const e of derived.devices) {
        const unit = e.iommu ? k.iommus.get(e.iommu) : undefined;
        const dev: Device = {
            name: e.name, devName: e.devName, bus: 'pci', pci: e.pci, driver: null, iommu: unit ? e.iommu : undefined,
            maxPasids: maxPasidsOf(unit, e.pci.pasidWidth), noSnoop: e.noSnoop, loc: e.loc, pasids: new Map(),
        };
        k.devices.set(dev.name, dev);
        k.devicesByDevName.set(dev.devName, dev.name);
        if (e.driver) {
            initialDrivers.push([e.name, e.driver, e.loc]);
        }
    }
    for (const p of spec.platform) {
        if (k.devices.has(p.name)) {
            continue;
        }
        const unit = p.iommu ? k.iommus.get(p.iommu) : undefined;
        const dev: Device = {
            name: p.name, devName: p.name, bus: 'platform', driver: null, iommu: unit ? p.iommu : undefined,
            maxPasids: maxPasidsOf(unit, p.pasidWidth ?? 0), noSnoop: !!p.noSnoop, loc: p.loc, pasids: new Map(),
        };
        k.devices.set(dev.name, dev);
        k.devicesByDevName.set(dev.devName, dev.name);
        if (p.driver) {
            initialDrivers.push([p.name, p.driver, p.loc]);
        }
    }
    for (const g of derived.groups) {
        const members = g.devices.filter((n) => k.devices.has(n));
        if (members.length === 0) {
            continue;
        }
        const first = k.devices.get(members[0]!)!;
        const group: IommuGroup = {
            id: g.id, devices: members, iommu: first.iommu, owner_cnt: 0, owner: null,
            domain: -1, default_domain: -1, pasid_array: new Map(),
        };
        k.groups.set(g.id, group);
        for (const n of members) {
            k.devices.get(n)!.group = g.id;
        }
    }
    for (const group of [...k.groups.values()].sort((a, b) => a.id - b.id)) {
        try {
            setupDefaultDomain(k, group);
        } catch (e) {
            if (!(e instanceof KernelError)) {
                throw e;
            }
            diagnostics.push({ severity: 'error', code: 'default-domain', message: `group ${group.id}: ${e.reason}` });
        }
    }
    for (const [name, driver, loc] of initialDrivers) {
        try {
            driverProbe(k, k.devices.get(name)!, driver);
        } catch (e) {
            if (!(e instanceof KernelError)) {
                throw e;
            }
            diagnostics.push({ severity: 'error', code: 'boot-bind', message: `${driver} cannot bind ${name} at boot: ${e.errno}: ${e.reason}`, loc });
        }
    }
    for (const m of spec.mdevs) {
        try {
            createMdev(k, undefined, m.name, m.parent, m.kind);
        } catch (e) {
            if (!(e instanceof KernelError)) {
                throw e;
            }
            diagnostics.push({ severity: 'error', code: 'mdev', message: `mdev ${m.name}: ${e.errno}: ${e.reason}`, loc: m.loc });
        }
    }
    return { kernel: k, diagnostics };
}

/**
 * Runs one operation for a process on a kernel value, returning the next value (sharing all that
 * did not change) and the outcome. A failed call returns the same value.
 */
export function applyOp(kernel: KernelState, process: string, op: EvaluatedOp): { kernel: KernelState; outcome: OpOutcome } {
    let outcome: OpOutcome | undefined;
    try {
        const next = immer.produce(kernel, (draft) => {
            const k = draft as unknown as KernelState;
            const proc = k.processes.get(process);
            if (!proc) {
                throw new Error(`engine invariant: process ${process} does not exist`);
            }
            outcome = executeOp(k, proc, op);
        });
        return { kernel: next, outcome: outcome! };
    } catch (e) {
        // The draft is discarded: a call that fails changes nothing, as Linux checks before it acts.
        return { kernel, outcome: failureOutcome(op, e) };
    }
}

/** Runs an arbitrary change on a kernel value (process creation, test setup). */
export function updateKernel(kernel: KernelState, fn: (k: KernelState) => void): KernelState {
    return immer.produce(kernel, (draft) => {
        fn(draft as unknown as KernelState);
    });
}
