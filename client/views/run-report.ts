/**
 * What "Run" shows: an `iommu/runScenario` result as a one-line summary (notification) and as a
 * step-by-step report (output channel), and per `expect` the outcome the Testing view records.
 */

import type { Range, RunScenarioResult, RunStepItem } from '../../language/protocol/messages.js';

/** `passed` / `failed: 2 of 14 steps did not match`. */
export function runSummary(result: RunScenarioResult): string {
    const bad = result.steps.filter((s) => !s.matched).length;
    if (result.passed) {
        return `Scenario ${result.scenario} passed: ${result.steps.length} step${result.steps.length === 1 ? '' : 's'}, all as expected.`;
    }
    const parts: string[] = [];
    if (bad > 0) {
        parts.push(`${bad} of ${result.steps.length} step${result.steps.length === 1 ? '' : 's'} not as expected`);
    }
    if (result.problems.length > 0) {
        parts.push(result.problems[0]!);
    }
    return `Scenario ${result.scenario} failed: ${parts.join('; ') || 'see the report'}.`;
}

/** `L14` for a 0-based range: the 1-based line as the user reads it. */
function lineLabel(range: Range | undefined): string {
    return range ? `L${range.start.line + 1}` : '   ';
}

/** One line per step: where, which process, what, what Linux returned, and why it did not match. */
export function runReport(result: RunScenarioResult, file: string): string[] {
    const lines = [`${result.passed ? 'PASS' : 'FAIL'} ${result.scenario} (${file})`];
    const width = Math.max(0, ...result.steps.map((s) => s.process.length));
    for (const step of result.steps) {
        const mark = step.matched ? '✓' : '✗';
        const head = `  ${mark} ${lineLabel(step.range).padEnd(5)} ${step.process.padEnd(width)}  ${step.op} → ${step.result}`;
        lines.push(step.message ? `${head}: ${step.message}` : head);
    }
    for (const problem of result.problems) {
        lines.push(`  ! ${problem}`);
    }
    return lines;
}

/** The Testing view's outcome of one expect. */
export interface ExpectOutcome {
    readonly passed: boolean;
    readonly message?: string;
    readonly range?: Range;
    /** `ok`, `EBUSY`, `fault`... what the simulated kernel returned. */
    readonly actual: string;
}

/** The outcomes of the expects a run reached, by expect id; expects not reached are absent. */
export function expectOutcomes(result: RunScenarioResult): Map<string, ExpectOutcome> {
    const out = new Map<string, ExpectOutcome>();
    for (const step of result.steps) {
        if (step.expectId === undefined) {
            continue;
        }
        const previous = out.get(step.expectId);
        // a statement in a loop runs more than once: the first failure is the one to show
        if (previous && !previous.passed) {
            continue;
        }
        out.set(step.expectId, outcomeOf(step));
    }
    return out;
}

function outcomeOf(step: RunStepItem): ExpectOutcome {
    const message = step.matched ? undefined : step.message ?? `${step.op} returned ${step.result}`;
    return { passed: step.matched, actual: step.result, ...(message === undefined ? {} : { message }), ...(step.range ? { range: step.range } : {}) };
}

/** Why a whole scenario failed: steps without an expect that failed, and problems outside steps. */
export function scenarioFailures(result: RunScenarioResult): Array<{ message: string; range?: Range }> {
    const failures: Array<{ message: string; range?: Range }> = result.steps
        .filter((s) => !s.matched && s.expectId === undefined)
        .map((s) => ({ message: s.message ?? `${s.op} returned ${s.result}`, ...(s.range ? { range: s.range } : {}) }));
    return [...failures, ...result.problems.map((message) => ({ message }))];
}
