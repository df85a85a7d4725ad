/**
 * Validation by simulation: each scenario is run on the engine and its results become
 * diagnostics on the statements; each machine is booted and its boot diagnostics and lints go
 * on the machine's elements. There is no second rule checker: every message comes from the run.
 *
 * Registered as `fast` so the language server runs it on every change; runs are incremental and
 * yield between chunks, so a newer keystroke cancels a stale run.
 */

import type { AstNode, Cancellation, ValidationAcceptor } from 'langium';

type CancellationToken = Cancellation.CancellationToken;
import type { SourceLocation } from '../../engine/location.js';
import type { Machine, Scenario } from '../generated/ast.js';
import type { IommuServices } from '../iommu-module.js';
import type { ScenarioSimulator } from '../simulation/scenario-simulator.js';
import type { ScenarioLowering } from '../lowering/scenario-lowering.js';
import { bootDiagnostics, runDiagnostics, type SimDiagnostic } from '../simulation/simulation-diagnostics.js';

export class SimulationValidator {
    protected readonly simulator: ScenarioSimulator;
    protected readonly lowering: ScenarioLowering;

    constructor(services: IommuServices) {
        this.simulator = services.simulation.ScenarioSimulator;
        this.lowering = services.lowering.ScenarioLowering;
    }

    async checkScenario(scenario: Scenario, accept: ValidationAcceptor, cancelToken: CancellationToken): Promise<void> {
        const sim = await this.simulator.simulate(scenario, cancelToken);
        if (!sim) {
            return;
        }
        const uri = scenario.$document?.uri.toString();
        for (const d of runDiagnostics(sim.run)) {
            report(accept, scenario, d, uri);
        }
    }

    checkMachine(machine: Machine, accept: ValidationAcceptor): void {
        if (!this.lowering.machineUsable(machine)) {
            return; // being typed: the parser's error says what is wrong
        }
        const boot = this.simulator.boot(machine);
        const uri = machine.$document?.uri.toString();
        for (const d of bootDiagnostics(boot.diagnostics, boot.kernel)) {
            report(accept, machine, d, uri);
        }
    }
}

/** Reports on the diagnostic's own range when it lies in this document, else on the node. */
function report(accept: ValidationAcceptor, node: AstNode, d: SimDiagnostic, uri: string | undefined): void {
    const range = d.loc && sameDocument(d.loc, uri) ? { start: d.loc.start, end: d.loc.end } : undefined;
    accept(d.severity, d.message, { node, range, property: range ? undefined : 'name', code: d.code, data: { code: d.code } });
}

function sameDocument(loc: SourceLocation, uri: string | undefined): boolean {
    return loc.uri === undefined || uri === undefined || loc.uri === uri;
}
