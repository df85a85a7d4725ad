/** `iommu-scenarios run FILE [--scenario NAME]`: each step of each scenario with its result. */

import type { ScenarioRun } from '../../engine/runner.js';
import type { StepResult, OutValue } from '../../engine/step.js';
import { formatSize } from '../../engine/u64.js';
import type { IommuFile, Scenario } from '../generated/ast.js';
import type { LoadedWorkspace } from './workspace.js';
import { CliError } from './workspace.js';

export interface RunStepJson {
    readonly line: number;
    readonly process: string;
    readonly op: string;
    /** `ok`, an errno name, `fault`, `blocked`, `not-run`, `invalid`. */
    readonly result: string;
    readonly values: Record<string, number | string>;
    readonly reason?: string;
    /** Whether the step met its `expect` (or, without one, succeeded). */
    readonly expected: boolean;
    readonly expectation?: string;
}

export interface RunScenarioJson {
    readonly name: string;
    readonly machine: string;
    readonly steps: RunStepJson[];
    readonly passed: boolean;
}

/** A u64 as JSON: a number while it is exact, a hex string beyond 2^53. */
export function jsonValue(v: bigint): number | string {
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : `0x${BigInt.asUintN(64, v).toString(16)}`;
}

export function resultName(r: StepResult): string {
    return r.outcome === 'errno' ? r.errno! : r.outcome;
}

function values(vs: Readonly<Record<string, OutValue>>): Record<string, number | string> {
    const out: Record<string, number | string> = {};
    for (const [k, v] of Object.entries(vs)) {
        out[k] = jsonValue(v.value);
    }
    return out;
}

export function scenarioJson(run: ScenarioRun): RunScenarioJson {
    const steps = run.results.map((r) => {
        const step = run.program.steps[r.step]!;
        const reason = r.outcome === 'ok' ? undefined : r.reason ?? r.waitingFor;
        return {
            line: (step.loc?.start.line ?? -1) + 1,
            process: r.process,
            op: r.op,
            result: resultName(r),
            values: values(r.values),
            ...(reason ? { reason } : {}),
            expected: r.expectation?.matched ?? false,
            ...(wokenBy(run, r.step) !== undefined ? { blockedUntilLine: wokenBy(run, r.step) } : {}),
            ...(r.expectation?.matched === false && r.expectation.message ? { expectation: r.expectation.message } : {}),
        };
    });
    return { name: run.program.name, machine: run.program.machine.name, steps, passed: steps.every((s) => s.expected) };
}

function describeValues(r: StepResult): string {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(r.values)) {
        if (k === 'page_size') {
            continue;
        }
        parts.push(`${k}=${v.display ?? (v.value > 9n ? `0x${v.value.toString(16)}` : `${v.value}`)}`);
    }
    if (r.dma && r.dma.segments.length > 0) {
        const s = r.dma.segments;
        parts.push(`${s.length} piece${s.length > 1 ? 's' : ''} of ${formatSize(s[0]!.pageSize)}`);
    }
    return parts.join(' ');
}

/** For a call that blocked and later completed: the line of the statement whose step woke it. */
export function wokenBy(run: ScenarioRun, step: number): number | undefined {
    const resume = run.ticks.find((t) => t.step === step && t.kind === 'resume');
    if (!resume || resume.index === 0) {
        return undefined;
    }
    const waker = run.ticks[resume.index - 1]!;
    return (run.program.steps[waker.step]?.loc?.start.line ?? -1) + 1;
}

/** One line per step: `line  process  op  → result  values  (reason)`, with ✗ where an expectation failed. */
export function formatRun(run: ScenarioRun): string {
    const lines = [`scenario ${run.program.name} on ${run.program.machine.name}`];
    const width = Math.max(...run.results.map((r) => r.op.length), 4);
    const pwidth = Math.max(...run.results.map((r) => r.process.length), 4);
    for (const r of run.results) {
        const step = run.program.steps[r.step]!;
        const line = String((step.loc?.start.line ?? -1) + 1).padStart(4);
        const mark = r.expectation?.matched ? ' ' : '✗';
        const vals = describeValues(r);
        const woke = wokenBy(run, r.step);
        const why = r.outcome === 'ok' ? (woke !== undefined ? `  (blocked until line ${woke})` : '') : `  ${r.reason ?? r.waitingFor ?? ''}`;
        const exp = r.expectation?.matched === false && step.expect ? `  [${r.expectation.message}]` : '';
        lines.push(`${mark}${line}  ${r.process.padEnd(pwidth)}  ${r.op.padEnd(width)}  → ${resultName(r)}${vals ? `  ${vals}` : ''}${why}${exp}`);
    }
    for (const b of run.stillBlocked) {
        lines.push(`  ${b.process} is still blocked at the end: ${b.waitingFor}`);
    }
    return lines.join('\n');
}

/** The scenarios to run: all of the document's, or the one named. */
export function selectScenarios(ws: LoadedWorkspace, name?: string): Scenario[] {
    const all = ws.documents.flatMap((d) => (d.parseResult.value as IommuFile).scenarios);
    if (name === undefined) {
        return all;
    }
    const found = all.filter((s) => s.name === name);
    if (found.length === 0) {
        throw new CliError(`no scenario '${name}' (scenarios: ${all.map((s) => s.name).join(', ') || 'none'})`);
    }
    return found;
}
