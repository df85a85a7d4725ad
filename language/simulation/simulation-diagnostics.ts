/**
 * What a scenario run means for the user, as diagnostics on statements: a call that fails with
 * no `expect`, a mismatched `expect`, an unexpected DMA fault, a process still blocked at the
 * end, steps that never ran; plus the topology and assignment warnings a user wants to see.
 * Pure functions over the engine's results: the language server and the CLI show the same.
 */

import type { BootDiagnostic } from '../../engine/kernel.js';
import type { SourceLocation } from '../../engine/location.js';
import type { ScenarioRun } from '../../engine/runner.js';
import type { KernelState } from '../../engine/state.js';
import type { Step, StepResult } from '../../engine/step.js';
import { formatKernelError } from '../../engine/errno.js';
import { groupViability, deviceLabel } from '../../engine/inspect/kernel-views.js';

export type SimSeverity = 'error' | 'warning' | 'info' | 'hint';

export interface SimDiagnostic {
    readonly severity: SimSeverity;
    readonly code: string;
    readonly message: string;
    readonly loc?: SourceLocation;
}

/** Codes of engine-derived diagnostics (stable: code actions and the CLI key on them). */
export const SimulationCodes = {
    CallFails: 'call-fails',
    ExpectMismatch: 'expect-mismatch',
    DmaFault: 'dma-fault',
    BlockedAtEnd: 'blocked-at-end',
    NotRun: 'not-run',
    InvalidStep: 'invalid-step',
    GroupNotViable: 'group-not-viable',
    NoInterruptRemapping: 'no-interrupt-remapping',
    NoncoherentWithoutKvm: 'noncoherent-without-kvm',
    /** A nested DMA used an IOTLB entry the guest's stage-1 table no longer backs (no HWPT_INVALIDATE). */
    StaleIotlb: 'stale-iotlb',
    Truncated: 'run-truncated',
} as const;

/** Boot diagnostics the language's own validators already report (shown once, by them). */
const REPORTED_BY_LANGUAGE = new Set(['duplicate-name', 'pci-duplicate-bdf', 'unknown-iommu', 'duplicate-iommu']);

/** Where a repeated statement (loop body, procedure) produced this result. */
function context(step: Step): string {
    const parts: string[] = [];
    if (step.iteration && Object.keys(step.iteration).length > 0) {
        parts.push(Object.entries(step.iteration).map(([k, v]) => `${k} = ${v}`).join(', '));
    }
    if (step.frames && step.frames.length > 0) {
        const f = step.frames[step.frames.length - 1]!;
        parts.push(`in ${f.procedure}${f.callLoc ? ` called on line ${f.callLoc.start.line + 1}` : ''}`);
    }
    return parts.length > 0 ? ` (${parts.join('; ')})` : '';
}

function resultDiagnostic(step: Step, r: StepResult): SimDiagnostic | undefined {
    if (r.expectation?.matched) {
        return undefined;
    }
    const where = context(step);
    switch (r.outcome) {
        case 'blocked':
            return { severity: 'error', code: SimulationCodes.BlockedAtEnd, message: `still blocked when the scenario ends: ${r.waitingFor}${where}`, loc: step.loc };
        case 'not-run':
            return { severity: 'warning', code: SimulationCodes.NotRun, message: `never runs: ${r.reason ?? `${step.process} is blocked`}${where}`, loc: step.loc };
        case 'invalid':
            return { severity: 'error', code: SimulationCodes.InvalidStep, message: `cannot run: ${r.reason}${where}`, loc: step.loc };
        default:
            break;
    }
    if (step.expect) {
        return { severity: 'error', code: SimulationCodes.ExpectMismatch, message: `${r.expectation?.message ?? 'expectation not met'}${where}`, loc: step.loc };
    }
    if (r.outcome === 'errno') {
        return { severity: 'error', code: SimulationCodes.CallFails, message: `${formatKernelError(r.errno!, r.reason ?? '', r.source)}${where}`, loc: step.loc };
    }
    if (r.outcome === 'fault') {
        return { severity: 'error', code: SimulationCodes.DmaFault, message: `DMA fault: ${r.reason}${where}`, loc: step.loc };
    }
    return undefined;
}

/** Diagnostics of one scenario run (one per statement and message: loop bodies report once). */
export function runDiagnostics(run: ScenarioRun): SimDiagnostic[] {
    const out: SimDiagnostic[] = [];
    const seen = new Set<string>();
    const push = (d: SimDiagnostic) => {
        const key = `${d.loc?.start.line}:${d.loc?.start.character}:${d.code}:${d.message}`;
        if (!seen.has(key)) {
            seen.add(key);
            out.push(d);
        }
    };
    run.results.forEach((r, i) => {
        const d = resultDiagnostic(run.program.steps[i]!, r);
        if (d) {
            push(d);
        }
        if (r.dma?.segments.some((s) => s.iotlb === 'stale')) {
            const step = run.program.steps[i]!;
            const why = r.outcome === 'ok' ? r.reason : 'the guest changed its stage-1 table without IOMMU_HWPT_INVALIDATE';
            push({ severity: 'warning', code: SimulationCodes.StaleIotlb, message: `stale IOTLB: ${why ?? 'a stale IOTLB entry was used'}${context(step)}`, loc: step.loc });
        }
    });
    if (run.truncated) {
        push({ severity: 'warning', code: SimulationCodes.Truncated, message: `the run stopped after ${run.ticks.length} steps`, loc: run.program.loc });
    }
    for (const d of assignmentLints(run)) {
        push(d);
    }
    return out;
}

/** The machine's boot diagnostics and its lints, for the machine block. */
export function bootDiagnostics(diags: readonly BootDiagnostic[], kernel: KernelState): SimDiagnostic[] {
    const out: SimDiagnostic[] = diags
        .filter((d) => !REPORTED_BY_LANGUAGE.has(d.code))
        .map((d) => ({ severity: d.severity, code: d.code, message: d.message, loc: d.loc }));
    const params = kernel.config.params;
    for (const unit of kernel.iommus.values()) {
        if (!unit.intrRemap) {
            const optedIn = params.type1AllowUnsafeInterrupts || params.iommufdAllowUnsafeInterrupts;
            out.push({
                severity: optedIn ? 'info' : 'warning', code: SimulationCodes.NoInterruptRemapping, loc: unit.loc,
                message: optedIn
                    ? `${unit.name} has no interrupt remapping: MSIs are not isolated; allow_unsafe_interrupts lets VFIO use it anyway`
                    : `${unit.name} has no interrupt remapping: MSIs are not isolated, so VFIO type1 and iommufd refuse its devices unless allow_unsafe_interrupts is set`,
            });
        }
    }
    return out;
}

/**
 * Warnings about how devices are assigned, from the scenario's states:
 * - a device bound to a VFIO driver whose group still has a device on a kernel driver (the group
 *   cannot be claimed until that device leaves it);
 * - a device doing no-snoop DMA, assigned to a process that runs a VM, while its IOMMU cannot
 *   force snooping and no KVM-VFIO device was told about it (guest WBINVD would be a no-op).
 */
function assignmentLints(run: ScenarioRun): SimDiagnostic[] {
    const out: SimDiagnostic[] = [];
    const steps = run.program.steps;
    for (const t of run.ticks) {
        const step = steps[t.step]!;
        if (step.op !== 'bind' || t.outcome.outcome !== 'ok') {
            continue;
        }
        const k = t.state.kernel;
        const dev = k.devices.get(step.device);
        if (!dev || dev.group === undefined || !k.vfio.devices.has(dev.name)) {
            continue;
        }
        // Only when the scenario never fixes it later: look at the final state too.
        const final = run.ticks[run.ticks.length - 1]!.state.kernel;
        const g = k.groups.get(dev.group)!;
        const v = groupViability(k, g);
        const gEnd = final.groups.get(dev.group);
        if (!v.viable && !g.owner && gEnd && !groupViability(final, gEnd).viable && !gEnd.owner) {
            out.push({
                severity: 'warning', code: SimulationCodes.GroupNotViable, loc: step.loc,
                message: `${deviceLabel(dev)} shares IOMMU group ${g.id} with a device still on a kernel driver (${v.why}): the group is not viable for VFIO`,
            });
        }
    }
    const last = run.ticks[run.ticks.length - 1]?.state.kernel;
    if (last && last.kvm.vms.size > 0) {
        for (const v of last.vfio.devices.values()) {
            const dev = last.devices.get(v.device);
            const unit = dev?.iommu ? last.iommus.get(dev.iommu) : undefined;
            if (!dev || !dev.noSnoop || !unit || unit.enforceCoherency || v.open_count === 0) {
                continue;
            }
            const told = [...last.kvm.vms.values()].some((vm) => vm.vfioDevice?.files.some((id) => {
                const f = last.files.get(id);
                return f && ((f.kind === 'vfio-device' && f.object === dev.name) || (f.kind === 'vfio-group' && last.vfio.groups.get(f.object as number)?.iommuGroup === dev.group));
            }));
            if (!told) {
                const open = [...run.ticks].reverse().find((t) => {
                    const s = steps[t.step]!;
                    return (s.op === 'ioctl' && s.ioctl === 'VFIO_GROUP_GET_DEVICE_FD') || (s.op === 'open' && s.path.kind === 'vfio-device' && s.path.device === dev.name);
                });
                out.push({
                    severity: 'warning', code: SimulationCodes.NoncoherentWithoutKvm, loc: open ? steps[open.step]!.loc : run.program.loc,
                    message: `${deviceLabel(dev)} issues no-snoop DMA and ${unit.name} cannot force snooping, but no KVM-VFIO device knows about it: KVM will not emulate the guest's WBINVD (add it with KVM_DEV_VFIO_FILE_ADD)`,
                });
            }
        }
    }
    return out;
}
