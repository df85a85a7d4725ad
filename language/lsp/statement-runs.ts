/**
 * Where a statement ran in its scenario's simulation: the steps lowered from it (one per loop
 * iteration and procedure call), the result of each, and the kernel state just before and just
 * after. Hovers, inlay hints and code actions read the engine's results through this, so no view
 * runs or re-derives anything itself.
 */

import { AstUtils, type AstNode } from 'langium';
import type { RunnerState, ScenarioRun } from '../../engine/runner.js';
import type { KernelState } from '../../engine/state.js';
import type { Step, StepResult } from '../../engine/step.js';
import { isMachine, isScenario, isStatement, type Machine, type Scenario, type Statement } from '../generated/ast.js';
import type { IommuServices } from '../iommu-module.js';
import type { ScenarioSimulation, ScenarioSimulator } from '../simulation/scenario-simulator.js';

/** One run of a statement: a step of the program and what the engine made of it. */
export interface StatementRun {
    /** Index into the program's steps. */
    readonly index: number;
    readonly step: Step;
    readonly result: StepResult;
    /** State just before the step's first tick (for a step that never ran: the final state). */
    readonly before: RunnerState;
    /** State after the step's final tick; undefined when it never ran. */
    readonly after?: RunnerState;
}

/** The kernel at a point of a scenario or a machine, and how to say where that point is. */
export interface KernelPoint {
    readonly kernel: KernelState;
    /** `before line 14 (qemu)`, `after boot`... */
    readonly where: string;
    /** The statement's runs, when the point is a statement of a simulated scenario. */
    readonly runs?: readonly StatementRun[];
}

/** Per run: steps by statement start, and the first tick of each step. */
interface RunIndex {
    readonly byStart: ReadonlyMap<string, readonly number[]>;
    readonly firstTick: readonly number[];
}

/** Finds the runs of statements in their scenario's simulation. */
export class StatementRuns {
    protected readonly simulator: ScenarioSimulator;
    protected readonly indexes = new WeakMap<ScenarioRun, RunIndex>();

    constructor(services: IommuServices) {
        this.simulator = services.simulation.ScenarioSimulator;
    }

    /**
     * The simulation of a scenario: validation's run of the current workspace state, or a new
     * one when validation has not run it (undefined when the scenario cannot run).
     */
    simulationOf(scenario: Scenario): ScenarioSimulation | undefined {
        const cached = this.simulator.cached(scenario);
        if (cached) {
            return cached;
        }
        try {
            return this.simulator.simulateSync(scenario);
        } catch {
            // A document being typed may not lower yet (its validation reports why): no results.
            return undefined;
        }
    }

    /** The statement a node belongs to (itself, or its nearest containing statement). */
    statementOf(node: AstNode): (AstNode & Statement) | undefined {
        return AstUtils.getContainerOfType(node, isStatement) as (AstNode & Statement) | undefined;
    }

    /** Every run of a statement, in execution order of the program (empty: never lowered or not simulated). */
    runsOf(statement: AstNode & Statement): StatementRun[] {
        const scenario = AstUtils.getContainerOfType(statement, isScenario);
        const start = statement.$cstNode?.range.start;
        const sim = scenario && start ? this.simulationOf(scenario) : undefined;
        if (!sim || !start) {
            return [];
        }
        const index = this.indexOf(sim.run);
        return (index.byStart.get(`${start.line}:${start.character}`) ?? []).map(i => this.runAt(sim.run, index, i));
    }

    /**
     * The kernel just before `node`'s statement runs (its first run), or after boot for a node
     * of a machine (or of a scenario that cannot run, on its machine).
     */
    kernelAt(node: AstNode): KernelPoint | undefined {
        const machine = AstUtils.getContainerOfType(node, isMachine);
        if (machine) {
            return { kernel: this.simulator.boot(machine).kernel, where: 'after boot' };
        }
        const statement = this.statementOf(node);
        const scenario = AstUtils.getContainerOfType(node, isScenario);
        if (statement) {
            const runs = this.runsOf(statement);
            const first = runs[0];
            if (first) {
                const line = (statement.$cstNode?.range.start.line ?? 0) + 1;
                const times = runs.length > 1 ? `, first of ${runs.length} runs` : '';
                return { kernel: first.before.kernel, where: `before line ${line} (${first.step.process}${times})`, runs };
            }
        }
        const target: Machine | undefined = scenario?.machine.ref;
        return target ? { kernel: this.simulator.boot(target).kernel, where: `after boot of ${target.name} (the scenario did not run here)` } : undefined;
    }

    protected runAt(run: ScenarioRun, index: RunIndex, i: number): StatementRun {
        const result = run.results[i]!;
        const first = index.firstTick[i] ?? -1;
        const final = run.ticks[run.ticks.length - 1]?.state ?? run.initial;
        const before = first < 0 ? final : first === 0 ? run.initial : run.ticks[first - 1]!.state;
        const after = result.tick >= 0 ? run.ticks[result.tick]?.state : undefined;
        return { index: i, step: run.program.steps[i]!, result, before, after };
    }

    protected indexOf(run: ScenarioRun): RunIndex {
        let index = this.indexes.get(run);
        if (!index) {
            const byStart = new Map<string, number[]>();
            run.program.steps.forEach((step, i) => {
                if (step.loc) {
                    const key = `${step.loc.start.line}:${step.loc.start.character}`;
                    const list = byStart.get(key);
                    if (list) {
                        list.push(i);
                    } else {
                        byStart.set(key, [i]);
                    }
                }
            });
            const firstTick: number[] = [];
            for (const tick of run.ticks) {
                firstTick[tick.step] ??= tick.index;
            }
            index = { byStart, firstTick };
            this.indexes.set(run, index);
        }
        return index;
    }
}
