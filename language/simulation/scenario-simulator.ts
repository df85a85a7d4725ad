/**
 * Runs scenarios on the engine for everything the editor shows (diagnostics, hovers, inlay
 * hints, code lenses, the CLI). One run per scenario and workspace state, shared by all of them.
 * A new run starts from the snapshot before the first changed step of the previous run of the
 * same scenario, and yields to the event loop between chunks so a newer edit can cancel it.
 */

import { Cancellation, WorkspaceCache, interruptAndCheck, type LangiumDocument } from 'langium';

type CancellationToken = Cancellation.CancellationToken;
const CancellationToken = Cancellation.CancellationToken;
import { bootKernel, type BootResult } from '../../engine/kernel.js';
import { runScenarioSteps, type ScenarioRun } from '../../engine/runner.js';
import type { ScenarioProgram } from '../../engine/step.js';
import type { KernelVersion, MachineSpec } from '../../engine/machine/spec.js';
import type { IommuFile, Machine, Scenario } from '../generated/ast.js';
import type { IommuServices } from '../iommu-module.js';
import type { ScenarioLowering } from '../lowering/scenario-lowering.js';

export interface ScenarioSimulation {
    readonly scenario: Scenario;
    readonly program: ScenarioProgram;
    readonly run: ScenarioRun;
}

/** How many ticks run between two checks for cancellation. */
const CHUNK = 200;

export class ScenarioSimulator {
    protected readonly lowering: ScenarioLowering;
    /** Finished runs of the current workspace state. */
    protected readonly runs: WorkspaceCache<Scenario, ScenarioSimulation | undefined>;
    /** Machines booted in the current workspace state. */
    protected readonly boots: WorkspaceCache<Machine, BootResult>;
    /** The last finished run per scenario (by document and name), to re-run incrementally. */
    protected readonly previous = new Map<string, ScenarioRun>();

    constructor(services: IommuServices) {
        this.lowering = services.lowering.ScenarioLowering;
        this.runs = new WorkspaceCache(services.shared);
        this.boots = new WorkspaceCache(services.shared);
    }

    /** The kernel version of machines that do not name one (the client's `iommu.kernel.default`). */
    protected defaultKernel: KernelVersion | undefined;

    /** Sets the version used for machines without a `kernel` line; undefined: the newest supported. */
    setDefaultKernel(version: KernelVersion | undefined): void {
        this.defaultKernel = version;
        this.runs.clear();
        this.boots.clear();
    }

    protected withDefaultKernel(spec: MachineSpec): MachineSpec {
        return spec.kernel || !this.defaultKernel ? spec : { ...spec, kernel: this.defaultKernel };
    }

    /** A scenario's program if it can run: lowered without errors and on a resolved machine. */
    program(scenario: Scenario): ScenarioProgram | undefined {
        const lowered = this.lowering.scenario(scenario);
        if (!lowered.program || lowered.diagnostics.some((d) => d.severity === 'error')) {
            return undefined;
        }
        const machine = this.withDefaultKernel(lowered.program.machine);
        return machine === lowered.program.machine ? lowered.program : { ...lowered.program, machine };
    }

    /** The finished simulation of a scenario, if validation has run it in this workspace state. */
    cached(scenario: Scenario): ScenarioSimulation | undefined {
        return this.runs.has(scenario) ? this.runs.get(scenario) : undefined;
    }

    /** Runs a scenario (or returns this workspace state's run), yielding between chunks. */
    async simulate(scenario: Scenario, cancelToken: CancellationToken = CancellationToken.None): Promise<ScenarioSimulation | undefined> {
        if (this.runs.has(scenario)) {
            return this.runs.get(scenario);
        }
        const program = this.program(scenario);
        if (!program) {
            this.runs.set(scenario, undefined);
            return undefined;
        }
        const key = this.keyOf(scenario);
        const gen = runScenarioSteps(program, { previous: this.previous.get(key) }, CHUNK);
        let r = gen.next();
        while (!r.done) {
            // Throws OperationCancelled when a newer edit arrived: the partial run is dropped.
            await interruptAndCheck(cancelToken);
            r = gen.next();
        }
        return this.finish(scenario, key, program, r.value);
    }

    /** Runs a scenario synchronously (CLI, tests). */
    simulateSync(scenario: Scenario): ScenarioSimulation | undefined {
        if (this.runs.has(scenario)) {
            return this.runs.get(scenario);
        }
        const program = this.program(scenario);
        if (!program) {
            this.runs.set(scenario, undefined);
            return undefined;
        }
        const key = this.keyOf(scenario);
        const gen = runScenarioSteps(program, { previous: this.previous.get(key) }, Number.MAX_SAFE_INTEGER);
        let r = gen.next();
        while (!r.done) {
            r = gen.next();
        }
        return this.finish(scenario, key, program, r.value);
    }

    /** Every scenario of a document, run synchronously. */
    simulateDocument(document: LangiumDocument): ScenarioSimulation[] {
        const root = document.parseResult.value as IommuFile;
        return root.scenarios.map((s) => this.simulateSync(s)).filter((s): s is ScenarioSimulation => s !== undefined);
    }

    /** The machine after boot (groups, default domains, initial drivers) and its boot diagnostics. */
    boot(machine: Machine): BootResult {
        return this.boots.get(machine, () => bootKernel(this.withDefaultKernel(this.lowering.machine(machine))));
    }

    protected finish(scenario: Scenario, key: string, program: ScenarioProgram, run: ScenarioRun): ScenarioSimulation {
        this.previous.set(key, run);
        const sim: ScenarioSimulation = { scenario, program, run };
        this.runs.set(scenario, sim);
        return sim;
    }

    protected keyOf(scenario: Scenario): string {
        const doc = scenario.$document?.uri.toString() ?? '';
        return `${doc}#${scenario.name}`;
    }
}
