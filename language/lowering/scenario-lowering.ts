/**
 * Lowering as a service: each scenario is lowered once per workspace state and shared by the
 * lowering validator and by whoever runs the engine on it (validation, hovers, the debugger).
 */

import { AstUtils, WorkspaceCache, type AstNode, type LangiumDocument } from 'langium';
import type { MachineSpec } from '../../engine/machine/spec.js';
import { isScenario, type IommuFile, type Machine, type Scenario } from '../generated/ast.js';
import type { IommuServices } from '../iommu-module.js';
import { lowerMachine } from './lower-machine.js';
import { hasSyntaxErrors } from './syntax-errors.js';
import { lowerScenario, type ScenarioLoweringResult } from './lower-scenario.js';

/** Lowers machines and scenarios, cached until the workspace changes. */
export class ScenarioLowering {
    /** Scenario results depend on their machine, which may live in another document. */
    protected readonly scenarios: WorkspaceCache<Scenario, ScenarioLoweringResult>;
    protected readonly machines = new WeakMap<Machine, MachineSpec>();

    constructor(services: IommuServices) {
        this.scenarios = new WorkspaceCache(services.shared);
    }

    /** The machine's spec (it depends on the machine block alone). */
    machine(machine: Machine): MachineSpec {
        let spec = this.machines.get(machine);
        if (!spec) {
            spec = lowerMachine(machine);
            this.machines.set(machine, spec);
        }
        return spec;
    }

    /** Whether a machine can be lowered: it parsed without syntax errors. */
    machineUsable(machine: Machine): boolean {
        return !hasSyntaxErrors(machine);
    }

    /**
     * The scenario's program and lowering diagnostics. A scenario (or its machine) with syntax
     * errors is not lowered: its nodes are the parser's partial recovery, and the parser has
     * already said what is wrong.
     */
    scenario(scenario: Scenario): ScenarioLoweringResult {
        return this.scenarios.get(scenario, () => {
            const machine = scenario.machine?.ref;
            if (hasSyntaxErrors(scenario) || (machine && !this.machineUsable(machine))) {
                return { program: undefined, diagnostics: [] };
            }
            return lowerScenario(scenario, machine ? { machine: this.machine(machine) } : {});
        });
    }

    /** Every scenario of a document. */
    scenariosOf(document: LangiumDocument): Array<{ node: Scenario } & ScenarioLoweringResult> {
        const root = document.parseResult.value as IommuFile;
        return root.scenarios.map(node => ({ node, ...this.scenario(node) }));
    }

    /** The scenario a node belongs to, lowered. */
    scenarioAt(node: AstNode): ScenarioLoweringResult | undefined {
        const scenario = AstUtils.getContainerOfType(node, isScenario);
        return scenario ? this.scenario(scenario) : undefined;
    }
}
